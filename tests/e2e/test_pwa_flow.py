"""The postman's app at the door: scans, identity, proof, failures, offline saving and sync.

The fake camera plays tests/e2e/qrcam.py's one-frame video, rewritten before each scan (Chromium
re-opens it at each getUserMedia).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from backend.domain.codes import make_envelope_code
from backend.domain.envelope_qr import sign_envelope_qr
from backend.extensions import db
from backend.models import DeliveryAttempt
from tests.e2e.conftest import PHONE, login_as, save_screenshot, wait_for_js
from tests.e2e.qrcam import write_qr_y4m

CAMERA = Path(tempfile.gettempdir()) / f"trao-pwa-flow-{os.getpid()}.y4m"
write_qr_y4m(CAMERA, "no code yet")
CAMERA_ARGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    f"--use-file-for-fake-video-capture={CAMERA}",
)
POSITION = {"latitude": 21.862, "longitude": 106.7596, "accuracy": 12}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True),
    pytest.mark.browser_context_args(**PHONE, geolocation=POSITION, permissions=["geolocation"]),
]


def open_app(page: Page) -> list[dict]:
    """Log in as buuta1, wait for the service worker and the run; return the open stops."""
    login_as(page, "buuta1")
    wait_for_js(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("ol.stops > li").first).to_be_visible()
    data = page.evaluate("fetch('/api/v1/runs/today').then(r => r.json())")
    return [s for r in data["runs"] for s in r["stops"] if s["state"] == "out_for_delivery"]


def pick(stops: list[dict], used: set, **want) -> dict:
    """An open stop not used by another test, with the wanted properties."""
    for stop in stops:
        if stop["envelope_code"] in used:
            continue
        if all(stop.get(k) == v if not callable(v) else v(stop.get(k)) for k, v in want.items()):
            used.add(stop["envelope_code"])
            return stop
    raise LookupError(want)


USED: set[str] = set()


def card_qr(stop: dict, name: str | None = None) -> str:
    """A chip ID card QR text for the stop's recipient (a man born in 1990)."""
    name = name or stop["recipient"]["name"]
    return f"00109012{stop['recipient']['id_last4']}||{name.upper()}|01011990|Nam|Lạng Sơn|15042021"


def scan(page: Page, button_testid: str, text: str) -> None:
    write_qr_y4m(CAMERA, text)
    page.get_by_test_id(button_testid).click()


def sign(page: Page) -> None:
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 120)
    page.mouse.down()
    for i in range(15):
        page.mouse.move(box["x"] + 30 + i * 15, box["y"] + 120 + (25 if i % 2 else -25))
    page.mouse.up()


def take_photo(page: Page, testid: str = "photo-take") -> None:
    write_qr_y4m(CAMERA, "the hand-over")
    page.get_by_test_id(testid).click()
    shutter = page.get_by_test_id("camera-shutter")
    expect(shutter).to_be_visible()
    page.wait_for_timeout(300)
    shutter.click()
    expect(page.get_by_test_id("camera")).to_be_hidden()


def stop_item(page: Page, stop: dict):
    return page.get_by_test_id(f"stop-{stop['envelope_code']}")


def synced(page: Page, stop: dict, status: str) -> None:
    """Wait until the stop shows the attempt saved and acknowledged by the server."""
    badge = stop_item(page, stop).get_by_test_id("stop-status")
    expect(badge).to_have_attribute("data-status", status, timeout=15000)
    expect(badge).to_have_attribute("data-pending", "false", timeout=15000)


def attempt_in_db(live_server, code: str) -> DeliveryAttempt | None:
    from backend.models import Envelope

    with live_server.app.app_context():
        envelope = db.session.execute(db.select(Envelope).filter_by(code=code)).scalar_one()
        attempt = (
            db.session.execute(db.select(DeliveryAttempt).filter_by(envelope_id=envelope.id))
            .scalars()
            .first()
        )
        db.session.expunge_all()
        return attempt


def postman_attempts(live_server) -> dict[str, DeliveryAttempt]:
    """buuta1's attempts on the server, by envelope code, with their files and envelopes."""
    from sqlalchemy.orm import selectinload

    from backend.models import User

    with live_server.app.app_context():
        postman = db.session.execute(db.select(User).filter_by(username="buuta1")).scalar_one()
        rows = db.session.execute(
            db.select(DeliveryAttempt)
            .filter_by(postman_id=postman.id)
            .options(selectinload(DeliveryAttempt.files), selectinload(DeliveryAttempt.envelope))
        ).scalars()
        attempts = {a.envelope.code: a for a in rows}
        db.session.expunge_all()
        return attempts


