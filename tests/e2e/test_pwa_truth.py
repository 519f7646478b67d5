"""The app tells the truth about each stop, as a postman sees it on a 360 px phone.

A finished stop says what happened (delivered and collected; failed and what comes next), not
what is still to do; finished stops are folded away from those left; a refused attempt is not
"all synced" and is said in words; a refused ID card says why; long names wrap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from backend.domain.envelope_qr import sign_envelope_qr
from backend.extensions import db
from tests.e2e.conftest import PHONE, save_screenshot
from tests.e2e.test_pwa_flow import (
    CAMERA_ARGS,
    POSITION,
    card_qr,
    deliver_identified,
    open_app,
    pick,
    record_failure,
    scan,
    stop_item,
    synced,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True),
    pytest.mark.browser_context_args(**PHONE, geolocation=POSITION, permissions=["geolocation"]),
]

USED: set[str] = set()
FINISHED_STATES = {
    "delivered",
    "collected",
    "attempt_failed",
    "held_at_office",
    "returned_to_agency",
}


def update_envelope(live_server, code: str, **values) -> None:
    """Change an envelope (attempts_made…) or its dossier (recipient_name…) before the app loads."""
    from backend.models import Envelope

    with live_server.app.app_context():
        envelope = db.session.execute(db.select(Envelope).filter_by(code=code)).scalar_one()
        for key, value in values.items():
            setattr(envelope if hasattr(envelope, key) else envelope.dossier, key, value)
        db.session.commit()
        db.session.remove()


def open_finished(page: Page) -> None:
    """Unfold the finished stops, as a postman taps "Đã xong (n)"."""
    if page.get_by_test_id("finished").get_attribute("open") is None:
        page.get_by_test_id("finished-toggle").click()
    expect(page.get_by_test_id("finished")).to_have_attribute("open", "")


def deliver(page: Page, stop: dict, key: bytes) -> None:
    """Scan the envelope and the holder's card, sign, photograph, collect the fees, confirm."""
    scan(page, "scan-envelope", sign_envelope_qr(stop["envelope_code"], key))
    expect(page.get_by_test_id("envelope-identified")).to_be_visible()
    deliver_identified(page, stop)


def test_a_delivered_stop_says_delivered_and_collected_not_what_is_left_to_do(
    page: Page, context: BrowserContext, live_server
):
    stops = open_app(page)
    stop = pick(stops, USED, fees_due_vnd=lambda f: f and f > 0)
    fees = f"{stop['fees_due_vnd']:,}".replace(",", ".") + " ₫"
    card = stop_item(page, stop)
    expect(card.get_by_test_id("stop-fees")).to_have_text(f"Cần thu: {fees}")
    expect(card.get_by_test_id("stop-attempt")).to_have_text("Lần phát 1/2")

    context.set_offline(True)  # first as saved on the phone, waiting to sync
    deliver(page, stop, live_server.app.config["QR_SIGNING_KEY"])
    expect(page.get_by_test_id("toast")).to_have_text("Đã lưu trên máy — sẽ đồng bộ khi có mạng.")
    open_finished(page)
    expect(card).to_be_visible()
    expect(card.get_by_test_id("stop-status")).to_have_text("Đã phát · chờ đồng bộ")
    expect(card.get_by_test_id("stop-fees")).to_have_text(f"Đã thu: {fees}")

    context.set_offline(False)
    synced(page, stop, "delivered")
    for where in (card, page.get_by_test_id("screen-stop")):
        if where is not card:
            card.get_by_test_id("stop-open").click()
            expect(where.get_by_test_id("stop-done")).to_have_text("Bưu gửi này đã được phát.")
        expect(where.get_by_test_id("stop-status")).to_have_text("Đã phát")
        expect(where.get_by_test_id("stop-fees")).to_have_text(f"Đã thu: {fees}")
        expect(where).not_to_contain_text("Cần thu")
        expect(where).not_to_contain_text("Lần phát")
        expect(where.get_by_test_id("stop-attempt")).to_have_count(0)
    save_screenshot(page, "truth-delivered-stop")


def test_a_refusal_for_invalid_data_shows_the_servers_words_and_what_to_check(page: Page):
    """A phone whose clock runs a day ahead: the server refuses its attempt as `invalid`."""
    stops = open_app(page)
    stop = pick(stops, USED)
    page.clock.set_fixed_time(datetime.now() + timedelta(days=1))
    record_failure(page, stop, "not_home")
    card = stop_item(page, stop)
    rejected = card.get_by_test_id("stop-rejected")
    expect(rejected).to_be_visible(timeout=15000)
    expect(card.get_by_test_id("stop-status")).to_have_attribute("data-status", "refused")
    expect(rejected.get_by_test_id("rejected-reason")).to_have_text(
        "Máy chủ từ chối lượt phát này: Một số trường chưa hợp lệ."
    )
    expect(rejected.get_by_test_id("rejected-fields")).to_have_text(
        "Cần xem lại: giờ trên điện thoại (hãy chỉnh lại giờ của máy)."
    )
    support = rejected.get_by_test_id("rejected-support")
    expect(support.locator("code").first).to_be_hidden()  # the code is for support, folded
    support.locator("summary").click()
    expect(support.locator("code").first).to_have_text("422 · invalid")
    expect(page.get_by_test_id("sync-status")).not_to_contain_text("Đã đồng bộ hết")
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, "truth-refused-invalid")


