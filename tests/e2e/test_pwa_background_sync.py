"""Sync without the app open: Background Sync keeps its tag while attempts wait, and the service
worker sends the outbox with every page of the app closed (its own session cookie and CSRF token).

The browser's sync event is fired over CDP (`ServiceWorker.dispatchSyncEvent`) from a blank page:
no page of the app is open. BROWSER-TESTING.md: Playwright's offline mode also cuts the worker.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from backend.extensions import db
from backend.models import DeliveryAttempt, Envelope
from tests.e2e.conftest import PHONE, wait_for_js
from tests.e2e.test_pwa_flow import open_app, pick, record_failure, stop_item

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_context_args(
        **PHONE,
        geolocation={"latitude": 21.862, "longitude": 106.7596, "accuracy": 12},
        # Playwright's permissions deny every one not listed: Background Sync among them.
        permissions=["geolocation", "background-sync"],
    ),
]

SYNC_TAG = "trao-outbox"
TAGS = "navigator.serviceWorker.ready.then((r) => r.sync.getTags())"
USED: set[str] = set()


def attempts_by_envelope(live_server, codes: list[str]) -> dict[str, int]:
    """How many attempts the server holds for each envelope."""
    with live_server.app.app_context():
        rows = db.session.execute(
            db.select(Envelope.code, db.func.count(DeliveryAttempt.id))
            .join(DeliveryAttempt, DeliveryAttempt.envelope_id == Envelope.id, isouter=True)
            .where(Envelope.code.in_(codes))
            .group_by(Envelope.code)
        ).all()
        db.session.remove()
    return {code: n for code, n in rows}


def sync_registration_id(context: BrowserContext, origin: str) -> tuple[Page, object, str]:
    """A blank page (not the app's) with a CDP session that knows the worker's registration."""
    blank = context.new_page()
    cdp = context.new_cdp_session(blank)
    registrations: dict[str, str] = {}

    def updated(event: dict) -> None:
        for reg in event["registrations"]:
            if not reg["isDeleted"]:
                registrations[reg["scopeURL"]] = reg["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while f"{origin}/" not in registrations:
        assert time.monotonic() < deadline, f"no service worker registration: {registrations}"
        blank.wait_for_timeout(100)
    return blank, cdp, registrations[f"{origin}/"]


def test_with_the_app_closed_the_worker_sends_the_outbox_when_signal_returns(
    page: Page, context: BrowserContext, live_server
):
    stops = open_app(page)
    queued = [pick(stops, USED) for _ in range(3)]
    codes = [s["envelope_code"] for s in queued]

    context.set_offline(True)
    for stop in queued:
        record_failure(page, stop, "not_home")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "3")
    assert SYNC_TAG in page.evaluate(TAGS)
    assert set(attempts_by_envelope(live_server, codes).values()) == {0}

    blank, cdp, registration_id = sync_registration_id(context, live_server.url)
    page.close()  # the postman closes the app; the blank page is not one of the app's
    context.set_offline(False)  # the valley ends: signal again
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {"origin": live_server.url, "registrationId": registration_id, "tag": SYNC_TAG,
         "lastChance": False},
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while set(attempts_by_envelope(live_server, codes).values()) != {1}:
        assert time.monotonic() < deadline, attempts_by_envelope(live_server, codes)
        blank.wait_for_timeout(200)
    blank.wait_for_timeout(500)  # a second send would show now: the server holds each once
    assert attempts_by_envelope(live_server, codes) == {code: 1 for code in codes}

    # Opened again without signal, the app shows what the worker sent as done, nothing waiting.
    context.set_offline(True)
    app = context.new_page()
    app.goto("/app")
    expect(app.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    for stop in queued:
        badge = stop_item(app, stop).get_by_test_id("stop-status")
        expect(badge).to_have_attribute("data-status", "failed")
        expect(badge).to_have_attribute("data-pending", "false")
    blank.close()


def test_the_tag_stays_while_the_outbox_cannot_be_sent(
    page: Page, context: BrowserContext, live_server
):
    """The phone shows signal bars but nothing gets through: the browser believes it is online,
    fires the sync event at once, the flush fails, and the tag must stay for a later try."""
    stops = open_app(page)
    stop = pick(stops, USED)
    tries: list[str] = []

    def no_data(route: Route) -> None:
        tries.append(route.request.url)
        route.abort("internetdisconnected")

    context.route("**/api/v1/session", no_data)
    context.route("**/api/v1/attempts", no_data)
    record_failure(page, stop, "refused")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")

    # The app's own try, then the one the sync event asked for: both failed.
    wait_for_js(page, f"{TAGS}.then((tags) => tags.includes('{SYNC_TAG}'))")
    deadline = time.monotonic() + 15
    while len(tries) < 2:
        assert time.monotonic() < deadline, tries
        page.wait_for_timeout(100)
    for _ in range(15):  # the tag was gone within a second when the event resolved anyway
        assert SYNC_TAG in page.evaluate(TAGS)
        page.wait_for_timeout(100)
    assert attempts_by_envelope(live_server, [stop["envelope_code"]]) == {stop["envelope_code"]: 0}


# --- Storage the browser may throw away ------------------------------------------------------

# A phone with 70 MB left for the app (estimate() stubbed), and a record of persist() calls;
# headless Chromium answers persist() with false, as a browser tab on a phone may.
NEARLY_FULL = """
    (() => {
      const MB = 1024 * 1024;
      window.__persistAsked = 0;
      const persist = StorageManager.prototype.persist;
      StorageManager.prototype.persist = function () {
        window.__persistAsked += 1;
        return persist.call(this);
      };
      StorageManager.prototype.estimate = async () => ({ usage: 4930 * MB, quota: 5000 * MB });
    })();
"""


def test_the_app_asks_to_keep_its_data_and_warns_before_the_phone_is_full(
    page: Page, context: BrowserContext
):
    context.add_init_script(NEARLY_FULL)
    stops = open_app(page)
    notice = page.get_by_test_id("storage-status")
    # Not installed, nothing queued: not asked yet, but the phone is already short of room.
    expect(notice.get_by_test_id("storage-low-space")).to_have_text(
        "Máy sắp hết bộ nhớ: chỉ còn khoảng 70 MB, đủ cho khoảng 200 lượt phát nữa. "
        "Hãy xoá bớt ảnh, video hoặc ứng dụng không cần trong máy."
    )
    expect(notice).to_have_attribute("data-persistence", "unknown")
    assert page.evaluate("window.__persistAsked") == 0

    context.set_offline(True)
    queued = [pick(stops, USED) for _ in range(2)]
    for stop in queued:
        record_failure(page, stop, "not_home")
    # The first attempt queued is when the app asks; the browser refused: say what to do.
    expect(notice).to_have_attribute("data-persistence", "refused")
    assert page.evaluate("window.__persistAsked") == 1
    expect(notice.get_by_test_id("storage-not-kept")).to_contain_text(
        "“Thêm vào màn hình chính” (hoặc “Cài đặt ứng dụng”)"
    )
    expect(notice).to_have_attribute("data-pending", "2")
    expect(notice.get_by_test_id("storage-low-space")).to_contain_text(
        "Còn 2 lượt phát chưa gửi: hãy đến chỗ có sóng để gửi"
    )

    context.set_offline(False)  # sent: the warning no longer counts waiting attempts
    expect(notice).to_have_attribute("data-pending", "0", timeout=15000)
    expect(notice.get_by_test_id("storage-low-space")).not_to_contain_text("chưa gửi")
