"""Reports for a period: envelopes received and delivered, first-attempt and on-time rates,
failure reasons, time from receipt to delivery and fees collected, by office, agency, procedure
or postman; and their exports (CSV, XLSX).

Every figure is counted in the database (GROUP BY), never by loading rows: a province's year is
a million envelopes (bench/console_scale.py). The definitions (also on the page and in
docs/console.md):

- received: envelopes whose `envelope.receive` event falls in the period (the office's days);
- attempts, delivered, failed: attempts made on runs whose day is in the period, by outcome
  (an envelope has at most one delivered attempt, so delivered attempts are delivered envelopes);
- first-attempt rate: delivered envelopes whose delivering attempt was attempt 1 / delivered;
- on-time rate: delivered envelopes whose run's day is on or before the promised date /
  delivered envelopes that had a promised date;
- receipt to delivery: the delivering attempt's time at the door (the phone's clock, checked by
  the server; the server's receipt if none) less the envelope's receipt, averaged;
- fees collected: the sum of the fees recorded on the period's attempts and counter hand-overs;
- collected at the counter: held envelopes handed over at the office's counter on the period's
  days (a record with no run, `counter.COLLECTED`), by the clerk when grouped by person.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from tempfile import SpooledTemporaryFile
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Float, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from backend.console.counter import COLLECTED as COUNTER_OUTCOME
from backend.domain.i18n import N_
from backend.domain.policy import FAILURE_REASON_LABELS, FailureReason
from backend.errors import Invalid, NotFound
from backend.extensions import db
from backend.models import (
    Agency,
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Envelope,
    Event,
    PostOffice,
    Role,
    User,
)
from backend.validation import INT32_MAX, one_line

RECEIVE_EVENT = "envelope.receive"
MAX_PERIOD_DAYS = 366
MAX_PROCEDURE_CHARS = 64
# An XLSX sheet holds 1,048,576 rows: the attempts sheet stops one short (its header).
XLSX_MAX_ROWS = 1_048_575
EXPORT_BATCH = 2000


class Grouping:
    office = "office"
    agency = "agency"
    procedure = "procedure"
    postman = "postman"


GROUPINGS = (Grouping.office, Grouping.agency, Grouping.procedure, Grouping.postman)
GROUPING_LABELS = {
    Grouping.office: N_("Post office"),
    Grouping.agency: N_("Agency"),
    Grouping.procedure: N_("Procedure"),
    Grouping.postman: N_("Postman"),
}


# --- The query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    """What a report covers: a period of the office's days (both ends included), a grouping,
    and filters. `office_id` None: every office (administrators only)."""

    start: date
    end: date
    group: str = Grouping.agency
    office_id: int | None = None
    agency_id: int | None = None
    procedure_code: str | None = None
    postman_id: int | None = None

    def args(self) -> dict[str, str]:
        """The query string that asks for this report again (for export links)."""
        values = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "group": self.group,
            "office": self.office_id,
            "agency": self.agency_id,
            "procedure": self.procedure_code,
            "postman": self.postman_id,
        }
        return {key: str(value) for key, value in values.items() if value not in (None, "")}


FIRST_YEAR, LAST_YEAR = 2000, 2099


def _date(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(text)
        return day
    except ValueError:
        raise Invalid(
            _("Dates are written as YYYY-MM-DD."),
            code="invalid_date",
            fields={name: [_("Dates are written as YYYY-MM-DD.")]},
        ) from None


def _id(text: str, name: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= INT32_MAX:
        raise Invalid(
            _("Choose from the list."),
            code="invalid_choice",
            fields={name: [_("Choose from the list.")]},
        )
    return int(text)


def parse_query(args: Mapping[str, str], *, scope: int | None, today: date) -> ReportQuery:
    """The report asked for by a query string; bad values are a 422 (`Invalid`), another
    office named by a supervisor a 404 as anything not theirs.

    `scope` is the user's office (None for administrators); `today` the office's today."""
    start_text = (args.get("from") or "").strip()[:10]
    end_text = (args.get("to") or "").strip()[:10]
    start = _date(start_text, "from") if start_text else today.replace(day=1)
    end = _date(end_text, "to") if end_text else today
    if end < start:
        raise Invalid(
            _("The period ends before it starts."),
            code="invalid_period",
            fields={"to": [_("The period ends before it starts.")]},
        )
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise Invalid(
            _("A report covers at most %(days)s days.", days=MAX_PERIOD_DAYS),
            code="invalid_period",
            fields={"from": [_("A report covers at most %(days)s days.", days=MAX_PERIOD_DAYS)]},
        )
    group = args.get("group") or Grouping.agency
    if group not in GROUPINGS:
        raise Invalid(
            _("Choose from the list."),
            code="invalid_choice",
            fields={"group": [_("Choose from the list.")]},
        )
    office_id = _id(args.get("office", ""), "office")
    if office_id is not None and (
        db.session.get(PostOffice, office_id) is None or (scope is not None and office_id != scope)
    ):
        raise NotFound(_("This post office does not exist."), code="office_not_found")
    if scope is not None:
        office_id = scope
    procedure = one_line(args.get("procedure", ""), MAX_PROCEDURE_CHARS) or None
    return ReportQuery(
        start=start,
        end=end,
        group=group,
        office_id=office_id,
        agency_id=_id(args.get("agency", ""), "agency"),
        procedure_code=procedure,
        postman_id=_id(args.get("postman", ""), "postman"),
    )


# --- SQL helpers -------------------------------------------------------------------------------


class seconds_between(FunctionElement):  # noqa: N801 (an SQL function, named as one)
    """`later - earlier` in seconds, for two UTC instants, on PostgreSQL and SQLite."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


