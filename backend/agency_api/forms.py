"""A dossier as text — a filled-in form or a row of an imported file — turned into what DossierIn
reads, and the columns both use.

Everything a person types is text; DossierIn's numbers are strict (an API sends numbers as
numbers), so whole numbers and yes/no are read here and anything else is passed on unchanged for
DossierIn to refuse with its own message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from vietnam_provinces import Ward

from backend.domain.i18n import N_
from backend.domain.names import fold_name


@dataclass(frozen=True)
class Column:
    """One field of a dossier as a column of the import file and a field of the form."""

    name: str  # DossierIn's field name, also accepted as a header
    header: str  # the Vietnamese header of the template (the file's language, whatever the UI's)
    label: str  # the form's label, N_-marked English
    required: bool = False


COLUMNS = (
    Column("code", "Mã hồ sơ", N_("Dossier code"), True),
    Column("procedure_code", "Mã thủ tục", N_("Procedure code"), True),
    Column("procedure_name", "Tên thủ tục", N_("Procedure name"), True),
    Column("result_type", "Loại kết quả", N_("Kind of result"), True),
    Column("holder_only", "Chỉ giao người đứng tên", N_("Hand only to the person named")),
    Column("applicant_name", "Người nộp hồ sơ", N_("Applicant"), True),
    Column("recipient_name", "Người nhận", N_("Recipient"), True),
    Column("recipient_phone", "Điện thoại người nhận", N_("Recipient's phone"), True),
    Column("recipient_id_number", "Số định danh người nhận", N_("Recipient's ID number")),
    Column("address_line", "Địa chỉ", N_("Address (house number, street)"), True),
    Column("hamlet", "Thôn, tổ dân phố", N_("Hamlet or residential group")),
    Column("commune_code", "Mã xã, phường", N_("Commune or ward"), True),
    Column("latitude", "Vĩ độ", N_("Latitude")),
    Column("longitude", "Kinh độ", N_("Longitude")),
    Column("postage_vnd", "Cước phí (đồng)", N_("Postage (VND)")),
    Column("agency_fee_vnd", "Phí thu hộ (đồng)", N_("Fee collected for the agency (VND)")),
    Column("promised_date", "Ngày hẹn trả", N_("Promised date")),
    Column("envelopes", "Số phong bì", N_("Number of envelopes")),
)
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
INTEGER_FIELDS = frozenset({"commune_code", "postage_vnd", "agency_fee_vnd", "envelopes"})
MONEY_FIELDS = frozenset({"postage_vnd", "agency_fee_vnd"})
# Excel drops a leading 0 from a number typed in a plain cell: a phone or ID number that arrives
# as a number gets it back.
PHONE_DIGITS = (9, 10)
ID_NUMBER_DIGITS = 12

_INTEGER = re.compile(r"[+-]?[0-9]{1,12}\Z")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[.,  ][0-9]{3})+\Z")  # 26.000, 26,000, 26 000
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})\Z")
_YES = frozenset({"1", "true", "yes", "co", "x"})
_NO = frozenset({"0", "false", "no", "khong"})


def header_key(text: str) -> str:
    """A header as compared: no diacritics, lower case, one space between words."""
    return " ".join(fold_name(text.replace("_", " ")).split())


HEADERS = {
    **{header_key(c.header): c.name for c in COLUMNS},
    **{header_key(c.name): c.name for c in COLUMNS},
}


def _integer(text: str, name: str) -> int | str:
    compact = text.strip()
    if name in MONEY_FIELDS and _GROUPED.fullmatch(compact):
        compact = re.sub(r"[.,  ]", "", compact)
    return int(compact) if _INTEGER.fullmatch(compact) else text


def _cell_text(value: Any, name: str) -> Any:
    """A spreadsheet cell's value as the text a person meant."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and name not in ("latitude", "longitude"):
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        if name == "recipient_phone" and len(text) in PHONE_DIGITS and not text.startswith("0"):
            return "0" + text
        if name == "recipient_id_number" and len(text) < ID_NUMBER_DIGITS:
            return text.zfill(ID_NUMBER_DIGITS)
        return text
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def dossier_from_text(row: Mapping[str, Any]) -> dict[str, Any]:
    """What DossierIn reads from a row of text (or spreadsheet cells) keyed by field name."""
    data: dict[str, Any] = {}
    for name, raw in row.items():
        if raw is None:
            continue
        value = _cell_text(raw, name)
        if not isinstance(value, str) or value.strip() == "":
            continue
        value = value.strip()
        if name in INTEGER_FIELDS:
            value = _integer(value, name)
        elif name == "holder_only":
            word = fold_name(value).lower()
            value = True if word in _YES else False if word in _NO else value
        elif name == "promised_date":
            found = _DAY_MONTH_YEAR.fullmatch(value)
            if found:  # as dates are written in Vietnam: day/month/year
                day, month, year = found.groups()
                value = f"{year}-{int(month):02d}-{int(day):02d}"
        data[name] = value
    return data


@cache
def communes_of(province_code: int) -> list[tuple[int, str]]:
    """The province's communes and wards (code, name), by name, from the official list."""
    found = [
        (int(w.code), w.name) for w in Ward.iter_all() if int(w.province_code) == province_code
    ]
    return sorted(found, key=lambda item: (fold_name(item[1]).lower(), item[0]))
