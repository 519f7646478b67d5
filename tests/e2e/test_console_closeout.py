"""A run closed with a cash difference (issue 11, part 5's "done when"): at the end of the demo's
day the supervisor opens a postman's run from the day's page, scans back what was not delivered
(a USB scanner types each label's QR or code and Enter; a delivered envelope is refused aloud),
leaves one envelope unscanned, types less money than the phone recorded, is told the phone still
reported an attempt waiting and confirms, and the record shows the shortfall and the missing
envelope."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend import clock
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import DeliveryRun, Envelope, RunCloseout, RunState, RunStop, User
from tests.e2e.conftest import login_as, save_screenshot, scan_desk_ready

pytestmark = pytest.mark.e2e

POSTMAN = "buuta1"
NOTE = "Anh Tâm nộp thiếu, hẹn nộp bù sáng mai."


def _run_of(live_server, username: str) -> tuple[int, list[str]]:
    """The postman's run of the demo's day and its delivered envelopes' codes; his phone said it
    still holds one attempt."""
    with live_server.app.app_context():
        postman = db.session.execute(select(User).filter_by(username=username)).scalar_one()
        run = db.session.execute(select(DeliveryRun).filter_by(postman_id=postman.id)).scalar_one()
        delivered = db.session.scalars(
            select(Envelope.code)
            .join(RunStop, RunStop.envelope_id == Envelope.id)
            .where(RunStop.run_id == run.id, Envelope._state == State.delivered.value)
        ).all()
        postman.outbox_waiting = 1
        postman.outbox_reported_at = clock.now()
        db.session.commit()
        run_id = run.id
        db.session.remove()
    return run_id, list(delivered)


def test_a_run_closed_with_a_cash_difference(page: Page, live_server):
    run_id, delivered = _run_of(live_server, POSTMAN)
    login_as(page, "giamsat")
    page.get_by_test_id(f"close-run-{run_id}").click()
    expect(page.get_by_test_id("scan-code")).to_be_focused()
    outstanding = page.get_by_test_id("outstanding-list").locator("li")
    codes = outstanding.evaluate_all("items => items.map((li) => li.dataset.code)")
    assert len(codes) >= 2, "the demo's run should have envelopes not delivered"
    expect(page.get_by_test_id("expected-count")).to_have_text(str(len(codes)))

    scan_desk_ready(page)
    field = page.get_by_test_id("scan-code")
    key = live_server.app.config["QR_SIGNING_KEY"]
    # The first by its label's QR, as the scanner types it; the others by their printed codes,
    # all but the last: that one the postman did not hand back.
    field.type(sign_envelope_qr(codes[0], key) + "\n")
    expect(page.get_by_test_id("back-count")).to_have_text("1")
    expect(page.get_by_test_id("scan-result")).to_have_attribute("data-outcome", "back")
    for n, code in enumerate(codes[1:-1], start=2):
        field.type(code + "\n")
        expect(page.get_by_test_id("back-count")).to_have_text(str(n))
    if delivered:
        # A delivered envelope cannot come back: refused, said so, the count stays.
        field.type(delivered[0] + "\n")
        result = page.get_by_test_id("scan-result")
        expect(result).to_have_attribute("data-outcome", "refused")
        expect(result).to_contain_text(delivered[0])
        expect(page.get_by_test_id("back-count")).to_have_text(str(len(codes) - 1))
    expect(page.get_by_test_id("back-list").locator("li")).to_have_count(len(codes) - 1)
    expect(outstanding).to_have_count(1)
    expect(field).to_be_focused()

    # The money: less than the phone recorded (or more, when it recorded nothing).
    expected = int(page.get_by_test_id("expected-vnd").get_attribute("data-vnd"))
    received = expected - 10_000 if expected >= 10_000 else expected + 10_000
    page.get_by_test_id("received-vnd").fill(str(received))
    difference = page.get_by_test_id("difference")
    expect(difference).to_have_attribute("data-difference", str(received - expected))
    expect(difference).to_contain_text("Thiếu" if received < expected else "Thừa")
    page.get_by_test_id("close-note").fill(NOTE)
    expect(page.get_by_test_id("phone-warning")).to_be_visible()
    save_screenshot(page, "console-closeout", full_page=True)

    # Closing without confirming over the phone's waiting attempt is refused, saying why.
    page.get_by_test_id("close-run").click()
    expect(page.get_by_test_id("close-error")).to_have_attribute("data-code", "phone_waiting")
    expect(page.get_by_test_id("received-vnd")).to_have_value(str(received))
    page.get_by_test_id("confirm-waiting").check()
    page.get_by_test_id("close-run").click()

    record = page.get_by_test_id("closeout-record")
    expect(record).to_be_visible()
    expect(page.get_by_test_id("record-difference")).to_have_attribute(
        "data-difference", str(received - expected)
    )
    expect(page.get_by_test_id("record-note")).to_have_text(NOTE)
    expect(page.get_by_test_id("record-scanned-back")).to_have_text(str(len(codes) - 1))
    expect(page.get_by_test_id("record-missing")).to_contain_text(codes[-1])
    expect(page.get_by_test_id("scan-code")).to_have_count(0)
    save_screenshot(page, "console-closeout-record", full_page=True)

    with live_server.app.app_context():
        run = db.session.get(DeliveryRun, run_id)
        assert run.state == RunState.closed.value
        closeout = db.session.scalars(select(RunCloseout).filter_by(run_id=run_id)).one()
        assert closeout.difference_vnd == received - expected
        assert closeout.phone_waiting == 1
        states = dict(
            db.session.execute(
                select(Envelope.code, Envelope._state).where(Envelope.code.in_(codes))
            ).all()
        )
        assert states[codes[-1]] == State.out_for_delivery.value  # missing: still out
        back = {states[c] for c in codes[:-1]}
        assert back <= {"at_office", "attempt_failed", "held_at_office"}
        db.session.remove()
    # The day's page says the run is closed.
    page.goto(f"{live_server.url}/console")
    expect(page.get_by_test_id(f"close-run-{run_id}")).to_contain_text("đóng")
    assert not live_server.errors
