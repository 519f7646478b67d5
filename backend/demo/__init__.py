"""Demo data for trying Trao: a post office in Lạng Sơn, its staff, agencies and dossiers."""