def events_of(live_server, code: str) -> list:
    from backend.models import Envelope, Event

    with live_server.app.app_context():
        envelope = db.session.execute(db.select(Envelope).filter_by(code=code)).scalar_one()
        events = (
            db.session.execute(
                db.select(Event).filter_by(envelope_id=envelope.id).order_by(Event.id)
            )
            .scalars()
            .all()
        )
        db.session.expunge_all()
        return events


def test_a_run_offline_delivery_and_failure_reload_then_sync(
    page: Page, context: BrowserContext, live_server
):
    """The issue's whole story: offline, deliver with scans, signature and photo, record a
    failure, reload (a dead battery), come back online: the server holds exactly those two
    attempts with their files, the dossiers have the proof, the envelopes their states."""
    from backend.storage import get_storage

    stops = open_app(page)
    delivered = pick(stops, USED, representative_allowed=False, fees_due_vnd=lambda f: f and f > 0)
    failed = pick(stops, USED)
    key = live_server.app.config["QR_SIGNING_KEY"]
    before = postman_attempts(live_server)
    save_screenshot(page, "pwa-run")

    context.set_offline(True)
    scan(page, "scan-envelope", sign_envelope_qr(delivered["envelope_code"], key))
    expect(page.get_by_test_id("envelope-identified")).to_be_visible()
    expect(page.get_by_test_id("stop-title")).to_have_text(delivered["recipient"]["name"])
    assert int(page.get_by_test_id("camera").get_attribute("data-decode-ms")) < 5000
    save_screenshot(page, "pwa-stop")
    page.get_by_test_id("deliver").click()
    expect(page.get_by_test_id("relation-representative")).to_be_disabled()
    expect(page.get_by_test_id("holder-only-note")).to_be_visible()
    expect(page.get_by_test_id("confirm-delivery")).to_be_disabled()

    scan(page, "id-scan", card_qr(delivered))
    expect(page.get_by_test_id("id-result")).to_have_attribute("data-match", "match")
    save_screenshot(page, "pwa-identity")
    sign(page)
    take_photo(page)
    expect(page.get_by_test_id("fees")).to_have_value(str(delivered["fees_due_vnd"]))
    expect(page.get_by_test_id("position")).to_have_attribute("data-state", "ok")
    save_screenshot(page, "pwa-proof")
    page.get_by_test_id("confirm-delivery").click()
    expect(page.get_by_test_id("screen-run")).to_be_visible()

    scan(page, "scan-envelope", sign_envelope_qr(failed["envelope_code"], key))
    expect(page.get_by_test_id("envelope-identified")).to_be_visible()
    page.get_by_test_id("fail").click()
    page.get_by_test_id("reason-not_home").check()
    page.get_by_test_id("confirm-failure").click()
    expect(page.get_by_test_id("screen-run")).to_be_visible()

    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "2")
    status = stop_item(page, delivered).get_by_test_id("stop-status")
    expect(status).to_have_attribute("data-pending", "true")
    expect(status).to_have_text("Đã phát · chờ đồng bộ")

    page.reload()  # a dead battery, offline: nothing is lost
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "2")
    for stop in (delivered, failed):
        badge = stop_item(page, stop).get_by_test_id("stop-status")
        expect(badge).to_have_attribute("data-pending", "true")
    assert postman_attempts(live_server).keys() == before.keys()

    context.set_offline(False)
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0", timeout=15000)
    synced(page, delivered, "delivered")
    synced(page, failed, "failed")

    after = postman_attempts(live_server)
    assert after.keys() - before.keys() == {delivered["envelope_code"], failed["envelope_code"]}
    proof = after[delivered["envelope_code"]]
    assert (proof.outcome, proof.scan_method, proof.id_check_method, proof.relation) == (
        "delivered", "qr", "chip_qr", "holder",
    )  # fmt: skip
    assert (proof.name_match, proof.number_match) == ("exact", True)
    assert proof.fees_collected_vnd == delivered["fees_due_vnd"]
    assert proof.latitude and proof.accuracy_m == 12 and proof.distance_m is not None
    assert proof.signature_strokes and proof.device_time is not None
    assert proof.envelope.state.value == "delivered"
    kinds = sorted(f.kind for f in proof.files)
    assert kinds == ["photo", "signature"]
    store = get_storage(live_server.app)
    for f in proof.files:
        assert store.exists(f.sha256)
        with store.open(f.sha256) as data:
            assert hashlib.sha256(data.read()).hexdigest() == f.sha256
    failure = after[failed["envelope_code"]]
    assert (failure.outcome, failure.reason_code, failure.scan_method) == (
        "failed",
        "not_home",
        "qr",
    )
    assert failure.envelope.state.value == "attempt_failed"

    written_back = events_of(live_server, delivered["envelope_code"])[-1]
    assert written_back.kind == "envelope.deliver" and written_back.to_state == "delivered"
    assert written_back.data["attempt_id"] == proof.id
    assert {f["sha256"] for f in written_back.data["files"]} == {f.sha256 for f in proof.files}
    assert events_of(live_server, failed["envelope_code"])[-1].kind == "envelope.fail"


