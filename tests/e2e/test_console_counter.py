"""At the counter on a tablet: an envelope held after its two failed attempts is handed to its
holder. The scanner types the label's QR and the ID card's QR; a card of another person is
refused plainly; the holder's card passes, the holder signs on the screen, and the envelope's
history shows the hand-over with its signature."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend import clock
from backend.config import Config
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import Action, State
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, Envelope, Event, PostOffice, ProofFile
from tests.e2e.conftest import login_as, register_id_card, save_screenshot, serve_demo
from tests.e2e.qrcam import write_qr_y4m

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_context_args(viewport={"width": 1024, "height": 1366}, has_touch=True),
]

AGENCY = "CA-LS"
CAMERA = Path(tempfile.gettempdir()) / f"trao-counter-{os.getpid()}.y4m"
write_qr_y4m(CAMERA, "no code yet")
CAMERA_ARGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    f"--use-file-for-fake-video-capture={CAMERA}",
)
PEOPLE: dict[str, object] = {}


def held_after_attempts(envelope: Envelope, held_at: datetime, tz: str) -> None:
    """Through the lifecycle as the office does: received, out twice, failed twice, held."""
    start = held_at - timedelta(days=3)
    steps = [Action.receive, Action.load, Action.fail, Action.load, Action.fail]
    for i, action in enumerate(steps):
        apply_action(envelope, action, now=start + timedelta(hours=i), timezone=tz)
    apply_action(envelope, Action.hold, now=held_at, timezone=tz)


def seed_held(config: Config, office: PostOffice, now: datetime) -> None:
    """Two of the police's ID cards held at the office: one since yesterday, one for a month
    (past its deadline of ten working days)."""
    police = db.session.execute(select(Agency).filter_by(code=AGENCY)).scalar_one()
    day = clock.local_date(now, office.timezone)
    for name, held_days_ago in (("recent", 1), ("camera", 2), ("overdue", 30)):
        held_at = now - timedelta(days=held_days_ago)
        dossier, person = register_id_card(
            config,
            police,
            f"GIU-{name}-{day:%y%m%d}",
            day=day - timedelta(days=held_days_ago + 5),
            registered_at=held_at - timedelta(days=5),
        )
        held_after_attempts(dossier.envelopes[0], held_at, office.timezone)
        PEOPLE[name] = (dossier.envelopes[0].code, person)


def chip_qr(person, name: str | None = None) -> str:
    """The ID card's QR text as a USB scanner types it."""
    return "|".join(
        [
            person.id_number,
            "",
            name or person.full_name,
            f"{person.date_of_birth:%d%m%Y}",
            person.sex,
            "Lạng Sơn",
            f"{person.id_issue_date:%d%m%Y}",
        ]
    )


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-counter') / 'trao.db'}"
    )
    with serve_demo(url, seed=seed_held) as live:
        yield live


def sign(page: Page) -> None:
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 100)
    page.mouse.down()
    for i in range(15):
        page.mouse.move(box["x"] + 40 + i * 20, box["y"] + 100 + (30 if i % 2 else -30))
    page.mouse.up()


def test_a_held_envelope_is_collected_at_the_counter_with_an_id_check(page: Page, live_server):
    code, person = PEOPLE["recent"]
    key = live_server.app.config["QR_SIGNING_KEY"]
    login_as(page, "giamsat")
    page.get_by_test_id("nav-held").click()
    row = page.locator(f"[data-testid=held-table] tr[data-code='{code}']")
    expect(row).to_contain_text(person.full_name)
    expect(page.locator(f"tr[data-code='{PEOPLE['overdue'][0]}']")).to_have_class("overdue")
    page.get_by_test_id("to-counter").click()

    scan = page.get_by_test_id("counter-scan")
    expect(scan).to_be_focused()
    scan.type(sign_envelope_qr(code, key) + "\n")  # the label's QR, as the scanner types it
    expect(page.get_by_test_id("collect-form")).to_be_visible()
    expect(page.get_by_test_id("holder-only")).to_be_visible()

    # Someone else's card: refused, nothing recorded.
    id_field = page.get_by_test_id("id-qr")
    expect(id_field).to_be_focused()
    id_field.type(chip_qr(person, name="Lê Văn Cường") + "\n")
    sign(page)
    page.get_by_test_id("collect-submit").click()
    result = page.get_by_test_id("collect-result")
    expect(result).to_be_visible()
    expect(result).to_have_class("scan-result bad")
    with live_server.app.app_context():
        assert db.session.scalar(select(Envelope._state).filter_by(code=code)) == (
            State.held_at_office.value
        )
        db.session.remove()

    # The holder's own card.
    id_field.fill("")
    id_field.type(chip_qr(person) + "\n")
    expect(page.get_by_test_id("id-qr-read")).to_contain_text(person.id_number[-4:])
    save_screenshot(page, "console-counter", full_page=True)
    page.get_by_test_id("collect-submit").click()
    expect(page.get_by_test_id("collect-done")).to_be_visible()
    expect(page.get_by_test_id("collect-done-message")).to_contain_text(code)

    page.get_by_test_id("collect-done-envelope").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Đã nhận tại bưu cục")
    signature = page.locator(
        "[data-testid=attempt] img[alt='Chữ ký'], [data-testid=attempt] img[alt='Signature']"
    )
    expect(signature).to_have_count(1)
    with live_server.app.app_context():
        envelope = db.session.scalars(select(Envelope).filter_by(code=code)).one()
        assert envelope.state is State.collected
        attempt = db.session.scalars(
            select(DeliveryAttempt).filter_by(envelope_id=envelope.id)
        ).one()
        assert attempt.run_id is None and attempt.outcome == "collected"
        assert attempt.id_last4 == person.id_number[-4:] and attempt.name_match == "exact"
        assert attempt.signature_strokes
        kinds = db.session.scalars(select(ProofFile.kind).filter_by(attempt_id=attempt.id)).all()
        assert kinds == ["signature"]
        collect = db.session.scalars(
            select(Event).filter_by(envelope_id=envelope.id, kind="envelope.collect")
        ).one()
        assert collect.data["attempt_id"] == attempt.id
        db.session.remove()
    assert not live_server.errors


@pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True)
def test_the_tablets_camera_reads_the_label_and_the_id_card(page: Page, live_server):
    code, person = PEOPLE["camera"]
    login_as(page, "giamsat")
    page.get_by_test_id("nav-counter").click()
    write_qr_y4m(CAMERA, sign_envelope_qr(code, live_server.app.config["QR_SIGNING_KEY"]))
    page.get_by_test_id("camera-envelope").click()
    expect(page.get_by_test_id("collect-form")).to_be_visible(timeout=20000)
    expect(page.get_by_test_id("counter-camera")).to_be_hidden()
    write_qr_y4m(CAMERA, chip_qr(person))
    page.get_by_test_id("camera-id").click()
    expect(page.get_by_test_id("id-qr-read")).to_contain_text(person.id_number[-4:], timeout=20000)
    expect(page.get_by_test_id("counter-camera")).to_be_hidden()
    sign(page)
    page.get_by_test_id("collect-submit").click()
    expect(page.get_by_test_id("collect-done-message")).to_contain_text(code)
    with live_server.app.app_context():
        attempt = db.session.scalars(
            select(DeliveryAttempt).join(Envelope).where(Envelope.code == code)
        ).one()
        assert attempt.id_check_method == "chip_qr" and attempt.scan_method == "qr"
        assert attempt.number_match is True
        db.session.remove()
    assert not live_server.errors
