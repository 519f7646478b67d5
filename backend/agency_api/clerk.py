"""The agency clerk's work: checking an imported file row by row, importing it, and reading a
dossier's story with its proof. Every query is limited to the clerk's own agency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.agency_api.forms import COLUMN_BY_NAME, dossier_from_text
from backend.agency_api.imports import Sheet
from backend.agency_api.intake import (
    DossierIn,
    Outcome,
    Registered,
    compare_with,
    kept_dossiers,
    register_dossiers,
)
from backend.agency_api.services import DOSSIER_CODE
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, Dossier, Envelope, Event, ProofFile


def field_errors(err: ValidationError) -> dict[str, list[str]]:
    """DossierIn's messages by field, translated (they are N_-marked English)."""
    messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    found: dict[str, list[str]] = {}
    for name, value in messages.items():
        items = value if isinstance(value, list) else [value]
        found[str(name)] = [
            _(str(m)) if isinstance(m, str) else _("Not a valid value.") for m in items
        ]
    return found


def column_title(name: str) -> str:
    """How the clerk's file names a field: its Vietnamese header, else the name as it came."""
    column = COLUMN_BY_NAME.get(name)
    return column.header if column else name


# --- Registering by form ------------------------------------------------------------------------


def register_from_form(
    agency: Agency, form: Mapping[str, Any], *, now: datetime, id_key: bytes, code_prefix: str
) -> Registered:
    """Register the dossier a clerk typed (ValidationError if a field is wrong)."""
    data = DossierIn(province_code=agency.province_code).load(dossier_from_text(form))
    (result,) = register_dossiers(agency, [data], now=now, id_key=id_key, code_prefix=code_prefix)
    return result


# --- Checking and importing a file ------------------------------------------------------------


@dataclass
class RowProblem:
    line: int  # the row number in the spreadsheet (the header is row 1)
    column: str  # the column as the file names it; "" for the row as a whole
    message: str  # translated


@dataclass
class RowCheck:
    line: int
    data: dict[str, Any] | None = None  # DossierIn's output when the row reads
    problems: list[RowProblem] = field(default_factory=list)
    registered: bool = False  # the same dossier is already registered (importing changes nothing)


@dataclass
class ImportCheck:
    """What a file would do: its rows, each clean or with its problems."""

    kind: str
    rows: list[RowCheck]

    @property
    def clean(self) -> list[RowCheck]:
        return [r for r in self.rows if not r.problems]

    @property
    def problems(self) -> list[RowProblem]:
        return [p for r in self.rows for p in r.problems]

    @property
    def rows_with_problems(self) -> int:
        return sum(1 for r in self.rows if r.problems)

    @property
    def already_registered(self) -> int:
        return sum(1 for r in self.clean if r.registered)


@dataclass
class ImportResult:
    created: int
    registered_before: int
    skipped: int  # rows with problems left out


def check_sheet(agency: Agency, sheet: Sheet, *, id_key: bytes) -> ImportCheck:
    """Each row of the file checked as a dossier of `agency`; nothing is written."""
    schema = DossierIn(province_code=agency.province_code)
    rows = []
    lines_by_code: dict[str, list[int]] = defaultdict(list)
    for sheet_row in sheet.rows:
        check = RowCheck(sheet_row.line)
        text = dossier_from_text(sheet_row.cells)
        if isinstance(text.get("code"), str):
            lines_by_code[text["code"]].append(sheet_row.line)
        try:
            check.data = schema.load(text)
        except ValidationError as err:
            for name, messages in field_errors(err).items():
                column = "" if name == "_schema" else column_title(name)
                check.problems += [RowProblem(check.line, column, m) for m in messages]
        rows.append(check)
    _mark_repeated_codes(rows, lines_by_code)
    _compare_with_registered(agency, rows, id_key)
    return ImportCheck(sheet.kind, rows)


def _mark_repeated_codes(rows: list[RowCheck], lines_by_code: dict[str, list[int]]) -> None:
    """A code on several rows: each such row is refused (which one is right is not ours to guess)."""
    by_line = {r.line: r for r in rows}
    for code, lines in lines_by_code.items():
        if len(lines) < 2:
            continue
        for line in lines:
            others = ", ".join(str(n) for n in lines if n != line)
            by_line[line].problems.append(
                RowProblem(
                    line,
                    column_title("code"),
                    _("The code %(code)s is also on row %(rows)s.", code=code, rows=others),
                )
            )


