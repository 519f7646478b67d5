"""Reports (issue 11, part 6): each figure against a month worked out by hand
(tests/console/reports_fixture.py), on the page and in both exports; the office's own figures
only; bad input a 4xx, never a 5xx."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import event

from backend.console.reports import ReportQuery, build_report
from backend.extensions import db
from backend.models import Role
from tests.conftest import NOW, login
from tests.console.reports_fixture import END, START, seed_month

NOVEMBER = {"from": START.isoformat(), "to": END.isoformat()}
BOM = "\ufeff"


@pytest.fixture
def month(app):
    month = seed_month()
    db.session.commit()
    return month


@pytest.fixture
def supervisor(client, month):
    login(client, month.supervisor)
    return client


@pytest.fixture
def in_request(app):
    """Labels are translated for the request's language: figures read outside a page."""
    with app.test_request_context():
        yield


def figures_of(report, label):
    (row,) = [row for row in report.rows if row.label == label]
    return row.figures


def report(month, group, **kw) -> object:
    return build_report(
        ReportQuery(start=START, end=END, group=group, office_id=month.office.id, **kw)
    )


# --- The figures, worked out by hand -----------------------------------------------------------


def test_figures_by_agency(month, in_request):
    result = report(month, "agency")
    assert [row.label for row in result.rows] == ["Công an tỉnh", "Sở Tư pháp"]
    police = figures_of(result, "Công an tỉnh")
    # Received: E1–E5 and E7 (23:30 local on the 20th); E6 in October, E8 on 1 December local.
    assert police.received == 6
    assert (police.attempts, police.delivered, police.failed) == (8, 5, 3)
    assert (police.first_attempt, police.first_attempt_rate) == (4, 0.8)
    assert (police.on_time, police.promised, police.on_time_rate) == (2, 4, 0.5)
    assert police.lead_hours == 41.0  # (26 + 51 + 30 + 24 + 74) / 5
    assert police.fees_vnd == 134_000
    assert police.reasons == {"not_home": 1, "refused": 2}

    justice = figures_of(result, "Sở Tư pháp")
    assert justice.received == 5
    assert (justice.attempts, justice.delivered, justice.failed) == (5, 2, 3)
    assert justice.first_attempt_rate == 0.5
    assert justice.on_time_rate == 1.0
    assert justice.lead_hours == 100.0  # (24 + 176) / 2
    assert justice.fees_vnd == 400_000
    assert justice.reasons == {"not_home": 2, "wrong_address": 1}

    total = result.total
    assert (total.received, total.attempts, total.delivered, total.failed) == (11, 13, 7, 6)
    assert total.first_attempt_rate == pytest.approx(5 / 7)
    assert total.on_time_rate == pytest.approx(4 / 6)
    assert total.lead_hours == pytest.approx(405 / 7)
    assert total.fees_vnd == 534_000
    assert [(code, n) for code, _label, n in result.reasons] == [
        ("not_home", 3),
        ("refused", 2),
        ("wrong_address", 1),
    ]


def test_figures_by_postman_have_no_receipts(month, in_request):
    result = report(month, "postman")
    assert [row.label for row in result.rows] == ["Lê Thị Cúc", "Trần Văn Bình"]
    binh = figures_of(result, "Trần Văn Bình")
    assert binh.received is None  # a postman receives nothing from the agencies
    assert (binh.attempts, binh.delivered, binh.failed) == (7, 5, 2)
    assert (binh.first_attempt_rate, binh.on_time_rate) == (0.6, 0.5)
    assert binh.lead_hours == pytest.approx(70.2)
    assert binh.fees_vnd == 304_000
    assert binh.reasons == {"not_home": 2}
    cuc = figures_of(result, "Lê Thị Cúc")
    assert (cuc.attempts, cuc.delivered, cuc.failed) == (6, 2, 4)
    assert (cuc.first_attempt_rate, cuc.on_time_rate, cuc.lead_hours) == (1.0, 1.0, 27.0)
    assert cuc.fees_vnd == 230_000
    assert cuc.reasons == {"refused": 2, "wrong_address": 1, "not_home": 1}
    assert result.total.received is None and result.total.attempts == 13


def test_figures_by_procedure_are_named_by_code_and_name(month, in_request):
    result = report(month, "procedure")
    labels = [row.label for row in result.rows]
    assert labels == ["1.001751 · Cấp thẻ Căn cước", "2.000488 · Cấp Phiếu lý lịch tư pháp"]
    assert [row.figures.received for row in result.rows] == [6, 5]
    assert [row.figures.delivered for row in result.rows] == [5, 2]


