"""Reading an agency's file of dossiers: CSV (UTF-8, with or without BOM, comma, semicolon or tab)
or XLSX (the first sheet, read-only), the first row naming the columns.

Only reading happens here: each row comes out as text keyed by DossierIn's field names, with the
row number the clerk sees in the spreadsheet. A file that cannot be read at all is refused with
one clear reason (ImportRefused); what is wrong inside a row is for the checks to say.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from backend.agency_api.forms import COLUMN_BY_NAME, COLUMNS, HEADERS, header_key
from backend.errors import Invalid

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 100
MAX_UNPACKED_BYTES = 20 * MAX_FILE_BYTES  # an XLSX is a zip: refuse a bomb before opening it
_XLSX_MAGIC = b"PK\x03\x04"
_CSV_DELIMITERS = ";,\t"


class ImportRefused(Invalid):
    """The file as a whole cannot be read; nothing in it is checked or imported."""

    code = "import_refused"


@dataclass
class SheetRow:
    """One row of the file: its number in the spreadsheet and its cells by field name."""

    line: int
    cells: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sheet:
    """The rows of a file, and the columns it has."""

    kind: str  # csv | xlsx
    columns: list[str]
    rows: list[SheetRow]


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The file's rows; ImportRefused if it is too big, not CSV/XLSX, or its header is wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(
            _("The file is larger than %(mb)s MB.", mb=MAX_FILE_BYTES // 2**20),
            code="file_too_large",
        )
    if not data.strip():
        raise ImportRefused(_("The file is empty."), code="file_empty")
    if data.startswith(_XLSX_MAGIC):
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xls", ".xlsm", ".ods")) or b"\x00" in data[:4096]:
        raise ImportRefused(_("This is not a CSV or XLSX file."), code="not_a_sheet")
    return _read_csv(data)


def _read_csv(data: bytes) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” or as XLSX."),
            code="not_utf8",
        ) from None
    if "\x00" in text:
        raise ImportRefused(_("This is not a CSV or XLSX file."), code="not_a_sheet")
    first_line = text.split("\n", 1)[0]
    delimiter = max(_CSV_DELIMITERS, key=first_line.count)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        return _sheet("csv", enumerate(records, start=1))
    except csv.Error:
        raise ImportRefused(
            _("The CSV file is malformed (a quote is not closed)."), code="bad_csv"
        ) from None


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportRefused(_("The XLSX file cannot be read."), code="bad_xlsx") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportRefused(
            _("The file is larger than %(mb)s MB.", mb=MAX_FILE_BYTES // 2**20),
            code="file_too_large",
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 — any fault of an untrusted file is a refused file
        raise ImportRefused(_("The XLSX file cannot be read."), code="bad_xlsx") from None
    try:
        sheet = book.worksheets[0]
        rows = (
            (number, list(values))
            for number, values in enumerate(
                sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1
            )
        )
        return _sheet("xlsx", rows)
    except ImportRefused:
        raise
    except (zipfile.BadZipFile, IndexError, KeyError, ValueError, TypeError, OSError):
        raise ImportRefused(_("The XLSX file cannot be read."), code="bad_xlsx") from None
    finally:
        book.close()


def _sheet(kind: str, rows: Iterator[tuple[int, list[Any]]]) -> Sheet:
    header_line, header = next(rows, (0, []))
    names = _columns(header)
    found: list[SheetRow] = []
    for line, values in rows:
        cells = {
            name: value
            for name, value in zip(names, values, strict=False)
            if name is not None and value is not None and str(value).strip() != ""
        }
        if not cells:
            continue  # a blank row: spreadsheets keep many
        if len(found) == MAX_ROWS:
            raise ImportRefused(
                _("The file has more than %(rows)s rows; split it.", rows=MAX_ROWS),
                code="too_many_rows",
            )
        found.append(SheetRow(line, cells))
    if not found:
        raise ImportRefused(_("The file has no rows under its header."), code="no_rows")
    return Sheet(kind, [n for n in names if n is not None], found)


def _columns(header: list[Any]) -> list[str | None]:
    """Field names of the header's cells (None for a blank one); refuses unknown or missing ones."""
    if len(header) > MAX_COLUMNS:
        raise ImportRefused(_("The first row has too many columns."), code="bad_header")
    names: list[str | None] = []
    for cell in header:
        text = "" if cell is None else str(cell)
        if text.strip() == "":
            names.append(None)
            continue
        name = HEADERS.get(header_key(text))
        if name is None:
            raise ImportRefused(
                _("Unknown column “%(column)s” in the first row.", column=text.strip()[:60]),
                code="unknown_column",
            )
        if name in names:
            raise ImportRefused(
                _("The column “%(column)s” is there twice.", column=COLUMN_BY_NAME[name].header),
                code="repeated_column",
            )
        names.append(name)
    missing = [c.header for c in COLUMNS if c.required and c.name not in names]
    if missing:
        raise ImportRefused(
            _("Columns missing from the first row: %(columns)s.", columns=", ".join(missing)),
            code="missing_columns",
        )
    return names


def template_csv() -> bytes:
    """The import file's header row as CSV (UTF-8 with BOM, so Excel shows the diacritics)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([c.header for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The import file's header row as XLSX, phone and ID number columns formatted as text."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Ho so"
    sheet.append([c.header for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column.header) + 4)
        if column.name in ("code", "recipient_phone", "recipient_id_number", "promised_date"):
            for row in range(2, 1002):
                sheet[f"{letter}{row}"].number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
