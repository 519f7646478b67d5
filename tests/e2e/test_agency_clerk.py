"""An agency clerk without an integration: registers a dossier by the form, imports a small CSV
whose broken row is named, imports its clean rows, finds them in the list and opens one's story."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from backend.agency_api.forms import COLUMNS
from tests.e2e.conftest import login_as

pytestmark = pytest.mark.e2e

HEADER = ";".join(c.header for c in COLUMNS)
ROW = (
    "E2E-{n};1.001751;Cấp thẻ Căn cước;citizen_id_card;;Lò Văn Sơn;Lò Văn Sơn;{phone};"
    "020090123456;Số {n}, đường Bà Triệu;;{commune};;;26.000;;25/11/2026;1"
)
CSV = "\ufeff" + "\r\n".join(
    [
        HEADER,
        ROW.format(n=1, phone="0912 345 601", commune=5977),
        ROW.format(n=2, phone="12345", commune=5977),  # row 3: not a phone
        ROW.format(n=3, phone="0912345603", commune=5977),
    ]
)


def test_a_clerk_registers_by_form_then_imports_a_file_keeping_its_clean_rows(
    page: Page, live_server
):
    login_as(page, "congan")
    expect(page).to_have_url(f"{live_server.url}/agency")

    page.get_by_test_id("nav-register").click()
    form = page.get_by_test_id("register-form")
    form.locator("#code").fill("E2E-FORM-1")
    form.locator("#procedure_code").fill("1.001751")
    form.locator("#procedure_name").fill("Cấp thẻ Căn cước")
    form.locator("#result_type").select_option("citizen_id_card")
    form.locator("#applicant_name").fill("Hoàng Thị Mai")
    form.locator("#recipient_name").fill("Hoàng Thị Mai")
    form.locator("#recipient_phone").fill("123")
    form.locator("#address_line").fill("Số 12, đường Lê Lợi")
    form.locator("#commune_code").select_option(label="Phường Đông Kinh")
    page.get_by_test_id("register-submit").click()
    expect(page.locator("#recipient_phone-error")).to_contain_text("điện thoại")
    page.locator("#recipient_phone").fill("0912 345 678")
    page.get_by_test_id("register-submit").click()
    expect(page).to_have_url(re.compile(r"/agency/dossiers/E2E-FORM-1$"))
    expect(page.get_by_test_id("envelope")).to_have_count(1)

    page.get_by_test_id("nav-import").click()
    page.locator("#file").set_input_files(
        {"name": "ho-so.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8")}
    )
    page.get_by_test_id("import-check").click()
    expect(page.get_by_test_id("rows-clean")).to_have_text("2")
    error = page.locator('[data-testid="import-problems"] tr[data-row="3"]')
    expect(error).to_contain_text("Điện thoại người nhận")
    expect(page.get_by_test_id("import-all")).to_have_count(0)
    page.get_by_test_id("import-clean").click()  # the same file, posted again by the page

    expect(page).to_have_url(f"{live_server.url}/agency")
    expect(page.get_by_role("status").first).to_contain_text("đăng ký 2 hồ sơ")
    dossiers = page.get_by_test_id("dossiers")
    expect(dossiers).to_contain_text("E2E-1")
    expect(dossiers).to_contain_text("E2E-3")
    expect(dossiers).not_to_contain_text("E2E-2")
    dossiers.get_by_role("link", name="E2E-3").click()
    expect(page.get_by_test_id("dossier-code")).to_have_text("E2E-3")
    expect(page.get_by_test_id("timeline").first).to_contain_text("Hồ sơ được đăng ký")
    assert not live_server.errors