def test_a_failed_attempt_with_a_typed_code_needs_a_note_for_other(page: Page, live_server):
    stops = open_app(page)
    stop = pick(stops, USED)
    code = stop["envelope_code"]
    spaced = f"{code[:2]} {code[2:6]} {code[6:10]} {code[10]} {code[11:]}".lower()
    page.get_by_test_id("code-input").fill(spaced)
    page.get_by_test_id("code-submit").click()
    expect(page.get_by_test_id("envelope-identified")).to_contain_text("nhập mã")
    page.get_by_test_id("fail").click()
    confirm = page.get_by_test_id("confirm-failure")
    expect(confirm).to_be_disabled()
    page.get_by_test_id("reason-other").check()
    expect(confirm).to_be_disabled()
    page.get_by_test_id("fail-note").fill("Chó dữ trong sân, không vào được")
    expect(confirm).to_be_enabled()
    confirm.click()
    synced(page, stop, "failed")
    attempt = attempt_in_db(live_server, code)
    assert attempt is not None
    assert (attempt.outcome, attempt.reason_code, attempt.scan_method) == (
        "failed",
        "other",
        "typed",
    )


def test_wrong_scans_and_codes_are_explained(page: Page, live_server):
    stops = open_app(page)
    stop = stops[0]
    key = live_server.app.config["QR_SIGNING_KEY"]
    status = page.get_by_test_id("camera-status")
    cases = [
        (f"TR1:{stop['envelope_code']}:AAAAAAAAAAAAAAAA", "Nhãn giả hoặc hỏng — không dùng được"),
        (
            sign_envelope_qr(make_envelope_code(77777777), key),
            "Bưu gửi này không thuộc chuyến của bạn",
        ),
        ("https://example.com/", "Đây không phải mã bưu gửi"),
        (card_qr(stop), "thẻ Căn cước"),
    ]
    for text, message in cases:
        scan(page, "scan-envelope", text)
        expect(status).to_contain_text(message)
        save_screenshot(page, "pwa-camera")
        page.get_by_test_id("camera-cancel").click()
        expect(page.get_by_test_id("camera")).to_be_hidden()
    page.get_by_test_id("code-input").fill("HC000000019VN")  # wrong check digit
    page.get_by_test_id("code-submit").click()
    expect(page.get_by_test_id("scan-message")).to_contain_text("sai số kiểm tra")


def test_identity_by_hand_weak_and_mismatch(page: Page):
    stops = open_app(page)
    stop = pick(stops, USED)
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("deliver").click()
    page.get_by_test_id("id-manual").click()
    name, last4 = stop["recipient"]["name"], stop["recipient"]["id_last4"]
    bare = page.evaluate(
        "s => s.normalize('NFD').replace(/\\p{M}/gu, '').replace(/đ/g,'d').replace(/Đ/g,'D')", name
    )
    page.get_by_test_id("id-number").fill(f"00109012{last4}")
    page.get_by_test_id("id-name").fill(bare)
    result = page.get_by_test_id("id-result")
    if bare != name:
        expect(result).to_have_attribute("data-match", "weak")
        expect(result).to_contain_text("Tên khớp nhưng khác dấu")
    page.get_by_test_id("id-name").fill(name)
    expect(result).to_have_attribute("data-match", "match")
    page.get_by_test_id("id-number").fill("001090120000" if last4 != "0000" else "001090121111")
    expect(result).to_have_attribute("data-match", "mismatch")
    sign(page)
    take_photo(page)
    expect(page.get_by_test_id("confirm-delivery")).to_be_disabled()
    expect(page.get_by_test_id("deliver-missing")).to_contain_text("không khớp")