def test_a_refusal_for_a_stop_no_longer_on_the_run_can_still_be_decided(page: Page):
    """The sync bar counts it, so the run shows it, with "send again" and "seen, dismiss"."""
    open_app(page)
    page.evaluate(
        """() => fetch('/api/v1/session').then(r => r.json()).then(({user}) =>
        new Promise((resolve, reject) => {
            const open = indexedDB.open("trao");
            open.onsuccess = () => {
                const tx = open.result.transaction("outbox", "readwrite");
                tx.objectStore("outbox").put({
                    attempt_id: "0b7e0c8e-5f0b-4a55-9d54-3d1a3f1f0001", user_id: user.id,
                    stop_id: 999999, envelope_code: "HC999999995VN", outcome: "failed",
                    meta: {reason_code: "not_home"}, files: [], state: "rejected", tries: 0,
                    next_at: 0, created_at: Date.now() - 86400000, rejected_at: Date.now(),
                    error: {status: 404, code: "not_on_your_run", message: "", fields: {}}});
                tx.oncomplete = resolve;
                tx.onerror = () => reject(tx.error);
            };
        }))"""
    )
    page.reload()
    elsewhere = page.get_by_test_id("refused-elsewhere")
    expect(elsewhere).to_be_visible()
    expect(elsewhere).to_contain_text("HC999999995VN")
    expect(elsewhere.get_by_test_id("rejected-reason")).to_contain_text(
        "Bưu gửi không còn thuộc chuyến của bạn"
    )
    expect(page.get_by_test_id("rejected-count")).to_have_attribute("data-count", "1")
    elsewhere.get_by_test_id("rejected-dismiss").click()
    expect(elsewhere).to_be_hidden()
    expect(page.get_by_test_id("sync-status")).to_contain_text("Đã đồng bộ hết")


def test_a_failed_stop_says_what_happens_next_in_a_warning_tone(page: Page, live_server):
    stops = open_app(page)
    first = pick(stops, USED, attempts_made=0)
    last = pick(stops, USED, attempts_made=0)
    # The second stop is on its last home attempt (one of two made on an earlier day).
    update_envelope(live_server, last["envelope_code"], attempts_made=1)
    page.reload()
    expect(stop_item(page, last).get_by_test_id("stop-attempt")).to_have_text("Lần phát 2/2")

    record_failure(page, first, "not_home")
    # Online, the attempt goes at once: the toast does not promise a sync "when online".
    expect(page.get_by_test_id("toast")).to_have_text("Đã lưu trên máy — đang gửi lên máy chủ.")
    record_failure(page, last, "not_home")
    synced(page, first, "failed")
    synced(page, last, "failed")
    open_finished(page)
    expect(stop_item(page, first).get_by_test_id("stop-failure")).to_have_text(
        "Lần phát 1/2 không thành công: Không có người ở nhà"
    )
    expect(stop_item(page, first).get_by_test_id("stop-next")).to_have_text(
        "Còn 1 lần phát tại nhà: bưu gửi sẽ được phát lại."
    )
    expect(stop_item(page, last).get_by_test_id("stop-next")).to_contain_text(
        "Đã hết 2 lần phát tại nhà"
    )
    # A full page rather than scrolling to the card: the list redraws when a sync lands, and
    # a scroll aimed at the old card fails ("not attached to the DOM").
    save_screenshot(page, "truth-failed-stops", full_page=True)

    for stop, next_step in (
        (first, "Còn 1 lần phát tại nhà: bưu gửi sẽ được phát lại."),
        (last, "Đã hết 2 lần phát tại nhà: mang bưu gửi về bưu cục, bưu gửi sẽ được giữ tại đó"),
    ):
        stop_item(page, stop).get_by_test_id("stop-open").click()
        done = page.get_by_test_id("screen-stop").get_by_test_id("stop-done")
        expect(done).to_contain_text("Đã ghi nhận lần phát không thành công.")
        expect(done).to_contain_text(next_step)
        expect(done).not_to_contain_text("chuyến khác")
        expect(done).to_have_attribute("data-tone", "warn")  # not the green of good news
        expect(done).to_have_class("notice notice-warn")
        expect(page.get_by_test_id("screen-stop").get_by_test_id("stop-attempt")).to_have_count(0)
        page.get_by_test_id("back").click()