# The envelope's receipt at the office: its `envelope.receive` event, joined (not a subquery
# per attempt: a year of a province is 0.9 million deliveries, and PostgreSQL hash-joins the
# receipts where a subquery would look each one up). The lifecycle receives an envelope once
# (registered -> at_office only), so the join never repeats an attempt.
Receipt = aliased(Event, name="receipt")


def _receipt_time() -> ColumnElement:
    return Receipt.occurred_at


def _door_time() -> ColumnElement:
    return func.coalesce(DeliveryAttempt.device_time, DeliveryAttempt.received_at)


def _attempt_key(group: str) -> ColumnElement:
    return {
        Grouping.office: DeliveryRun.post_office_id,
        Grouping.agency: Dossier.agency_id,
        Grouping.procedure: Dossier.procedure_code,
        Grouping.postman: DeliveryAttempt.postman_id,
    }[group]


def _attempts_from(query: ReportQuery, *columns, with_receipt: bool = False):
    """A SELECT of `columns` over the period's attempts (by their run's day) and filters."""
    stmt = (
        select(*columns)
        .select_from(DeliveryRun)
        .join(DeliveryAttempt, DeliveryAttempt.run_id == DeliveryRun.id)
        .join(Envelope, Envelope.id == DeliveryAttempt.envelope_id)
        .join(Dossier, Dossier.id == Envelope.dossier_id)
        .where(DeliveryRun.run_date >= query.start, DeliveryRun.run_date <= query.end)
    )
    if with_receipt:
        stmt = stmt.outerjoin(
            Receipt,
            and_(Receipt.envelope_id == DeliveryAttempt.envelope_id, Receipt.kind == RECEIVE_EVENT),
        )
    if query.office_id is not None:
        stmt = stmt.where(DeliveryRun.post_office_id == query.office_id)
    if query.agency_id is not None:
        stmt = stmt.where(Dossier.agency_id == query.agency_id)
    if query.procedure_code is not None:
        stmt = stmt.where(Dossier.procedure_code == query.procedure_code)
    if query.postman_id is not None:
        stmt = stmt.where(DeliveryAttempt.postman_id == query.postman_id)
    return stmt