def test_a_holder_with_a_passport_instead_of_the_id_card(page: Page, live_server):
    """A citizen collecting a new ID card often has only a passport: checked on the name alone,
    amber, refused on another name; the server records the passport, not its number."""
    stops = open_app(page)
    stop = pick(stops, USED)
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("deliver").click()
    page.get_by_test_id("id-manual").click()
    expect(page.get_by_test_id("id-doctype-cccd")).to_be_checked()
    passport = page.get_by_test_id("id-doctype-passport")
    box = page.locator("label.choice", has=passport).bounding_box()
    assert box["height"] >= 48
    passport.check()
    page.get_by_test_id("id-name").fill(stop["recipient"]["name"])
    number = page.get_by_test_id("id-number")
    number.fill("001090123456")  # a CCCD number is not a passport number
    expect(page.get_by_test_id("id-number-error")).to_be_visible()
    result = page.get_by_test_id("id-result")
    expect(result).to_be_hidden()
    number.fill("c1234567")
    expect(page.get_by_test_id("id-number-error")).to_be_hidden()
    expect(result).to_have_attribute("data-match", "weak")
    expect(result).to_contain_text("Đã kiểm tra bằng hộ chiếu — số không so được với số định danh")
    page.get_by_test_id("id-name").fill("Lê Văn Cường")
    expect(result).to_have_attribute("data-match", "mismatch")
    page.get_by_test_id("id-name").fill(stop["recipient"]["name"])
    expect(result).to_have_attribute("data-match", "weak")
    sign(page)
    take_photo(page)
    # A passport is at best a weak match: the postman must confirm the person before handing over.
    confirm = page.get_by_test_id("confirm-delivery")
    expect(confirm).to_be_disabled()
    expect(page.get_by_test_id("deliver-missing")).to_contain_text("đánh dấu ô xác nhận")
    page.get_by_test_id("weak-confirm").check()
    expect(confirm).to_be_enabled()
    confirm.click()
    synced(page, stop, "delivered")
    expect(stop_item(page, stop).get_by_test_id("stop-rejected")).to_have_count(0)
    attempt = attempt_in_db(live_server, stop["envelope_code"])
    assert attempt is not None and attempt.id_document_type == "passport"
    assert attempt.id_check_method == "typed" and attempt.number_match is None
    assert attempt.name_match == "exact" and attempt.id_last4 == "4567"
    assert "weak_identity" in attempt.review_flags and attempt.needs_review


def test_a_representative_needs_the_authorisation_photo(page: Page, live_server):
    stops = open_app(page)
    stop = pick(stops, USED, representative_allowed=True)
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("deliver").click()
    page.get_by_test_id("relation-representative").check()
    page.get_by_test_id("id-manual").click()
    page.get_by_test_id("id-name").fill("Trần Văn Bình")
    page.get_by_test_id("id-number").fill("001085004321")
    page.get_by_test_id("rep-relation").fill("con trai")
    expect(page.get_by_test_id("id-result")).to_have_attribute("data-match", "read")
    sign(page)
    take_photo(page)
    expect(page.get_by_test_id("deliver-missing")).to_contain_text("giấy ủy quyền")
    take_photo(page, "auth-photo-take")
    confirm = page.get_by_test_id("confirm-delivery")
    expect(confirm).to_be_enabled()
    confirm.click()
    synced(page, stop, "delivered")
    expect(stop_item(page, stop).get_by_test_id("stop-rejected")).to_have_count(0)
    attempt = attempt_in_db(live_server, stop["envelope_code"])
    assert attempt is not None and attempt.relation == "representative"


