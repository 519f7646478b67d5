"""A supervisor receives an agency's envelopes at the counter, as with a USB scanner: each code
typed and Enter, the count running without a reload, a refusal said plainly, the record."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import Agency, Dossier, Envelope
from tests.e2e.conftest import login_as, save_screenshot, scan_desk_ready

pytestmark = pytest.mark.e2e


def _announced(live_server) -> tuple[str, list[str]]:
    """The agency with the most envelopes announced and not yet at the office, and their codes."""
    with live_server.app.app_context():
        rows = db.session.execute(
            select(Agency.code, Envelope.code)
            .join(Dossier, Dossier.agency_id == Agency.id)
            .join(Envelope, Envelope.dossier_id == Dossier.id)
            .where(Envelope._state == State.registered.value)
            .order_by(Envelope.id)
        ).all()
        db.session.remove()
    by_agency: dict[str, list[str]] = {}
    for agency, code in rows:
        by_agency.setdefault(agency, []).append(code)
    agency = max(by_agency, key=lambda a: len(by_agency[a]))
    return agency, by_agency[agency]


def test_a_supervisor_receives_a_batch_with_one_refused(page: Page, live_server):
    agency, codes = _announced(live_server)
    assert len(codes) >= 2
    login_as(page, "giamsat")
    page.get_by_test_id("nav-receive").click()
    expect(page.get_by_test_id(f"announced-{agency}")).to_contain_text(str(len(codes)))
    page.locator(
        f"label.choice:has([data-testid=announced-{agency}]) input[name=agency_id]"
    ).check()
    page.fill("#courier_name", "Lê Văn Cường")
    page.get_by_role("button", name="Bắt đầu nhận").click()

    scan_desk_ready(page)
    field = page.get_by_test_id("scan-code")
    expect(field).to_be_focused()
    key = live_server.app.config["QR_SIGNING_KEY"]
    # The first label's QR, as the scanner types it; the second by its printed code.
    field.type(sign_envelope_qr(codes[0], key) + "\n")
    expect(page.get_by_test_id("received-count")).to_have_text("1")
    expect(page.get_by_test_id("scan-result")).to_have_attribute("data-outcome", "received")
    field.type(codes[1] + "\n")
    expect(page.get_by_test_id("received-count")).to_have_text("2")
    # Scanned twice: refused, said so, and the count stays.
    field.type(codes[1] + "\n")
    result = page.get_by_test_id("scan-result")
    expect(result).to_have_attribute("data-outcome", "refused")
    expect(result).to_contain_text("đã được nhận rồi")
    expect(page.get_by_test_id("received-count")).to_have_text("2")
    expect(page.get_by_test_id("received-list").locator("li")).to_have_count(2)
    expect(field).to_be_focused()  # ready for the next envelope
    save_screenshot(page, "console-receive", full_page=True)

    page.get_by_test_id("finish-handover").click()
    expect(page.get_by_test_id("scan-code")).to_have_count(0)
    response = page.request.get(page.get_by_test_id("handover-record").get_attribute("href"))
    assert response.ok and response.body().startswith(b"%PDF")
    with live_server.app.app_context():
        states = db.session.scalars(select(Envelope._state).where(Envelope.code.in_(codes[:2])))
        assert set(states) == {State.at_office.value}
        db.session.remove()
    assert not live_server.errors
