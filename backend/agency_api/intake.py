"""What an agency sends for one dossier, however it arrives — the API, the clerk's form or a row of
an imported file: one schema that checks it, and one service that registers it once.

Registering is idempotent on the agency's own dossier code: the same dossier sent again is the
one already kept ("exists"); the same code with different content is refused ("conflict"),
never silently changed. Error messages are marked with N_ and translated where they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from vietnam_provinces import Province, Ward

from backend.agency_api.services import register_dossier
from backend.domain.errors import InvalidIdNumber
from backend.domain.i18n import N_
from backend.domain.idnum import hash_id_number, last4, validate_id_number
from backend.domain.lifecycle import State
from backend.domain.policy import ResultType
from backend.envelopes.services import allocate_envelope_codes, record_events
from backend.extensions import db
from backend.models import Agency, Dossier, Envelope

MAX_ENVELOPES = 20
MAX_VND = 100_000_000
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# A Vietnamese number as people write it: 0 and 9–10 digits, or +84 / 84 instead of the 0.
_PHONE_SEPARATORS = re.compile(r"[ .()-]")
_PHONE = re.compile(r"0[1-9][0-9]{8,9}\Z")

REQUIRED = N_("This field is required.")
TOO_LONG = N_("Too long.")
_MESSAGES = {
    "required": REQUIRED,
    "null": REQUIRED,
    "invalid": N_("Not a valid value."),
}


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError(N_("Remove the control characters."))


def _text(max_chars: int, *, required: bool = True) -> fields.String:
    optional = {} if required else {"load_default": None, "allow_none": True}
    return fields.String(
        required=required,
        **optional,
        validate=[
            validate.Length(min=1, error=REQUIRED),
            validate.Length(max=max_chars, error=TOO_LONG),
            _no_control,
        ],
        error_messages=_MESSAGES,
    )


def _vnd() -> fields.Integer:
    return fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(min=0, max=MAX_VND, error=N_("Not a valid amount.")),
        error_messages={**_MESSAGES, "invalid": N_("Not a valid amount.")},
    )


def normalise_phone(text: str) -> str:
    """The number as 0 followed by its digits, or raise ValidationError."""
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _PHONE.fullmatch(digits):
        raise ValidationError(N_("Not a Vietnamese phone number (10 or 11 digits, from 0)."))
    return digits


class DossierIn(Schema):
    """One dossier and its envelopes, as an agency sends it.

    `province_code`, when given, is the agency's province: a commune elsewhere is refused.
    Commune and province names are looked up from the official list (vietnam-provinces), never
    taken from the sender.
    """

    class Meta:
        unknown = RAISE

    code = fields.String(
        required=True,
        validate=validate.Regexp(
            _CODE, error=N_("Letters, digits and . _ / - only, at most 64 characters.")
        ),
        error_messages=_MESSAGES,
    )
    procedure_code = _text(64)
    procedure_name = _text(300)
    result_type = fields.String(
        required=True,
        validate=validate.OneOf([t.value for t in ResultType], error=N_("Unknown result type.")),
        error_messages=_MESSAGES,
    )
    holder_only = fields.Boolean(load_default=None, allow_none=True, error_messages=_MESSAGES)
    applicant_name = _text(200)
    recipient_name = _text(200)
    recipient_phone = fields.String(required=True, error_messages=_MESSAGES)
    recipient_id_number = fields.String(load_default=None, allow_none=True)
    address_line = _text(300)
    hamlet = _text(120, required=False)
    commune_code = fields.Integer(
        required=True,
        strict=True,
        error_messages={**_MESSAGES, "invalid": N_("Unknown commune code.")},
    )
    latitude = fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=8.0, max=24.0, error=N_("Not in Vietnam.")),
        error_messages=_MESSAGES,
    )
    longitude = fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=102.0, max=118.0, error=N_("Not in Vietnam.")),
        error_messages=_MESSAGES,
    )
    postage_vnd = _vnd()
    agency_fee_vnd = _vnd()
    promised_date = fields.Date(
        load_default=None,
        allow_none=True,
        error_messages={**_MESSAGES, "invalid": N_("Not a date (YYYY-MM-DD).")},
    )
    envelopes = fields.Integer(
        load_default=1,
        strict=True,
        validate=validate.Range(
            min=1, max=MAX_ENVELOPES, error=N_("From 1 to 20 envelopes a dossier.")
        ),
        error_messages=_MESSAGES,
    )

    def __init__(self, *args, province_code: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.province_code = province_code

    @pre_load
    def _tidy(self, data, **kwargs):
        """Spaces collapsed in text; a blank optional field is one left out."""
        if not isinstance(data, Mapping):
            return data
        tidy = {}
        for name, value in data.items():
            if isinstance(value, str):
                value = " ".join(value.split())
                if value == "":
                    continue
            tidy[name] = value
        return tidy

    @post_load
    def _check(self, data: dict[str, Any], **kwargs) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        try:
            data["recipient_phone"] = normalise_phone(data["recipient_phone"])
        except ValidationError as err:
            errors["recipient_phone"] = err.messages
        if data["recipient_id_number"] is not None:
            try:
                data["recipient_id_number"] = validate_id_number(data["recipient_id_number"])
            except InvalidIdNumber:
                errors["recipient_id_number"] = [N_("An ID number is 12 digits.")]
        try:
            ward = Ward.from_code(data["commune_code"])
        except (ValueError, KeyError, TypeError, OverflowError):
            errors["commune_code"] = [N_("Unknown commune code.")]
        else:
            if self.province_code is not None and int(ward.province_code) != self.province_code:
                errors["commune_code"] = [N_("This commune is not in the agency's province.")]
            data["commune_name"] = ward.name
            data["province_code"] = int(ward.province_code)
            data["province_name"] = Province.from_code(int(ward.province_code)).name
        if (data["latitude"] is None) != (data["longitude"] is None):
            errors["longitude" if data["longitude"] is None else "latitude"] = [
                N_("Give both latitude and longitude, or neither.")
            ]
        if errors:
            raise ValidationError(errors)
        return data


# --- Registering -------------------------------------------------------------------------------


class Outcome(StrEnum):
    created = "created"  # registered now
    exists = "exists"  # the same dossier was registered before: nothing changed
    conflict = "conflict"  # this code is taken by a dossier with other content: nothing changed


@dataclass
class Registered:
    """What became of one dossier sent."""

    outcome: Outcome
    dossier: Dossier
    differs: list[str] = field(default_factory=list)  # for a conflict: the fields that differ


def register_dossiers(
    agency: Agency,
    items: Iterable[dict[str, Any]],
    *,
    now: datetime,
    id_key: bytes,
    code_prefix: str,
) -> list[Registered]:
    """Register checked dossiers (DossierIn's output) for `agency`, each once, in the order given.

    Codes already kept are compared in a few queries; the new dossiers, their envelopes and their
    events are written together, a handful of statements for the whole batch (a file of 5,000 rows
    is one import). A code seen twice in the batch is the first one's "exists" or "conflict". If
    another request registers one of the codes meanwhile, the batch's insert is undone and the
    dossiers go one by one, each in its own savepoint, so only the lost race answers differently.
    The caller commits.
    """
    items = [dict(item) for item in items]
    kept = kept_dossiers(agency.id, {item["code"] for item in items})
    fresh: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["code"] not in kept:
            fresh.setdefault(item["code"], item)
    try:
        with db.session.begin_nested():
            created = _insert_dossiers(
                agency, list(fresh.values()), now=now, id_key=id_key, code_prefix=code_prefix
            )
    except IntegrityError:  # a code registered by another request since we looked
        return [
            _register_one(agency, item, now=now, id_key=id_key, code_prefix=code_prefix)
            for item in items
        ]
    results = []
    for item in items:
        dossier = created.pop(item["code"], None)
        if dossier is not None and fresh[item["code"]] is item:
            results.append(Registered(Outcome.created, dossier))
            kept[item["code"]] = dossier
        else:
            results.append(compare_with(kept[item["code"]], item, id_key))
    return results


def _insert_dossiers(
    agency: Agency,
    items: list[dict[str, Any]],
    *,
    now: datetime,
    id_key: bytes,
    code_prefix: str,
) -> dict[str, Dossier]:
    """The new dossiers, each with its envelopes and the events that register them, by code."""
    if not items:
        return {}
    dossiers = []
    for item in items:
        fields = {k: v for k, v in item.items() if k not in ("envelopes", "recipient_id_number")}
        dossier = Dossier(
            agency=agency, post_office_id=agency.post_office_id, created_at=now, **fields
        )
        if item["recipient_id_number"] is not None:
            dossier.recipient_id_hash = hash_id_number(item["recipient_id_number"], id_key)
            dossier.recipient_id_last4 = last4(item["recipient_id_number"])
        dossiers.append(dossier)
    db.session.add_all(dossiers)
    db.session.flush()
    record_events("dossier.register", [(d, None) for d in dossiers], now=now, actor_kind="agency")
    codes = iter(allocate_envelope_codes(code_prefix, sum(i["envelopes"] for i in items)))
    envelopes = [
        Envelope(code=next(codes), dossier=dossier, created_at=now, updated_at=now)
        for dossier, item in zip(dossiers, items, strict=True)
        for _ in range(item["envelopes"])
    ]
    db.session.add_all(envelopes)
    db.session.flush()
    record_events(
        "envelope.register",
        [(e.dossier, e) for e in envelopes],
        now=now,
        actor_kind="agency",
        to_state=State.registered,
    )
    return {d.code: d for d in dossiers}


def _register_one(
    agency: Agency, data: dict[str, Any], *, now: datetime, id_key: bytes, code_prefix: str
) -> Registered:
    kept = kept_dossiers(agency.id, {data["code"]}).get(data["code"])
    if kept is not None:
        return compare_with(kept, data, id_key)
    data = dict(data)
    envelope_count = data.pop("envelopes")
    id_number = data.pop("recipient_id_number")
    try:
        with db.session.begin_nested():
            dossier = register_dossier(
                agency,
                data,
                envelope_count=envelope_count,
                now=now,
                id_key=id_key,
                code_prefix=code_prefix,
                recipient_id_number=id_number,
            )
    except IntegrityError:  # registered by another request since we looked
        data.update(envelopes=envelope_count, recipient_id_number=id_number)
        winner = kept_dossiers(agency.id, {data["code"]})[data["code"]]
        return compare_with(winner, data, id_key)
    return Registered(Outcome.created, dossier)


# Codes a query asks for at once (SQLite allows 32,766 parameters; PostgreSQL far more).
CODES_PER_QUERY = 500


def kept_dossiers(agency_id: int, codes: Collection[str]) -> dict[str, Dossier]:
    """The agency's dossiers with these codes, with their envelopes, by code."""
    codes = sorted(codes)
    kept = {}
    for start in range(0, len(codes), CODES_PER_QUERY):
        stmt = (
            select(Dossier)
            .where(
                Dossier.agency_id == agency_id,
                Dossier.code.in_(codes[start : start + CODES_PER_QUERY]),
            )
            .options(selectinload(Dossier.envelopes))
        )
        kept.update((d.code, d) for d in db.session.scalars(stmt))
    return kept


def compare_with(kept: Dossier, data: dict[str, Any], id_key: bytes) -> Registered:
    """The kept dossier, and whether `data` (DossierIn's output) says the same of it."""
    differs = []
    for name, value in data.items():
        if name == "envelopes":
            same = len(kept.envelopes) == value
        elif name == "recipient_id_number":
            same = kept.recipient_id_hash == (
                hash_id_number(value, id_key) if value is not None else None
            )
        else:
            same = getattr(kept, name) == value
        if not same:
            differs.append(name)
    return Registered(Outcome.conflict if differs else Outcome.exists, kept, differs)