def test_filters_narrow_the_figures(month, in_request):
    one_postman = report(month, "agency", postman_id=month.binh.id)
    assert [(r.label, r.figures.attempts, r.figures.delivered) for r in one_postman.rows] == [
        ("Công an tỉnh", 5, 4),  # E1, E2 ×2, E5, E6
        ("Sở Tư pháp", 2, 1),  # E10's third, E11
    ]
    assert one_postman.total.received is None
    justice = report(month, "postman", agency_id=month.justice.id)
    assert justice.total.attempts == 5 and justice.total.fees_vnd == 400_000
    police_procedure = report(month, "agency", procedure_code="1.001751")
    assert [r.label for r in police_procedure.rows] == ["Công an tỉnh"]


def test_the_office_s_days_decide_the_period(month, in_request):
    """E8 was received at 17:30 UTC on 30 November: 00:30 on 1 December at the office."""
    december_first = build_report(
        ReportQuery(
            start=date(2025, 12, 1),
            end=date(2025, 12, 1),
            group="agency",
            office_id=month.office.id,
        )
    )
    police = figures_of(december_first, "Công an tỉnh")
    assert police.received == 1 and police.attempts == 0
    justice = figures_of(december_first, "Sở Tư pháp")  # E12, delivered on December's run
    assert justice.received == 0 and justice.delivered == 1 and justice.on_time_rate == 1.0


def test_the_figures_are_counted_in_a_few_queries(month, in_request):
    """GROUP BY in the database: at most six statements a report (attempts, reasons, the
    offices' time zones, counter hand-overs, receipts, the groups' names), however many rows."""
    statements = []
    office_id = month.office.id

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for group in ("office", "agency", "procedure", "postman"):
            statements.clear()
            build_report(ReportQuery(start=START, end=END, group=group, office_id=office_id))
            assert len(statements) <= 6, group
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- The page ----------------------------------------------------------------------------------


