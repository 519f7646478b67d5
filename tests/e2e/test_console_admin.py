"""An administrator deactivates a user (the supervisor) in the console: their open session in
another browser is refused on its next request, and logging in again is refused saying why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login_as

pytestmark = pytest.mark.e2e


def test_an_administrator_deactivates_a_supervisor_who_is_then_refused(
    page: Page, open_context, live_server
):
    other = open_context().new_page()
    login_as(other, "giamsat")
    expect(other).to_have_url(f"{live_server.url}/console")

    login_as(page, "admin")
    page.get_by_test_id("nav-users").click()
    page.get_by_test_id("user-query").fill("giamsat")
    page.get_by_role("button", name="Lọc").click()
    page.locator('tr[data-user="giamsat"] a').click()
    page.get_by_test_id("deactivate-open").click()
    page.get_by_test_id("deactivate").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã vô hiệu hóa tài khoản")
    expect(page.get_by_test_id("user-state")).to_contain_text("Đã vô hiệu hóa")
    expect(page.get_by_test_id("user-history")).to_contain_text("Đã vô hiệu hóa")

    # The other browser's next request is refused: it lands on the log-in page.
    other.reload()
    expect(other).to_have_url(re.compile(r"/login"))
    login_as(other, "giamsat")
    expect(other.get_by_role("alert")).to_have_text(
        "Tài khoản này đã bị vô hiệu hóa. Hãy liên hệ quản trị viên."
    )
    expect(other).to_have_url(re.compile(r"/login"))