def _local_bounds(query: ReportQuery, timezone: str) -> tuple[datetime, datetime]:
    """The period's first and after-last instants in a time zone (its days, DST included)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(query.start, time.min, zone)
    end = datetime.combine(query.end + timedelta(days=1), time.min, zone)
    return start, end


def _dossier_filters(stmt, query: ReportQuery):
    if query.office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == query.office_id)
    if query.agency_id is not None:
        stmt = stmt.where(Dossier.agency_id == query.agency_id)
    if query.procedure_code is not None:
        stmt = stmt.where(Dossier.procedure_code == query.procedure_code)
    return stmt


# --- The figures -------------------------------------------------------------------------------


@dataclass
class Figures:
    """The counts of one group (or of all): rates and averages are derived, never summed."""

    received: int | None = 0  # None: not a figure of this grouping (a postman receives nothing)
    attempts: int = 0
    delivered: int = 0
    first_attempt: int = 0
    promised: int = 0  # delivered envelopes that had a promised date
    on_time: int = 0
    failed: int = 0
    fees_vnd: int = 0
    lead_seconds: float = 0.0  # receipt to delivery, summed over `lead_count` envelopes
    lead_count: int = 0
    collected: int = 0  # handed over at the counter
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def first_attempt_rate(self) -> float | None:
        return self.first_attempt / self.delivered if self.delivered else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.promised if self.promised else None

    @property
    def lead_hours(self) -> float | None:
        return self.lead_seconds / self.lead_count / 3600 if self.lead_count else None

    def add(self, other: Figures) -> None:
        if self.received is not None:
            self.received = None if other.received is None else self.received + other.received
        for name in (
            "attempts",
            "delivered",
            "first_attempt",
            "promised",
            "on_time",
            "failed",
            "fees_vnd",
            "lead_seconds",
            "lead_count",
            "collected",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n


@dataclass
class ReportRow:
    key: str
    label: str
    figures: Figures


@dataclass
class Report:
    query: ReportQuery
    rows: list[ReportRow]
    total: Figures

    @property
    def reasons(self) -> list[tuple[str, str, int]]:
        """Every failure reason of the period: code, label, failed attempts; most first."""
        items = sorted(self.total.reasons.items(), key=lambda item: (-item[1], item[0]))
        return [(code, reason_label(code), n) for code, n in items]


def reason_label(code: str | None) -> str:
    try:
        return _(FAILURE_REASON_LABELS[FailureReason(code)])
    except ValueError:
        return code or _("No reason given")


def _receipts_by_key(
    query: ReportQuery, zones: list[str]
) -> dict[Any, tuple[int, str | None]] | None:
    """Envelopes received in the period, by group key (with the procedure's name); None where
    receipt is no figure of the report (by postman, or one postman's)."""
    if query.group == Grouping.postman or query.postman_id is not None:
        return None
    key = {
        Grouping.office: Dossier.post_office_id,
        Grouping.agency: Dossier.agency_id,
        Grouping.procedure: Dossier.procedure_code,
    }[query.group]
    counts: dict[Any, tuple[int, str | None]] = {}
    for zone in zones:
        start, end = _local_bounds(query, zone)
        stmt = _dossier_filters(
            select(key, func.count(), func.max(Dossier.procedure_name))
            .select_from(Event)
            # Every event names its dossier: no need to pass through the envelope.
            .join(Dossier, Dossier.id == Event.dossier_id)
            .where(Event.kind == RECEIVE_EVENT, Event.occurred_at >= start)
            .where(Event.occurred_at < end),
            query,
        ).group_by(key)
        if len(zones) > 1:  # each office's days in its own zone
            stmt = stmt.where(
                Dossier.post_office_id.in_(select(PostOffice.id).where(PostOffice.timezone == zone))
            )
        for value, n, name in db.session.execute(stmt):
            before = counts.get(value, (0, name))
            counts[value] = (before[0] + n, name)
    return counts


def _zones(query: ReportQuery) -> list[str]:
    """The time zones of the offices the report covers (each office's days are its own)."""
    offices = select(PostOffice.timezone).distinct()
    if query.office_id is not None:
        offices = offices.where(PostOffice.id == query.office_id)
    return sorted(db.session.scalars(offices))


def _counter_by_key(query: ReportQuery, zones: list[str]) -> dict[Any, tuple[int, int, str | None]]:
    """Envelopes collected at the counter on the period's days (each office's own), with the
    fees taken there, by group key (a person: the clerk)."""
    key = {
        Grouping.office: Dossier.post_office_id,
        Grouping.agency: Dossier.agency_id,
        Grouping.procedure: Dossier.procedure_code,
        Grouping.postman: DeliveryAttempt.postman_id,
    }[query.group]
    counts: dict[Any, tuple[int, int, str | None]] = {}
    for zone in zones:
        start, end = _local_bounds(query, zone)
        stmt = _dossier_filters(
            select(
                key,
                func.count(),
                func.coalesce(func.sum(DeliveryAttempt.fees_collected_vnd), 0),
                func.max(Dossier.procedure_name),
            )
            .select_from(DeliveryAttempt)
            .join(Envelope, Envelope.id == DeliveryAttempt.envelope_id)
            .join(Dossier, Dossier.id == Envelope.dossier_id)
            .where(
                DeliveryAttempt.run_id.is_(None),
                DeliveryAttempt.outcome == COUNTER_OUTCOME,
                DeliveryAttempt.received_at >= start,
                DeliveryAttempt.received_at < end,
            ),
            query,
        ).group_by(key)
        if query.postman_id is not None:
            stmt = stmt.where(DeliveryAttempt.postman_id == query.postman_id)
        if len(zones) > 1:
            stmt = stmt.where(
                Dossier.post_office_id.in_(select(PostOffice.id).where(PostOffice.timezone == zone))
            )
        for value, n, fees, name in db.session.execute(stmt):
            before = counts.get(value, (0, 0, name))
            counts[value] = (before[0] + n, before[1] + int(fees), name)
    return counts


def _ones(condition) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def build_report(query: ReportQuery) -> Report:
    """The report's rows (one per group, by label) and its total, in a few GROUP BY queries."""
    key = _attempt_key(query.group)
    delivered = DeliveryAttempt.outcome == "delivered"
    lead = case((delivered, func.round(seconds_between(_door_time(), _receipt_time()))), else_=None)
    stmt = _attempts_from(
        query,
        key,
        func.count(),
        _ones(delivered),
        _ones(and_(delivered, DeliveryAttempt.attempt_number == 1)),
        _ones(and_(delivered, Dossier.promised_date.is_not(None))),
        _ones(and_(delivered, DeliveryRun.run_date <= Dossier.promised_date)),
        _ones(DeliveryAttempt.outcome == "failed"),
        func.coalesce(func.sum(DeliveryAttempt.fees_collected_vnd), 0),
        func.coalesce(func.sum(lead), 0.0),
        func.count(lead),
        func.max(Dossier.procedure_name),
        with_receipt=True,
    ).group_by(key)
    figures: dict[Any, Figures] = {}
    names: dict[Any, str | None] = {}
    for value, *counts, procedure_name in db.session.execute(stmt):
        attempts, done, first, promised, on_time, failed, fees, lead_sum, lead_n = counts
        figures[value] = Figures(
            attempts=attempts,
            delivered=done,
            first_attempt=first,
            promised=promised,
            on_time=on_time,
            failed=failed,
            fees_vnd=int(fees),
            lead_seconds=float(lead_sum),
            lead_count=lead_n,
        )
        names[value] = procedure_name
    reasons = (
        _attempts_from(query, key, DeliveryAttempt.reason_code, func.count())
        .where(DeliveryAttempt.outcome == "failed")
        .group_by(key, DeliveryAttempt.reason_code)
    )
    for value, reason, n in db.session.execute(reasons):
        figures[value].reasons[reason or ""] = n
    zones = _zones(query)
    for value, (n, fees, name) in _counter_by_key(query, zones).items():
        figure = figures.setdefault(value, Figures())
        figure.collected += n
        figure.fees_vnd += fees
        names.setdefault(value, name)
    receipts = _receipts_by_key(query, zones)
    for value, figure in figures.items():
        figure.received = None if receipts is None else receipts.get(value, (0, None))[0]
    for value, (n, name) in (receipts or {}).items():
        if value not in figures:
            figures[value] = Figures(received=n)
        names.setdefault(value, name)
    labels = _labels(query.group, list(figures), names)
    rows = [
        ReportRow(key=str(value), label=labels.get(value, str(value)), figures=figure)
        for value, figure in figures.items()
    ]
    rows.sort(key=lambda row: (row.label.casefold(), row.key))
    total = Figures(received=None if receipts is None else 0)
    for row in rows:
        total.add(row.figures)
    return Report(query=query, rows=rows, total=total)


def _labels(group: str, keys: list, names: Mapping[Any, str | None]) -> dict[Any, str]:
    """How each group is named on the page: the office's, agency's or postman's name; the
    procedure's code and name."""
    if not keys:
        return {}
    if group == Grouping.procedure:
        return {key: f"{key} · {names.get(key) or ''}".rstrip(" ·") for key in keys}
    model, column = {
        Grouping.office: (PostOffice, PostOffice.name),
        Grouping.agency: (Agency, Agency.name),
        Grouping.postman: (User, User.full_name),
    }[group]
    return dict(db.session.execute(select(model.id, column).where(model.id.in_(keys))).all())


# --- The rows behind the figures (exports) ----------------------------------------------------

ATTEMPT_COLUMNS = (
    N_("Run date"),
    N_("Post office"),
    N_("Agency"),
    N_("Procedure code"),
    N_("Procedure"),
    N_("Envelope"),
    N_("Postman"),
    N_("Attempt"),
    N_("Outcome"),
    N_("Failure reason"),
    N_("Promised date"),
    N_("On time"),
    N_("Hours from receipt to delivery"),
    N_("Fees collected (VND)"),
)


def _attempt_rows_statement(query: ReportQuery):
    delivered = DeliveryAttempt.outcome == "delivered"
    return (
        _attempts_from(
            query,
            DeliveryRun.run_date,
            PostOffice.name,
            Agency.name,
            Dossier.procedure_code,
            Dossier.procedure_name,
            Envelope.code,
            User.full_name,
            DeliveryAttempt.attempt_number,
            DeliveryAttempt.outcome,
            DeliveryAttempt.reason_code,
            Dossier.promised_date,
            case(
                (delivered, func.round(seconds_between(_door_time(), _receipt_time()))), else_=None
            ),
            with_receipt=True,
        )
        .add_columns(DeliveryAttempt.fees_collected_vnd)
        .join(PostOffice, PostOffice.id == DeliveryRun.post_office_id)
        .join(Agency, Agency.id == Dossier.agency_id)
        .join(User, User.id == DeliveryAttempt.postman_id)
        .order_by(DeliveryRun.run_date, DeliveryAttempt.received_at, DeliveryAttempt.id)
    )


def count_attempt_rows(query: ReportQuery) -> int:
    return db.session.scalar(_attempts_from(query, func.count())) or 0


def attempt_rows(query: ReportQuery, limit: int | None = None) -> Iterator[list[Any]]:
    """Each attempt of the report, as the export's cells, read in batches (never all at once)."""
    stmt = _attempt_rows_statement(query)
    if limit is not None:
        stmt = stmt.limit(limit)
    outcomes = {"delivered": _("Delivered"), "failed": _("Failed")}
    yes, no = _("Yes"), _("No")
    result = db.session.execute(stmt.execution_options(yield_per=EXPORT_BATCH))
    for row in result:
        (day, office, agency, code, procedure, envelope, postman, number, outcome, reason,
         promised, lead_seconds, fees) = row  # fmt: skip
        delivered = outcome == "delivered"
        on_time = (yes if day <= promised else no) if delivered and promised else ""
        yield [
            day,
            office,
            agency,
            code,
            procedure,
            envelope,
            postman,
            number,
            outcomes.get(outcome, outcome),
            "" if delivered else reason_label(reason),
            promised or "",
            on_time,
            round(float(lead_seconds) / 3600, 2) if lead_seconds is not None else "",
            fees,
        ]


# --- Summary cells -----------------------------------------------------------------------------


def summary_header(report: Report) -> list[str]:
    return [
        _(GROUPING_LABELS[report.query.group]),
        _("Received"),
        _("Attempts"),
        _("Delivered"),
        _("Failed attempts"),
        _("First-attempt rate"),
        _("On-time rate"),
        _("Average hours from receipt to delivery"),
        _("Fees collected (VND)"),
        _("Collected at the counter"),
    ]


def summary_cells(label: str, figures: Figures) -> list[Any]:
    """One summary row; rates as fractions (0–1), hours rounded to two places; blank if none."""

    def blank(value):
        return "" if value is None else value

    return [
        label,
        blank(figures.received),
        figures.attempts,
        figures.delivered,
        figures.failed,
        blank(None if figures.first_attempt_rate is None else round(figures.first_attempt_rate, 4)),
        blank(None if figures.on_time_rate is None else round(figures.on_time_rate, 4)),
        blank(None if figures.lead_hours is None else round(figures.lead_hours, 2)),
        figures.fees_vnd,
        figures.collected,
    ]


def summary_table(report: Report) -> list[list[Any]]:
    rows = [summary_cells(row.label, row.figures) for row in report.rows]
    return [*rows, summary_cells(_("Total"), report.total)]


def reasons_table(report: Report) -> list[list[Any]]:
    """Failed attempts by group and reason (one line each), then the period's by reason."""
    lines = []
    for row in report.rows:
        for code, n in sorted(row.figures.reasons.items(), key=lambda item: (-item[1], item[0])):
            lines.append([row.label, reason_label(code), n])
    lines.extend([_("Total"), label, n] for _code, label, n in report.reasons)
    return lines


# --- Exports -----------------------------------------------------------------------------------

BOM = "\ufeff"


def _csv_line(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        [cell.isoformat() if isinstance(cell, date) else cell for cell in cells]
    )
    return buffer.getvalue()


def summary_csv(report: Report) -> str:
    """The summary, then the failure reasons, as CSV with a BOM (Excel reads it as UTF-8)."""
    lines = [BOM, _csv_line(summary_header(report))]
    lines.extend(_csv_line(cells) for cells in summary_table(report))
    lines.append("\r\n")
    lines.append(_csv_line([_(GROUPING_LABELS[report.query.group]), _("Failure reason"),
                            _("Failed attempts")]))  # fmt: skip
    lines.extend(_csv_line(cells) for cells in reasons_table(report))
    return "".join(lines)


def attempts_csv(query: ReportQuery) -> Iterator[str]:
    """Every attempt of the report, streamed line by line (a BOM first)."""
    yield BOM + _csv_line([_(label) for label in ATTEMPT_COLUMNS])
    batch: list[str] = []
    for cells in attempt_rows(query):
        batch.append(_csv_line(cells))
        if len(batch) >= EXPORT_BATCH:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def report_xlsx(report: Report) -> IO[bytes]:
    """The workbook: the summary, the failure reasons and every attempt (write-only: rows go
    to disk as they are read). Returned rewound, in a file that spills to disk when large."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def header(sheet, cells):
        row = []
        for text in cells:
            cell = WriteOnlyCell(sheet, value=str(text))
            cell.font = bold
            row.append(cell)
        sheet.append(row)

    summary = workbook.create_sheet(_("Summary"))
    summary.append([_("Period"), report.query.start, report.query.end])
    header(summary, summary_header(report))
    for cells in summary_table(report):
        row = []
        for index, value in enumerate(cells):
            cell = WriteOnlyCell(summary, value=value)
            if index in (5, 6) and value != "":
                cell.number_format = "0.0%"
            elif index == 8:
                cell.number_format = "#,##0"
            row.append(cell)
        summary.append(row)
    total_rows = count_attempt_rows(report.query)
    if total_rows > XLSX_MAX_ROWS:
        summary.append([_("The attempts sheet holds the first %(n)s attempts of %(total)s; "
                          "export them as CSV for all.", n=XLSX_MAX_ROWS, total=total_rows)])  # fmt: skip

    reasons = workbook.create_sheet(_("Failure reasons"))
    header(
        reasons, [_(GROUPING_LABELS[report.query.group]), _("Failure reason"), _("Failed attempts")]
    )
    for cells in reasons_table(report):
        reasons.append(cells)

    attempts = workbook.create_sheet(_("Attempts"))
    header(attempts, [_(label) for label in ATTEMPT_COLUMNS])
    for cells in attempt_rows(report.query, limit=XLSX_MAX_ROWS):
        attempts.append(cells)

    out = SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (returned open)
    workbook.save(out)
    out.seek(0)
    return out


# --- Charts ------------------------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    parts: list[tuple[str, int, float]]  # (css class, value, width in px)
    text: str  # the bar's figures in words (its text alternative)


def bars(items: list[tuple[str, list[tuple[str, int]], str]], width: int = 320) -> list[Bar]:
    """Horizontal stacked bars scaled to the largest total: (label, [(class, value)], text)."""
    largest = max((sum(v for _c, v in parts) for _l, parts, _t in items), default=0) or 1
    return [
        Bar(
            label=label,
            parts=[(css, value, value * width / largest) for css, value in parts],
            text=text,
        )
        for label, parts, text in items
    ]


def outcome_bars(report: Report) -> list[Bar]:
    return bars(
        [
            (
                row.label,
                [("bar-delivered", row.figures.delivered), ("bar-failed", row.figures.failed)],
                _(
                    "%(label)s: %(delivered)s delivered, %(failed)s failed attempts",
                    label=row.label,
                    delivered=row.figures.delivered,
                    failed=row.figures.failed,
                ),
            )
            for row in report.rows
        ]
    )


def reason_bars(report: Report) -> list[Bar]:
    return bars(
        [
            (label, [("bar-failed", n)], _("%(label)s: %(n)s", label=label, n=n))
            for _code, label, n in report.reasons
        ]
    )


def report_choices(query: ReportQuery, scope: int | None) -> dict[str, list]:
    """The filters' lists: offices (administrators), the offices' agencies and postmen."""
    offices = select(PostOffice).order_by(PostOffice.name)
    agencies = select(Agency).order_by(Agency.name)
    postmen = select(User).where(User.role == Role.postman.value).order_by(User.full_name)
    office_id = query.office_id if query.office_id is not None else scope
    if scope is not None:
        offices = offices.where(PostOffice.id == scope)
    if office_id is not None:
        agencies = agencies.where(Agency.post_office_id == office_id)
        postmen = postmen.where(User.post_office_id == office_id)
    return {
        "offices": list(db.session.scalars(offices)),
        "agencies": list(db.session.scalars(agencies)),
        "postmen": list(db.session.scalars(postmen)),
    }


def forbid_foreign_ids(query: ReportQuery) -> None:
    """An agency or postman of another office than the one reported on is nothing to this
    report: 404, as anything not the user's."""
    if query.office_id is None:
        return
    if query.agency_id is not None:
        agency = db.session.get(Agency, query.agency_id)
        if agency is None or agency.post_office_id != query.office_id:
            raise NotFound(_("No such agency."), code="agency_not_found")
    if query.postman_id is not None:
        postman = db.session.get(User, query.postman_id)
        if postman is None or postman.post_office_id != query.office_id:
            raise NotFound(_("No such postman."), code="postman_not_found")