def cell(html: str, group: str, name: str) -> str:
    row = re.search(rf'<tr data-group="{group}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'data-field="{name}">([^<]*)<', row).group(1)


def test_the_page_shows_the_figures_charts_and_legend(supervisor, month):
    response = supervisor.get("/console/reports", query_string={**NOVEMBER, "group": "agency"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    police = str(month.police.id)
    assert cell(html, police, "received") == "6"
    assert cell(html, police, "first_attempt_rate") == "80,0%"
    assert cell(html, police, "on_time_rate") == "50,0%"
    assert cell(html, police, "lead_hours") == "41,0"
    assert cell(html, police, "fees") == "134.000"
    assert cell(html, "total", "delivered") == "7"
    assert cell(html, "total", "on_time_rate") == "66,7%"
    assert cell(html, "total", "lead_hours") == "57,9"
    assert cell(html, "total", "fees") == "534.000"
    # The charts: drawn on the server, their figures in words for those who cannot see them.
    assert 'data-testid="chart-outcomes"' in html and 'role="img"' in html
    assert "Công an tỉnh: 5 đã phát, 3 lần phát không thành công" in html
    assert html.count('class="bar-delivered"') == 2 and 'data-value="3"' in html
    assert 'data-testid="chart-reasons"' in html and "Không có người ở nhà: 3" in html
    assert 'data-testid="report-legend"' in html
    # Exports keep the report's query.
    assert "/console/reports/export.xlsx?from=2025-11-01&amp;to=2025-11-30&amp;group=agency" in html


def collect_at_counter(month, name: str, at, fees: int, number: int = 1) -> None:
    """Envelope `name` handed over at the counter by the supervisor at `at` (UTC)."""
    import uuid

    from backend.console.counter import COLLECTED
    from backend.models import DeliveryAttempt

    db.session.add(
        DeliveryAttempt(
            id=str(uuid.uuid4()),
            envelope_id=month.envelopes[name].id,
            postman_id=month.supervisor.id,
            attempt_number=number,
            outcome=COLLECTED,
            fees_collected_vnd=fees,
            meta_digest="0" * 64,
            received_at=at,
        )
    )
    db.session.commit()


def test_envelopes_collected_at_the_counter_count_apart_with_their_fees(
    supervisor, month, in_request
):
    from tests.console.reports_fixture import utc

    collect_at_counter(month, "E13", utc(11, 28, 2), 200_000)  # 09:00 on the 28th, local
    collect_at_counter(month, "E11", utc(11, 30, 18), 200_000, 2)  # 01:00 on 1 December: not
    by_agency = report(month, "agency")
    justice, police = figures_of(by_agency, "Sở Tư pháp"), figures_of(by_agency, "Công an tỉnh")
    assert (justice.collected, justice.fees_vnd) == (1, 400_000 + 200_000)
    assert (justice.attempts, justice.delivered) == (5, 2)  # the door's figures as they were
    assert (police.collected, police.fees_vnd) == (0, 134_000)
    assert (by_agency.total.collected, by_agency.total.fees_vnd) == (1, 734_000)
    # By person: the clerk who handed it over, with no attempts at a door.
    by_person = report(month, "postman")
    clerk = figures_of(by_person, month.supervisor.full_name)
    assert (clerk.collected, clerk.attempts, clerk.fees_vnd, clerk.received) == (
        1,
        0,
        200_000,
        None,
    )
    html = supervisor.get("/console/reports", query_string={**NOVEMBER, "group": "agency"}).text
    assert cell(html, str(month.justice.id), "collected") == "1"


def test_the_page_by_postman_has_no_received(supervisor, month):
    html = supervisor.get("/console/reports", query_string={**NOVEMBER, "group": "postman"}).text
    assert cell(html, str(month.binh.id), "received") == "—"
    assert cell(html, str(month.binh.id), "attempts") == "7"


def test_the_default_period_is_this_month(supervisor, month, monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)  # 23 November 2026
    html = supervisor.get("/console/reports").get_data(as_text=True)
    assert 'name="from" value="2026-11-01"' in html and 'name="to" value="2026-11-23"' in html
    assert "Không có dữ liệu trong khoảng thời gian này." in html  # November 2026: none


def test_the_console_links_to_reports(supervisor, month):
    assert 'data-testid="nav-reports"' in supervisor.get("/console").get_data(as_text=True)


@pytest.mark.parametrize(
    "args",
    [
        {"from": "01/11/2025"},
        {"from": "2025-11-30", "to": "2025-11-01"},
        {"from": "2024-01-01", "to": "2025-11-30"},
        {"group": "commune"},
        {"agency": "abc"},
        {"postman": "0"},
    ],
)
def test_bad_input_is_a_4xx_with_a_message(supervisor, month, args):
    page = supervisor.get("/console/reports", query_string=args)
    assert page.status_code == 422
    assert 'data-testid="report-error"' in page.get_data(as_text=True)
    for export in ("/console/reports/export.csv", "/console/reports/export.xlsx"):
        assert supervisor.get(export, query_string=args).status_code == 422


# --- Offices -----------------------------------------------------------------------------------


def test_a_supervisor_sees_only_their_office(client, month):
    login(client, month.supervisor)
    html = client.get("/console/reports", query_string={**NOVEMBER, "group": "office"}).text
    assert "Bưu điện huyện Cao Lộc" not in html
    assert cell(html, str(month.office.id), "attempts") == "13"
    other = {"office": str(month.other_office.id)}
    elsewhere_agency = {"agency": str(month.office.id + 10_000)}
    for url in (
        "/console/reports",
        "/console/reports/export.csv",
        "/console/reports/export.xlsx",
    ):
        assert client.get(url, query_string={**NOVEMBER, **other}).status_code == 404
        assert client.get(url, query_string={**NOVEMBER, **elsewhere_agency}).status_code == 404
    # The other office's supervisor: its one envelope, none of this office's.
    login(client, month.other_supervisor)
    html = client.get("/console/reports", query_string={**NOVEMBER, "group": "agency"}).text
    assert "Công an tỉnh" not in html and "Công an huyện" in html
    assert cell(html, "total", "attempts") == "1"
    agency = {"agency": str(month.police.id)}  # this office's agency, named by the other
    assert client.get("/console/reports", query_string={**NOVEMBER, **agency}).status_code == 404


def test_an_administrator_sees_every_office_or_one(client, factory, month):
    login(client, factory.user(Role.admin))
    html = client.get("/console/reports", query_string={**NOVEMBER, "group": "office"}).text
    assert cell(html, str(month.office.id), "received") == "11"
    assert cell(html, str(month.other_office.id), "received") == "1"
    assert cell(html, "total", "attempts") == "14"
    one = {**NOVEMBER, "group": "office", "office": str(month.other_office.id)}
    html = client.get("/console/reports", query_string=one).text
    assert (
        cell(html, "total", "attempts") == "1"
        and "Bưu điện Thành phố"
        not in html.split('data-testid="report-table"')[1].split("</table>")[0]
    )


def test_only_staff_see_reports(app, factory, month):
    for role in (Role.postman, Role.agency):
        other = app.test_client()
        login(other, factory.user(role))
        for url in ("/console/reports", "/console/reports/export.csv"):
            assert other.get(url, query_string=NOVEMBER).status_code == 403
    assert app.test_client().get("/console/reports").status_code in (302, 401)


# --- Exports -----------------------------------------------------------------------------------


def test_the_summary_csv(supervisor, month):
    response = supervisor.get(
        "/console/reports/export.csv", query_string={**NOVEMBER, "group": "agency"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        'filename="trao-report-2025-11-01-2025-11-30.csv"'
        in response.headers["Content-Disposition"]
    )
    text = response.get_data().decode("utf-8")
    assert text.startswith(BOM)  # Excel reads UTF-8 (Vietnamese) only with it
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:4] == ["Cơ quan", "Đã nhận", "Số lần phát", "Đã phát"]
    assert rows[1] == ["Công an tỉnh", "6", "8", "5", "3", "0.8", "0.5", "41.0", "134000", "0"]
    assert rows[2] == ["Sở Tư pháp", "5", "5", "2", "3", "0.5", "1.0", "100.0", "400000", "0"]
    assert rows[3] == [
        "Tổng cộng",
        "11",
        "13",
        "7",
        "6",
        "0.7143",
        "0.6667",
        "57.86",
        "534000",
        "0",
    ]
    assert rows[4] == []
    assert ["Tổng cộng", "Không có người ở nhà", "3"] in rows[5:]
    assert ["Công an tỉnh", "Người nhận từ chối nhận", "2"] in rows[5:]
    assert int(response.headers["X-Trao-Export-Lines"]) == text.count("\n")


def test_the_attempts_csv(supervisor, month):
    response = supervisor.get(
        "/console/reports/export.csv",
        query_string={**NOVEMBER, "rows": "attempts"},
    )
    assert response.status_code == 200
    text = response.get_data().decode("utf-8")
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert len(rows) == 1 + 13 and response.headers["X-Trao-Export-Lines"] == "14"
    header = rows[0]
    by_envelope = {}
    for row in rows[1:]:
        by_envelope.setdefault(row[header.index("Bưu gửi")], []).append(row)
    e10 = by_envelope[month.envelopes["E10"].code]
    assert [r[header.index("Lần phát")] for r in e10] == ["1", "2", "3"]
    assert e10[0][header.index("Lý do không phát được")] == "Sai hoặc thiếu địa chỉ"
    assert e10[2][header.index("Đúng hẹn")] == "Có"
    assert e10[2][header.index("Số giờ từ khi nhận đến khi phát")] == "176.0"
    assert e10[2][header.index("Lệ phí đã thu (VND)")] == "200000"
    assert month.envelopes["E12"].code not in by_envelope  # December's run
    # Another office's attempt is not in this office's export.
    assert month.envelopes["X1"].code not in text


def test_the_xlsx_export(supervisor, month):
    response = supervisor.get(
        "/console/reports/export.xlsx", query_string={**NOVEMBER, "group": "postman"}
    )
    assert response.status_code == 200
    assert response.content_length == len(response.get_data())
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    summary, reasons, attempts = (list(sheet.values) for sheet in book.worksheets)
    assert summary[1][:3] == ("Bưu tá", "Đã nhận", "Số lần phát")
    binh = next(row for row in summary if row[0] == "Trần Văn Bình")
    assert binh[1:] == (None, 7, 5, 2, 0.6, 0.5, 70.2, 304_000, 0)
    total = summary[-1]
    assert total[0] == "Tổng cộng" and total[2:5] == (13, 7, 6)
    assert ("Lê Thị Cúc", "Người nhận từ chối nhận", 2) in reasons
    assert len(attempts) == 1 + 13


# --- No input earns a 5xx ----------------------------------------------------------------------

KEYS = ("from", "to", "group", "office", "agency", "procedure", "postman", "rows")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    args=st.dictionaries(
        st.sampled_from(KEYS),
        st.one_of(
            st.text(max_size=40),
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.dates().map(date.isoformat),
        ),
    ),
    url=st.sampled_from(
        ["/console/reports", "/console/reports/export.csv", "/console/reports/export.xlsx"]
    ),
)
@example(args={"procedure": "a\x00b"}, url="/console/reports")  # PostgreSQL refuses NUL
@example(args={"from": "0001-01-01", "to": "0001-01-02"}, url="/console/reports/export.csv")
@example(args={"from": "9999-12-31"}, url="/console/reports")
@example(args={"office": "99999999999999999999"}, url="/console/reports")
def test_no_query_earns_a_5xx(supervisor, month, args, url):
    assert supervisor.get(url, query_string=args).status_code < 500
