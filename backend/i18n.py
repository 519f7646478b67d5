"""The translation catalogues: compiled from the committed .po files, never committed as .mo."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogs() -> list[Path]:
    """Write each messages.mo that is missing or older than its messages.po; return those written."""
    written = []
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=po_path.parts[-3])
        with mo_path.open("wb") as mo:
            write_mo(mo, catalog)
        written.append(mo_path)
    return written
