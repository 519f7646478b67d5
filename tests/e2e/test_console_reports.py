"""A supervisor reads November's report, then exports it as XLSX: the page fetches it with a
progress bar and saves it; the file, read back with openpyxl, holds the figures worked out by
hand (tests/console/reports_fixture.py). Then the attempts as CSV, and the charts."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.extensions import db
from backend.models import PostOffice, User
from tests.console.reports_fixture import END, START, seed_month
from tests.e2e.conftest import login_as, save_screenshot, wait_for_js

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def month(live_server):
    """The hand-worked month, at the demo supervisor's office."""
    with live_server.app.app_context():
        office = db.session.scalar(
            select(PostOffice)
            .join(User, User.post_office_id == PostOffice.id)
            .where(User.username == "giamsat")
        )
        month = seed_month(office, prefix="e2e")
        ids = {"police": month.police.id, "justice": month.justice.id}
        db.session.commit()
        db.session.remove()
    return ids


def open_november(page: Page) -> None:
    login_as(page, "giamsat")
    page.get_by_test_id("nav-reports").click()
    page.get_by_test_id("report-from").fill(START.isoformat())
    page.get_by_test_id("report-to").fill(END.isoformat())
    page.get_by_test_id("report-group").select_option("agency")
    page.get_by_role("button", name="Xem").click()
    expect(page.get_by_test_id("report-table")).to_be_visible()
    wait_for_js(page, "document.documentElement.dataset.reportsReady === 'true'")


def test_a_report_exported_to_xlsx_and_read_back(page: Page, live_server, month, tmp_path):
    open_november(page)
    police = page.locator(f'tr[data-group="{month["police"]}"]')
    expect(police.locator('[data-field="received"]')).to_have_text("6")
    expect(police.locator('[data-field="first_attempt_rate"]')).to_have_text("80,0%")
    expect(page.locator('tr[data-group="total"] [data-field="fees"]')).to_have_text("534.000")
    expect(page.get_by_test_id("chart-outcomes").locator("rect")).to_have_count(4)
    expect(page.get_by_test_id("chart-reasons")).to_contain_text("Không có người ở nhà")
    save_screenshot(page, "console-reports", full_page=True)
    # On a tablet held upright the page does not scroll sideways; the wide table scrolls alone.
    page.set_viewport_size({"width": 768, "height": 1024})
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    chart = page.get_by_test_id("chart-outcomes").bounding_box()
    assert chart["x"] >= 0 and chart["x"] + chart["width"] <= 768
    save_screenshot(page, "console-reports-tablet", full_page=True)

    progress = page.get_by_test_id("export-progress")
    expect(progress).to_be_hidden()
    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    download = info.value
    assert download.suggested_filename == "trao-report-2025-11-01-2025-11-30.xlsx"
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("data-state", "done")
    expect(progress).to_have_attribute("data-seen", "waiting receiving done")
    expect(page.get_by_test_id("export-status")).to_have_text("Xong: tệp đã được lưu.")
    assert page.get_by_test_id("export-bar").evaluate("bar => bar.value") == 1

    saved = tmp_path / download.suggested_filename  # openpyxl reads a file by its extension
    download.save_as(saved)
    book = load_workbook(saved, read_only=True)
    assert book.sheetnames == ["Tổng hợp", "Lý do không phát được", "Số lần phát"]
    summary = list(book.worksheets[0].values)
    rows = {row[0]: row[1:] for row in summary[2:]}
    assert rows["Công an tỉnh"] == (6, 8, 5, 3, 0.8, 0.5, 41.0, 134_000, 0)
    assert rows["Sở Tư pháp"] == (5, 5, 2, 3, 0.5, 1.0, 100.0, 400_000, 0)
    assert rows["Tổng cộng"][:4] == (11, 13, 7, 6)
    assert rows["Tổng cộng"][7] == 534_000
    reasons = list(book.worksheets[1].values)
    assert ("Tổng cộng", "Không có người ở nhà", 3) in reasons
    attempts = list(book.worksheets[2].values)
    assert len(attempts) == 1 + 13


def test_each_attempt_as_csv_with_its_progress(page: Page, live_server, month):
    open_november(page)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv-attempts").click()
    text = open(info.value.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert len(rows) == 1 + 13
    expect(page.get_by_test_id("export-progress")).to_have_attribute(
        "data-seen", "waiting receiving done"
    )


def test_without_javascript_the_link_still_downloads(open_context, live_server, month):
    context = open_context(java_script_enabled=False)
    page = context.new_page()
    login_as(page, "giamsat")
    page.goto(f"/console/reports?from={START.isoformat()}&to={END.isoformat()}&group=agency")
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()  # noqa: PTH123, SIM115
    assert "Công an tỉnh,6,8,5,3,0.8,0.5,41.0,134000" in text
