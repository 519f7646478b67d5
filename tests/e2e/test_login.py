"""Logging in, language and access, in a real Chromium against the served demo."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, CspWatch, login_as, logout, save_screenshot

pytestmark = pytest.mark.e2e

MIN_TAP = 44  # CSS px, WCAG 2.5.5


def test_postman_logs_in_and_sees_his_run(page: Page, live_server):
    login_as(page, "buuta1")

    expect(page).to_have_url(f"{live_server.url}/app")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_contain_text("Chuyến phát")
    stops = page.locator("ol.stops > li")
    expect(stops.first).to_be_visible()
    assert 20 <= stops.count() <= 40
    pills = page.get_by_test_id("progress").locator(".pill")
    expect(pills).to_have_count(3)
    expect(pills.nth(0)).to_contain_text(re.compile(r"Đã phát: \d+"))
    expect(pills.nth(1)).to_contain_text(re.compile(r"Không thành công: \d+"))
    expect(pills.nth(2)).to_contain_text(re.compile(r"Còn lại: \d+"))


def test_supervisor_logs_in_to_the_console(page: Page, live_server):
    login_as(page, "giamsat")

    expect(page).to_have_url(f"{live_server.url}/console")
    expect(page.locator("tr[data-run]")).to_have_count(3)
    save_screenshot(page, "console", full_page=True)


def test_a_wrong_password_is_refused_in_vietnamese(page: Page, live_server):
    login_as(page, "buuta1", "not-the-password")

    expect(page.get_by_role("alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.locator("#username")).to_have_value("buuta1")


def test_english_is_chosen_on_the_login_page_and_remembered(page: Page):
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("Đăng nhập")

    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto("/login")  # no ?lang= any more: the session remembers
    page.reload()
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.get_by_role("link", name="Tiếng Việt")).to_be_visible()


def test_postman_cannot_open_the_console_and_logs_out(page: Page, live_server):
    login_as(page, "buuta1")

    response = page.goto("/console")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Trang này không dành cho vai trò của bạn.")

    logout(page)
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    page.goto("/app")
    expect(page).to_have_url(re.compile(r"/login\?next=/app$"))


@pytest.mark.browser_context_args(**PHONE)
def test_the_run_fits_a_phone_and_its_buttons_fit_a_thumb(page: Page):
    login_as(page, "buuta1")
    expect(page.locator("ol.stops > li").first).to_be_visible()

    logout_box = page.locator(".topbar form button[type=submit]").bounding_box()
    assert logout_box is not None
    assert logout_box["width"] >= MIN_TAP and logout_box["height"] >= MIN_TAP, logout_box
    calls = page.locator("a[href^='tel:']")
    assert calls.count() > 0
    # The finished stops are folded away ("Đã xong"): only the links a thumb can reach count.
    sizes = calls.evaluate_all(
        "links => links.filter(a => a.checkVisibility()).map(a => {"
        " const r = a.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert sizes
    too_small = [s for s in sizes if s[0] < MIN_TAP or s[1] < MIN_TAP]
    assert not too_small, too_small
    # A mobile browser widens its layout viewport to fit wide content (zooming out), so
    # innerWidth alone would hide an overflow: compare with the phone's width too.
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    phone_width = PHONE["viewport"]["width"]
    assert scroll_width <= inner_width == phone_width, (
        f"horizontal scroll: scrollWidth {scroll_width}, innerWidth {inner_width}, "
        f"phone {phone_width}"
    )
    save_screenshot(page, "app")


def test_the_browser_enforces_the_content_security_policy_and_the_suite_sees_a_breach(
    new_context, live_server
):
    """An injected inline script and style are refused, and CspWatch reports both: so the whole
    browser suite passing with the watch on proves the app needs nothing the policy refuses."""
    context = new_context(base_url=live_server.url)
    watch = CspWatch().attach(context)
    page = context.new_page()
    page.goto("/login")
    with page.expect_console_message(lambda m: m.text.startswith("CSP violation")):
        page.evaluate(
            """() => {
                const s = document.createElement("script");
                s.textContent = "window.inlineRan = true";
                document.head.append(s);
            }"""
        )
    with page.expect_console_message(lambda m: m.text.startswith("CSP violation")):
        page.evaluate("() => document.body.setAttribute('style', 'background: red')")
    assert page.evaluate("() => window.inlineRan") is None
    assert any("script-src" in v for v in watch.violations), watch.violations
    assert any("style-src" in v for v in watch.violations), watch.violations
