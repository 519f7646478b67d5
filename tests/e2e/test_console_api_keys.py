"""An administrator makes an agency API key (shown once), sees it listed, and revokes it; the API
documentation page renders the OpenAPI document under the Content-Security-Policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login_as

pytestmark = pytest.mark.e2e


def test_an_administrator_makes_and_revokes_an_api_key(page: Page):
    login_as(page, "admin")
    page.goto("/console/agencies")
    page.get_by_test_id("agencies").get_by_role("link").first.click()
    agency_page = page.url
    rows = page.get_by_test_id("api-key-row")
    before = rows.count()
    page.locator("#key-label").fill("Hệ thống một cửa 2026")
    page.get_by_test_id("new-api-key-button").click()
    key = page.get_by_test_id("new-api-key").inner_text()
    assert key.startswith("trao_") and len(key) > 40
    expect(rows).to_have_count(before + 1)
    expect(rows.first).to_contain_text("Hệ thống một cửa 2026")
    expect(rows.first).to_contain_text(key[:12])

    page.goto(agency_page)  # shown once: the page loaded again holds only its prefix
    expect(page.get_by_test_id("new-api-key")).to_have_count(0)
    rows.first.get_by_test_id("revoke-api-key").click()
    expect(page.get_by_role("status").first).to_contain_text("Khóa đã bị thu hồi")
    expect(rows.first.get_by_test_id("revoke-api-key")).to_have_count(0)


def test_the_api_documentation_renders(page: Page):
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/dossiers").first).to_be_visible(
        timeout=15000
    )
    expect(page.get_by_text("/api/v1/attempts")).to_be_visible()