def test_finished_stops_are_folded_apart_with_their_count_and_search_finds_them(
    page: Page, context: BrowserContext
):
    login_stops = open_app(page)
    data = page.evaluate("fetch('/api/v1/runs/today').then(r => r.json())")
    every = sorted((s for r in data["runs"] for s in r["stops"]), key=lambda s: s["position"])
    finished = [s for s in every if s["state"] in FINISHED_STATES]
    assert finished and login_stops, "the demo run has stops done earlier today and stops left"

    toggle = page.get_by_test_id("finished-toggle")
    expect(toggle).to_have_text(f"Đã xong ({len(finished)})")
    expect(page.get_by_test_id("finished")).not_to_have_attribute("open", "")
    assert toggle.bounding_box()["height"] >= 48
    left = page.get_by_test_id("stops").locator(":scope > li")
    expect(left).to_have_count(len(every) - len(finished))
    codes = [li.get_attribute("data-testid") for li in left.all()]
    assert codes == [
        f"stop-{s['envelope_code']}" for s in every if s not in finished
    ]  # route order
    for stop in finished:
        expect(stop_item(page, stop)).to_be_hidden()
    folded = page.evaluate("document.documentElement.scrollHeight")
    save_screenshot(page, "truth-run-folded", full_page=True)

    toggle.click()
    for stop in finished:
        expect(stop_item(page, stop)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollHeight") > folded + 300 * len(finished)
    toggle.click()
    expect(stop_item(page, finished[0])).to_be_hidden()

    # The search looks through the finished stops too.
    page.get_by_test_id("search").fill(finished[0]["envelope_code"])
    expect(stop_item(page, finished[0])).to_be_visible()
    expect(left).to_have_count(0)
    page.get_by_test_id("search").fill("")
    expect(stop_item(page, finished[0])).to_be_hidden()

    # An attempt waiting to sync finishes the stop, still marked as waiting.
    stop = pick(login_stops, USED)
    context.set_offline(True)
    record_failure(page, stop, "not_home")
    expect(toggle).to_have_text(f"Đã xong ({len(finished) + 1})")
    expect(left).to_have_count(len(every) - len(finished) - 1)
    badge = page.get_by_test_id("stops-finished").get_by_test_id(f"stop-{stop['envelope_code']}")
    expect(badge.get_by_test_id("stop-status")).to_have_text("Không thành công · chờ đồng bộ")
    context.set_offline(False)
    synced(page, stop, "failed")


def test_an_id_card_qr_that_contradicts_itself_is_refused_with_the_reason(page: Page):
    stops = open_app(page)
    stop = pick(stops, USED)
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("deliver").click()
    genuine = card_qr(stop)  # 001 0 90 …: a man born in 1990
    cases = [
        (genuine.replace("001090", "001290", 1), "chữ số thứ 4 (thế kỷ sinh) sai với năm sinh"),
        (genuine.replace("001090", "001190", 1), "Số định danh không khớp giới tính"),
        (genuine.replace("001090", "001091", 1), "hai số cuối của năm sinh"),
        (genuine.replace("001090", "099090", 1), "mã tỉnh không tồn tại"),
        (genuine.replace("|01011990|", "|31021990|", 1), "Ngày sinh trong mã QR không có thật"),
        (genuine.replace("|15042021", "|15042099", 1), "Ngày cấp trong mã QR ở tương lai"),
        (genuine.rsplit("|", 2)[0], "số mục thông tin không đúng"),
    ]
    status = page.get_by_test_id("camera-status")
    for text, reason in cases:
        scan(page, "id-scan", text)
        expect(status).to_contain_text(reason)
        if "thế kỷ" in reason:
            save_screenshot(page, "truth-id-refused")
        page.get_by_test_id("camera-cancel").click()
        expect(page.get_by_test_id("camera")).to_be_hidden()
    expect(page.get_by_test_id("id-result")).to_be_hidden()
    expect(page.get_by_test_id("deliver-missing")).to_contain_text("Kiểm tra giấy tờ")


LONG_NAME = "Nguyễn" + "Thị" * 17 + "Hoa"  # 60 letters, no space


def test_a_60_letter_name_wraps_on_a_360_px_phone(page: Page, live_server):
    assert len(LONG_NAME) == 60
    stops = open_app(page)
    stop = pick(stops, USED, fees_due_vnd=lambda f: f and f > 0)
    update_envelope(live_server, stop["envelope_code"], recipient_name=LONG_NAME)
    page.reload()
    card = stop_item(page, stop)
    expect(card.locator(".stop-name")).to_contain_text(LONG_NAME)
    width = "document.documentElement.scrollWidth"
    assert page.evaluate("window.innerWidth") == 360
    assert page.evaluate(width) <= 360, "run"
    card.scroll_into_view_if_needed()
    save_screenshot(page, "truth-long-name-run")

    card.get_by_test_id("stop-open").click()
    expect(page.get_by_test_id("stop-title")).to_have_text(LONG_NAME)
    assert page.evaluate(width) <= 360, "stop"
    page.get_by_test_id("stop-code-input").fill(stop["envelope_code"])
    page.get_by_test_id("stop-code-submit").click()
    page.get_by_test_id("deliver").click()
    expect(page.get_by_test_id("deliver-title")).to_contain_text(LONG_NAME)
    expect(page.get_by_test_id("expected-name")).to_have_text(LONG_NAME)
    assert page.evaluate(width) <= 360, "deliver"
    save_screenshot(page, "truth-long-name-deliver")
    page.get_by_test_id("deliver-back").click()
    page.get_by_test_id("fail").click()
    expect(page.get_by_test_id("fail-title")).to_contain_text(LONG_NAME)
    assert page.evaluate(width) <= 360, "fail"