def _compare_with_registered(agency: Agency, rows: list[RowCheck], id_key: bytes) -> None:
    """Rows whose code the agency has already registered: the same dossier, or a conflict."""
    readable = {r.data["code"]: r for r in rows if r.data is not None and not r.problems}
    for code, dossier in kept_dossiers(agency.id, readable).items():
        row = readable[code]
        same = compare_with(dossier, dict(row.data), id_key)
        if same.outcome is Outcome.conflict:
            differs = ", ".join(column_title(name) for name in same.differs)
            row.problems.append(
                RowProblem(
                    row.line,
                    column_title("code"),
                    _(
                        "This code is already registered with other content (%(fields)s).",
                        fields=differs,
                    ),
                )
            )
        else:
            row.registered = True


def import_sheet(
    agency: Agency,
    check: ImportCheck,
    *,
    only_clean: bool,
    now: datetime,
    id_key: bytes,
    code_prefix: str,
) -> ImportResult:
    """Register the file's clean rows — all of them, or none while any row has problems unless
    the clerk chose to leave those out. The caller commits once (one transaction) or rolls back."""
    if check.problems and not only_clean:
        raise Invalid(_("Some rows have errors: nothing was imported."), code="import_has_errors")
    clean = check.clean
    if not clean:
        raise Invalid(_("No row of the file can be imported."), code="import_nothing_clean")
    fresh = [r.data for r in clean if not r.registered]
    results = register_dossiers(agency, fresh, now=now, id_key=id_key, code_prefix=code_prefix)
    if any(r.outcome is Outcome.conflict for r in results):  # registered meanwhile, otherwise
        raise Conflict(
            _("Another registration of the same codes happened meanwhile; check the file again."),
            code="import_conflict",
        )
    created = sum(1 for r in results if r.outcome is Outcome.created)
    return ImportResult(
        created=created,
        registered_before=len(clean) - created,
        skipped=check.rows_with_problems,
    )


# --- Following a dossier ----------------------------------------------------------------------


@dataclass
class EnvelopeStory:
    envelope: Envelope
    events: list[Event]
    attempts: list[DeliveryAttempt]


def agency_dossier(agency_id: int, code: str) -> Dossier:
    """One of the agency's dossiers by its own code; 404 for any other."""
    if not DOSSIER_CODE.fullmatch(code):  # no dossier has it (and PostgreSQL refuses a NUL)
        raise NotFound(_("No such dossier."), code="dossier_not_found")
    dossier = db.session.scalars(
        select(Dossier)
        .where(Dossier.agency_id == agency_id, Dossier.code == code[:64])
        .options(selectinload(Dossier.envelopes))
    ).first()
    if dossier is None:
        raise NotFound(_("No such dossier."), code="dossier_not_found")
    return dossier


def dossier_story(agency_id: int, code: str) -> tuple[Dossier, list[EnvelopeStory]]:
    """The dossier and, for each envelope, its events oldest first and its attempts with files."""
    dossier = agency_dossier(agency_id, code)
    ids = [e.id for e in dossier.envelopes]
    events: dict[int, list[Event]] = defaultdict(list)
    for event in db.session.scalars(
        select(Event).where(Event.dossier_id == dossier.id).order_by(Event.id)
    ):
        events[event.envelope_id or 0].append(event)
    attempts: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    if ids:
        for attempt in db.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.envelope_id.in_(ids))
            .options(selectinload(DeliveryAttempt.files))
            .order_by(DeliveryAttempt.envelope_id, DeliveryAttempt.attempt_number)
        ):
            attempts[attempt.envelope_id].append(attempt)
    stories = [
        EnvelopeStory(e, sorted(events[0] + events[e.id], key=lambda v: v.id), attempts[e.id])
        for e in dossier.envelopes
    ]
    return dossier, stories


def proof_file_for_agency(sha256: str, agency_id: int) -> ProofFile:
    """A proof file of an attempt on one of the agency's envelopes; 404 for any other."""
    row = db.session.scalars(
        select(ProofFile)
        .join(ProofFile.attempt)
        .join(Envelope, DeliveryAttempt.envelope_id == Envelope.id)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(ProofFile.sha256 == sha256, Dossier.agency_id == agency_id)
        .order_by(ProofFile.id)
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(_("No such proof file."), code="no_such_proof_file")
    return row
