"""After the hold: the police's envelope held for a month goes back on a return hand-over, the
one held since yesterday is refused, and the record is printed for both sides to sign."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import Envelope, Event, Handover
from tests.e2e.conftest import login_as, save_screenshot, scan_desk_ready, serve_demo
from tests.e2e.test_console_counter import AGENCY, PEOPLE, seed_held

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser_context_args(viewport={"width": 1024, "height": 1366}, has_touch=True),
]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-returns') / 'trao.db'}"
    )
    with serve_demo(url, seed=seed_held) as live:
        yield live


def test_an_envelope_goes_back_to_the_agency_after_the_hold(page: Page, live_server):
    overdue, _person = PEOPLE["overdue"]
    recent, _person = PEOPLE["recent"]
    login_as(page, "giamsat")
    page.get_by_test_id("nav-returns").click()
    expect(page.get_by_test_id(f"due-{AGENCY}")).to_contain_text("1")
    page.locator(f"label.choice:has([data-testid=due-{AGENCY}]) input[name=agency_id]").check()
    page.get_by_test_id("officer-name").fill("Lê Văn Cường")
    page.get_by_test_id("start-return-submit").click()

    scan_desk_ready(page)
    field = page.get_by_test_id("scan-code")
    expect(field).to_be_focused()
    # Still within its hold: refused, said so, nothing returned.
    field.type(recent + "\n")
    result = page.get_by_test_id("scan-result")
    expect(result).to_have_attribute("data-outcome", "refused")
    expect(page.get_by_test_id("received-count")).to_have_text("0")
    # Past it: the label's QR, as the scanner types it.
    field.type(sign_envelope_qr(overdue, live_server.app.config["QR_SIGNING_KEY"]) + "\n")
    expect(page.get_by_test_id("received-count")).to_have_text("1")
    expect(result).to_have_attribute("data-outcome", "received")
    expect(page.get_by_test_id("waiting-count")).to_have_text("0")
    expect(page.get_by_test_id("received-list")).to_contain_text(overdue)
    save_screenshot(page, "console-return", full_page=True)

    page.get_by_test_id("finish-handover").click()
    expect(page.get_by_test_id("scan-code")).to_have_count(0)
    response = page.request.get(page.get_by_test_id("handover-record").get_attribute("href"))
    assert response.ok and response.body().startswith(b"%PDF")
    with live_server.app.app_context():
        handover = db.session.scalars(select(Handover).filter_by(kind="return")).one()
        assert handover.finished_at is not None and handover.courier_name == "Lê Văn Cường"
        states = dict(db.session.execute(select(Envelope.code, Envelope._state)).all())
        assert states[overdue] == State.returned_to_agency.value
        assert states[recent] == State.held_at_office.value
        event = db.session.scalars(
            select(Event).where(Event.kind == "envelope.return_to_agency")
        ).one()
        assert event.data["handover_id"] == handover.id
        db.session.remove()
    assert not live_server.errors
