"""Envelopes: the lifecycle service (the only writer of an envelope's state) and codes."""
