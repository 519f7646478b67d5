"""A phone that restarts: the log-in lasts, the run and the outbox open offline, and an ended
session only means logging in again before the outbox is sent.

A restart is a persistent Chromium profile closed and opened again on the same folder (what
Android killing the app or the phone rebooting does to cookies, IndexedDB and the service
worker). BROWSER-TESTING.md: a cookie without Expires does not survive it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from backend.auth.services import end_all_sessions
from backend.extensions import db
from backend.models import User
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    CspWatch,
    OffsiteGuard,
    login_as,
    wait_for_js,
)
from tests.e2e.test_pwa_flow import attempt_in_db, record_failure, synced

pytestmark = pytest.mark.e2e

POSITION = {"latitude": 21.862, "longitude": 106.7596, "accuracy": 12}
USED: set[str] = set()


class Phone:
    """One phone's browser profile, which can be switched off and on again."""

    def __init__(self, playwright: Playwright, profile: Path, base_url: str) -> None:
        self.playwright, self.profile, self.base_url = playwright, profile, base_url
        self.context: BrowserContext | None = None
        self.guards: list[OffsiteGuard] = []
        self.csp = CspWatch()

    def switch_on(self, *, offline: bool = False) -> Page:
        self.context = self.playwright.chromium.launch_persistent_context(
            str(self.profile),
            executable_path=CHROMIUM,
            headless=True,
            args=list(CHROMIUM_ARGS),
            base_url=self.base_url,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            geolocation=POSITION,
            permissions=["geolocation"],
            **PHONE,
        )
        guard = OffsiteGuard()
        self.context.route("**/*", guard)
        self.guards.append(guard)
        self.csp.attach(self.context)
        self.context.set_offline(offline)
        return self.context.pages[0] if self.context.pages else self.context.new_page()

    def switch_off(self) -> None:
        """Close the browser the way a restart does: the profile on disk is all that is left."""
        if self.context is not None:
            self.context.close()
            self.context = None

    def session_cookie(self) -> dict | None:
        return next((c for c in self.context.cookies() if c["name"] == "session"), None)


@pytest.fixture
def phone(playwright: Playwright, tmp_path: Path, live_server) -> Iterator[Phone]:
    phone = Phone(playwright, tmp_path / "profile", live_server.url)
    errors_before = len(live_server.errors)
    yield phone
    phone.switch_off()
    blocked = [url for guard in phone.guards for url in guard.blocked]
    assert not blocked, f"The app must never need the internet; it requested: {blocked}"
    assert live_server.errors[errors_before:] == []
    assert not phone.csp.violations, phone.csp.violations


def open_run(page: Page) -> dict:
    """Log in as buuta1, wait for the service worker and the run; return an open stop."""
    login_as(page, "buuta1")
    expect(page).to_have_url(re.compile(r"/app$"))
    wait_for_js(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("ol.stops > li").first).to_be_visible()
    data = page.evaluate("fetch('/api/v1/runs/today').then(r => r.json())")
    for stop in (s for r in data["runs"] for s in r["stops"]):
        if stop["state"] == "out_for_delivery" and stop["envelope_code"] not in USED:
            USED.add(stop["envelope_code"])
            return stop
    raise LookupError("no open stop left")


def failure_waits_offline(phone: Phone, page: Page, stop: dict) -> None:
    phone.context.set_offline(True)
    record_failure(page, stop, "not_home")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")


def reopened_offline_shows_the_run_and_the_pending_attempt(phone: Phone, stop: dict) -> Page:
    page = phone.switch_on(offline=True)
    page.goto("/app")
    expect(page.locator("ol.stops > li").first).to_be_visible()
    expect(page.get_by_test_id("network-state")).to_have_text("Mất mạng")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")
    badge = page.get_by_test_id(f"stop-{stop['envelope_code']}").get_by_test_id("stop-status")
    expect(badge).to_have_attribute("data-pending", "true")
    return page


def test_after_a_restart_the_run_opens_offline_and_syncs_without_a_new_log_in(
    phone: Phone, live_server
):
    page = phone.switch_on()
    stop = open_run(page)
    cookie = phone.session_cookie()
    assert cookie is not None and cookie["expires"] > 0  # it lasts: not a browser-session cookie
    failure_waits_offline(phone, page, stop)
    phone.switch_off()

    page = reopened_offline_shows_the_run_and_the_pending_attempt(phone, stop)
    assert attempt_in_db(live_server, stop["envelope_code"]) is None

    phone.context.set_offline(False)
    synced(page, stop, "failed")
    expect(page).to_have_url(re.compile(r"/app$"))
    expect(page.get_by_test_id("login-again")).to_have_count(0)
    attempt = attempt_in_db(live_server, stop["envelope_code"])
    assert attempt is not None and attempt.reason_code == "not_home"


def test_after_sign_out_everywhere_the_cached_run_opens_and_syncs_after_a_new_log_in(
    phone: Phone, live_server
):
    page = phone.switch_on()
    stop = open_run(page)
    failure_waits_offline(phone, page, stop)
    phone.switch_off()

    with live_server.app.app_context():  # the phone is reported lost; then it is found again
        postman = db.session.execute(db.select(User).filter_by(username="buuta1")).scalar_one()
        assert end_all_sessions(postman) >= 1
        db.session.commit()

    page = reopened_offline_shows_the_run_and_the_pending_attempt(phone, stop)

    phone.context.set_offline(False)
    login = page.get_by_test_id("login-again")
    expect(login).to_be_visible(timeout=15000)
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")
    assert attempt_in_db(live_server, stop["envelope_code"]) is None

    login.click()
    expect(page).to_have_url(re.compile(r"/login\?next=/app$"))
    login_as(page, "buuta1")
    expect(page).to_have_url(re.compile(r"/app$"))
    synced(page, stop, "failed")
    attempt = attempt_in_db(live_server, stop["envelope_code"])
    assert attempt is not None and attempt.reason_code == "not_home"