def test_an_expired_session_keeps_the_outbox_until_the_postman_logs_in(
    page: Page, context: BrowserContext, live_server
):
    stops = open_app(page)
    stop = pick(stops, USED)
    context.set_offline(True)
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("fail").click()
    page.get_by_test_id("reason-not_home").check()
    page.get_by_test_id("confirm-failure").click()
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")

    context.clear_cookies()  # the session expires while offline
    context.set_offline(False)
    login = page.get_by_test_id("login-again")
    expect(login).to_be_visible(timeout=15000)
    expect(login).to_have_text("Phiên đăng nhập đã hết — đăng nhập lại")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")
    assert attempt_in_db(live_server, stop["envelope_code"]) is None

    login.click()
    expect(page).to_have_url(re.compile(r"/login\?next=/app$"))
    login_as(page, "buuta1")
    synced(page, stop, "failed")
    attempt = attempt_in_db(live_server, stop["envelope_code"])
    assert attempt is not None and attempt.reason_code == "not_home"


def record_failure(page: Page, stop: dict, reason: str) -> None:
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("fail").click()
    page.get_by_test_id(f"reason-{reason}").check()
    page.get_by_test_id("confirm-failure").click()
    expect(page.get_by_test_id("screen-run")).to_be_visible()


def test_an_attempt_the_server_refuses_stays_visible_with_its_reason(page: Page, open_context):
    stops = open_app(page)
    stop = pick(stops, USED)
    other = open_context()  # the marker's phone options apply to every context
    phone_b = other.new_page()
    open_app(phone_b)
    other.set_offline(True)
    record_failure(phone_b, stop, "not_home")  # phone B, offline: waits in its outbox
    record_failure(page, stop, "refused")  # phone A, online: accepted first
    synced(page, stop, "failed")

    other.set_offline(False)
    rejected = stop_item(phone_b, stop).get_by_test_id("stop-rejected")
    expect(rejected).to_be_visible(timeout=15000)
    # Phone B counted its attempt as the envelope's first: phone A's got in first, so B's is
    # out of date (the app sends every attempt's number).
    expect(rejected.get_by_test_id("rejected-reason")).to_have_text(
        "Máy chủ từ chối lượt phát này: Máy khác đã ghi nhận một lượt phát của bưu gửi này trước "
        "lượt này, nên máy chủ không nhận. Hỏi bưu cục xem bưu gửi đang ở đâu, rồi bấm “Đã xem, bỏ qua”."
    )
    # The app has words for this code; the code and the server's English are not in the postman's
    # face, only in the folded details for support.
    for raw in ("attempts changed", "attempt_out_of_date"):
        expect(rejected).not_to_contain_text(raw, use_inner_text=True)
    support = rejected.get_by_test_id("rejected-support")
    expect(support.get_by_text("attempt_out_of_date")).to_be_hidden()
    badge = stop_item(phone_b, stop).get_by_test_id("stop-status")
    expect(badge).to_have_attribute("data-status", "refused")
    expect(badge).to_have_text("Bị từ chối")
    # Nothing waits to be sent, but a refusal waits for the postman: not "all synced".
    bar = phone_b.get_by_test_id("sync-status")
    expect(phone_b.get_by_test_id("rejected-count")).to_have_attribute("data-count", "1")
    expect(phone_b.get_by_test_id("rejected-count")).to_have_text(
        "1 lượt bị từ chối — cần bạn xem lại"
    )
    expect(phone_b.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    expect(bar).not_to_contain_text("Đã đồng bộ hết")
    phone_b.reload()  # still there after a reload
    expect(stop_item(phone_b, stop).get_by_test_id("stop-rejected")).to_be_visible()
    expect(bar).not_to_contain_text("Đã đồng bộ hết")
    stop_item(phone_b, stop).scroll_into_view_if_needed()
    save_screenshot(phone_b, "pwa-rejected")
    support.locator("summary").click()
    expect(support.get_by_text("attempt_out_of_date")).to_be_visible()

    # "Send again": the attempt goes back to the server, which refuses it again.
    card = stop_item(phone_b, stop)
    for testid, label in (("rejected-retry", "Gửi lại"), ("rejected-dismiss", "Đã xem, bỏ qua")):
        button = card.get_by_test_id(testid)
        expect(button).to_have_text(label)
        assert button.bounding_box()["height"] >= 48
    attempt_id = card.get_by_test_id("stop-rejected").get_attribute("data-attempt-id")
    with phone_b.expect_response(
        lambda r: r.url.endswith("/api/v1/attempts") and r.request.method == "POST"
    ) as resent:
        card.get_by_test_id("rejected-retry").click()
    assert resent.value.status == 409
    expect(card.get_by_test_id("stop-rejected")).to_be_visible(timeout=15000)
    expect(phone_b.get_by_test_id("rejected-count")).to_have_attribute("data-count", "1")

    # The stop's screen offers the same two actions; another attempt cannot be made there.
    card.get_by_test_id("stop-open").click()
    screen = phone_b.get_by_test_id("screen-stop")
    note = screen.get_by_test_id("stop-rejected")
    expect(note.get_by_test_id("rejected-retry")).to_be_visible()
    expect(note.get_by_test_id("rejected-dismiss")).to_be_visible()
    expect(screen.get_by_test_id("stop-status")).to_have_text("Bị từ chối")
    expect(screen.get_by_test_id("deliver")).to_be_disabled()
    phone_b.get_by_test_id("back").click()

    # "Seen, dismiss": the note goes, for good; the attempt stays on the phone, never sent. The
    # stop is what the server says (phone A's failure): finished, folded with the others.
    card.get_by_test_id("rejected-dismiss").click()
    expect(card.get_by_test_id("stop-rejected")).to_have_count(0)
    expect(phone_b.get_by_test_id("rejected-count")).to_have_attribute("data-count", "0")
    expect(phone_b.get_by_test_id("rejected-count")).to_be_hidden()
    expect(bar).to_contain_text("Đã đồng bộ hết")
    phone_b.reload()
    expect(card.get_by_test_id("stop-status")).to_have_attribute("data-status", "failed")
    phone_b.get_by_test_id("finished-toggle").click()
    expect(card.get_by_test_id("stop-status")).to_be_visible()
    expect(card.get_by_test_id("stop-rejected")).to_have_count(0)
    expect(phone_b.get_by_test_id("rejected-count")).to_have_attribute("data-count", "0")
    expect(phone_b.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    kept = phone_b.evaluate(
        """id => new Promise((resolve, reject) => {
            const open = indexedDB.open("trao");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
                const get = open.result.transaction("outbox").objectStore("outbox").get(id);
                get.onsuccess = () => resolve(get.result && {state: get.result.state,
                    code: get.result.error && get.result.error.code, files: get.result.files.length});
                get.onerror = () => reject(get.error);
            };
        })""",
        attempt_id,
    )
    assert kept == {"state": "dismissed", "code": "attempt_out_of_date", "files": 0}


def attempts_of(live_server, code: str) -> list[tuple[int, str]]:
    """The envelope's attempts on the server as (number, outcome), in order, and its state."""
    from backend.models import Envelope

    with live_server.app.app_context():
        envelope = db.session.execute(db.select(Envelope).filter_by(code=code)).scalar_one()
        rows = db.session.execute(
            db.select(DeliveryAttempt)
            .filter_by(envelope_id=envelope.id)
            .order_by(DeliveryAttempt.attempt_number)
        ).scalars()
        found = [(a.attempt_number, a.outcome) for a in rows], envelope.state.value
        db.session.expunge_all()
        return found


def counts(page: Page) -> dict[str, str]:
    return {
        k: page.get_by_test_id(f"count-{k}").inner_text() for k in ("delivered", "failed", "left")
    }


def deliver_identified(page: Page, stop: dict) -> None:
    """On the delivery screen: the holder's card scanned, signed, photographed, confirmed."""
    page.get_by_test_id("deliver").click()
    scan(page, "id-scan", card_qr(stop))
    expect(page.get_by_test_id("id-result")).to_have_attribute("data-match", "match")
    sign(page)
    take_photo(page)
    page.get_by_test_id("confirm-delivery").click()
    expect(page.get_by_test_id("screen-run")).to_be_visible()


def test_a_failed_stop_is_tried_again_on_the_run_and_delivered(
    page: Page, context: BrowserContext, live_server
):
    """The citizen calls back: "Phát lại" opens identification again; the delivery is sent as
    the envelope's second attempt, and the stop, the list and the counts say delivered."""
    stops = open_app(page)
    stop = pick(stops, USED, attempts_made=0, attempts_left=2)
    before = counts(page)
    record_failure(page, stop, "not_home")
    synced(page, stop, "failed")
    item = stop_item(page, stop)
    page.get_by_test_id("finished-toggle").click()
    item.get_by_test_id("stop-open").click()
    screen = page.get_by_test_id("screen-stop")
    expect(screen.get_by_test_id("stop-done")).to_contain_text("Còn 1 lần phát tại nhà")
    expect(screen.get_by_test_id("deliver")).to_be_disabled()
    again = screen.get_by_test_id("try-again")
    expect(again).to_have_text("↻ Phát lại")
    # The stop's screen is drawn again when the run comes back from the server after the sync:
    # measure the button once it stands still.
    expect(again).to_be_visible()
    # A big touch target, measured once the stop's screen has settled (it is drawn again as the
    # attempt syncs, and a button caught mid-draw measures 0).
    wait_for_js(
        page,
        "document.querySelector('[data-testid=screen-stop] [data-testid=try-again]')"
        "?.getBoundingClientRect().height >= 56",
        timeout=5000,
    )
    expect(screen).to_contain_text("lần phát 2/2")
    save_screenshot(page, "retry-offered", full_page=True)

    again.click()
    expect(screen.get_by_test_id("retrying")).to_contain_text("Phát lại — lần phát 2/2")
    expect(screen.get_by_test_id("stop-done")).to_have_count(0)
    expect(screen.get_by_test_id("deliver")).to_be_disabled()  # identify the envelope first
    page.get_by_test_id("stop-code-input").fill(stop["envelope_code"])
    page.get_by_test_id("stop-code-submit").click()
    expect(screen.get_by_test_id("envelope-identified")).to_be_visible()
    expect(screen.get_by_test_id("retrying")).to_be_visible()
    save_screenshot(page, "retry-identified", full_page=True)
    context.set_offline(True)  # first as saved on the phone, waiting to sync
    deliver_identified(page, stop)
    badge = item.get_by_test_id("stop-status")
    expect(badge).to_have_text("Đã phát · chờ đồng bộ")
    delivered = int(before["delivered"].split(": ")[1]) + 1
    expect(page.get_by_test_id("count-delivered")).to_have_text(f"Đã phát: {delivered}")
    expect(page.get_by_test_id("count-failed")).to_have_text(before["failed"])
    assert attempts_of(live_server, stop["envelope_code"]) == ([(1, "failed")], "attempt_failed")

    context.set_offline(False)
    synced(page, stop, "delivered")
    assert attempts_of(live_server, stop["envelope_code"]) == (
        [(1, "failed"), (2, "delivered")],
        "delivered",
    )
    expect(page.get_by_test_id("count-delivered")).to_have_text(f"Đã phát: {delivered}")
    expect(page.get_by_test_id("count-failed")).to_have_text(before["failed"])
    page.reload()  # the server's run says the same
    synced(page, stop, "delivered")
    expect(page.get_by_test_id("count-delivered")).to_have_text(f"Đã phát: {delivered}")
    page.get_by_test_id("finished-toggle").click()
    item.get_by_test_id("stop-open").click()
    expect(screen.get_by_test_id("stop-done")).to_have_text("Bưu gửi này đã được phát.")
    expect(screen.get_by_test_id("try-again")).to_have_count(0)


def test_offline_a_failure_and_its_retry_are_sent_in_turn_as_attempts_1_and_2(
    page: Page, context: BrowserContext, live_server
):
    """No signal all along: the retry counts the failure waiting in the outbox."""
    stops = open_app(page)
    stop = pick(stops, USED, attempts_made=0, attempts_left=2)
    context.set_offline(True)
    record_failure(page, stop, "not_home")
    item = stop_item(page, stop)
    expect(item.get_by_test_id("stop-status")).to_have_text("Không thành công · chờ đồng bộ")
    page.get_by_test_id("finished-toggle").click()
    item.get_by_test_id("stop-open").click()
    screen = page.get_by_test_id("screen-stop")
    screen.get_by_test_id("try-again").click()
    expect(screen.get_by_test_id("retrying")).to_contain_text("lần phát 2/2")
    page.get_by_test_id("stop-code-input").fill(stop["envelope_code"])
    page.get_by_test_id("stop-code-submit").click()
    deliver_identified(page, stop)
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "2")
    expect(item.get_by_test_id("stop-status")).to_have_text("Đã phát · chờ đồng bộ")
    context.set_offline(False)
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0", timeout=15000)
    synced(page, stop, "delivered")
    expect(item.get_by_test_id("stop-rejected")).to_have_count(0)
    assert attempts_of(live_server, stop["envelope_code"]) == (
        [(1, "failed"), (2, "delivered")],
        "delivered",
    )


def test_no_try_again_once_the_home_attempts_are_spent(
    page: Page, context: BrowserContext, live_server
):
    from tests.e2e.test_pwa_truth import update_envelope

    stops = open_app(page)
    stop = pick(stops, USED, attempts_made=0)
    update_envelope(live_server, stop["envelope_code"], attempts_made=1)  # one made another day
    page.reload()
    item = stop_item(page, stop)
    expect(item.get_by_test_id("stop-attempt")).to_have_text("Lần phát 2/2")
    context.set_offline(True)
    record_failure(page, stop, "not_home")
    page.get_by_test_id("finished-toggle").click()
    screen = page.get_by_test_id("screen-stop")
    for pending in (True, False):  # waiting to sync, then synced
        if not pending:
            context.set_offline(False)
            synced(page, stop, "failed")
        item.get_by_test_id("stop-open").click()
        expect(screen.get_by_test_id("stop-done")).to_contain_text("Đã hết 2 lần phát tại nhà")
        expect(screen.get_by_test_id("try-again")).to_have_count(0)
        expect(screen.get_by_test_id("deliver")).to_be_disabled()
        page.get_by_test_id("back").click()
    assert attempts_of(live_server, stop["envelope_code"])[0] == [(2, "failed")]


INK_BOX = """c => {
    // The strokes' extent in CSS pixels, from the dark pixels drawn on the canvas.
    const { width, height } = c;
    const data = c.getContext("2d").getImageData(0, 0, width, height).data;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        if (data[i] < 100 && data[i + 1] < 100 && data[i + 2] < 100) {
            x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        }
    }
    const ratio = width / c.offsetWidth;
    return { ratio, width, height, cssWidth: c.offsetWidth, cssHeight: c.offsetHeight,
             ink: [x0, y0, x1, y1].map((v) => v / ratio) };
}"""


@pytest.mark.browser_context_args(
    **{**PHONE, "device_scale_factor": 4}, geolocation=POSITION, permissions=["geolocation"]
)
def test_a_dense_screen_makes_a_signature_the_server_takes(page: Page, live_server):
    """At 4 device pixels per CSS pixel the canvas is drawn at 3 (never over 2400 px a side),
    the strokes land where they were drawn, stay there when the canvas is resized, and the PNG
    is accepted as it was made."""
    from PIL import Image

    from backend.storage import get_storage

    stops = open_app(page)
    assert page.evaluate("devicePixelRatio") == 4
    stop = pick(stops, USED)
    page.get_by_test_id("code-input").fill(stop["envelope_code"])
    page.get_by_test_id("code-submit").click()
    page.get_by_test_id("deliver").click()
    pad = page.get_by_test_id("signature-pad")
    sign(page)  # a zigzag from 30 to 240 px across, 95 to 145 px down the box
    before = pad.evaluate(INK_BOX)
    assert before["width"] == int(before["cssWidth"] * 3) <= 2400
    assert before["height"] == int(before["cssHeight"] * 3) <= 2400
    x0, y0, x1, y1 = before["ink"]
    # (the pad smooths and thins the points: the last few pixels of the zigzag may not be drawn)
    assert abs(x0 - 30) < 8 and 200 < x1 < 248 and abs(y0 - 95) < 8 and abs(y1 - 145) < 8, before

    page.set_viewport_size({"width": 600, "height": 740})  # the phone turned: a wider box
    wait_for_js(
        page, f"document.querySelector('[data-testid=signature-pad]').width !== {before['width']}"
    )
    after = pad.evaluate(INK_BOX)
    assert after["width"] == int(after["cssWidth"] * 3) > before["width"]
    assert all(abs(a - b) < 3 for a, b in zip(after["ink"], before["ink"], strict=True)), (
        before,
        after,
    )

    scan(page, "id-scan", card_qr(stop))
    expect(page.get_by_test_id("id-result")).to_have_attribute("data-match", "match")
    take_photo(page)
    page.get_by_test_id("confirm-delivery").click()
    synced(page, stop, "delivered")
    attempt = postman_attempts(live_server)[stop["envelope_code"]]
    (signature,) = [f for f in attempt.files if f.kind == "signature"]
    with get_storage(live_server.app).open(signature.sha256) as data:
        png = Image.open(data)
        assert png.size == (after["width"], after["height"])
