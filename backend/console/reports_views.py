"""Reports: a period's figures by office, agency, procedure or postman, with charts, and their
exports as CSV and XLSX (the page shows a long export's progress)."""

from __future__ import annotations

from flask import Response, render_template, request, send_file, stream_with_context
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_login import current_user

from backend.auth.access import roles_required
from backend.console import bp
from backend.console.live_views import office_today
from backend.console.reports import (
    GROUPING_LABELS,
    GROUPINGS,
    MAX_PROCEDURE_CHARS,
    ReportQuery,
    attempts_csv,
    build_report,
    count_attempt_rows,
    forbid_foreign_ids,
    outcome_bars,
    parse_query,
    reason_bars,
    report_choices,
    report_xlsx,
    summary_csv,
)
from backend.console.services import office_scope
from backend.errors import Invalid
from backend.extensions import db
from backend.models import PostOffice, Role

STAFF = (Role.supervisor, Role.admin)
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How many lines (CSV) or bytes (XLSX) the export will send: the page's progress bar.
ROWS_HEADER = "X-Trao-Export-Lines"


def _query() -> ReportQuery:
    scope = office_scope(current_user)
    office = db.session.get(PostOffice, scope) if scope is not None else None
    query = parse_query(request.args, scope=scope, today=office_today(office))
    forbid_foreign_ids(query)
    return query


def _filename(query: ReportQuery, extension: str, suffix: str = "") -> str:
    return f"trao-report-{query.start.isoformat()}-{query.end.isoformat()}{suffix}.{extension}"


@bp.get("/reports")
@roles_required(*STAFF)
def reports():
    """The report page: the form, the figures by group with their total, charts, legend."""
    scope = office_scope(current_user)
    error = None
    try:
        query = _query()
    except Invalid as invalid:
        error = invalid.message
        office = db.session.get(PostOffice, scope) if scope is not None else None
        query = parse_query({}, scope=scope, today=office_today(office))
    report = build_report(query)
    html = render_template(
        "console/reports.html",
        report=report,
        query=query,
        error=error,
        admin=scope is None,
        groupings=[(value, _(GROUPING_LABELS[value])) for value in GROUPINGS],
        group_label=_(GROUPING_LABELS[query.group]),
        max_procedure=MAX_PROCEDURE_CHARS,
        outcome_bars=outcome_bars(report),
        reason_bars=reason_bars(report),
        attempt_rows=report.total.attempts,
        number=format_decimal,
        percent=lambda rate: format_percent(rate, "#,##0.0%"),
        hours=lambda value: format_decimal(value, "#,##0.0"),
        **report_choices(query, scope),
    )
    return html, 422 if error else 200


@bp.get("/reports/export.csv")
@roles_required(*STAFF)
def reports_csv():
    """The summary (`rows=summary`, the default) or every attempt (`rows=attempts`), as CSV."""
    query = _query()
    if request.args.get("rows") == "attempts":
        lines = count_attempt_rows(query) + 1
        response = Response(stream_with_context(attempts_csv(query)), mimetype=CSV_TYPE)
        name = _filename(query, "csv", "-attempts")
    else:
        body = summary_csv(build_report(query))
        lines = body.count("\n")
        response = Response(body, mimetype=CSV_TYPE)
        name = _filename(query, "csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers[ROWS_HEADER] = str(lines)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/reports/export.xlsx")
@roles_required(*STAFF)
def reports_xlsx():
    """The workbook: summary, failure reasons and every attempt; its size is sent first."""
    query = _query()
    workbook = report_xlsx(build_report(query))
    size = workbook.seek(0, 2)
    workbook.seek(0)
    response = send_file(
        workbook,
        mimetype=XLSX_TYPE,
        as_attachment=True,
        download_name=_filename(query, "xlsx"),
        max_age=0,
    )
    response.content_length = size
    response.headers["Cache-Control"] = "no-store"
    return response
