"""The citizen's tracking page on a phone (issue 13): one envelope followed from the citizen's
side through every stage — registered, received, out for delivery, failed, another day asked,
switched to collection and held, collected, receipt downloaded — the stages driven on the
server with the services; at each stage nothing private is on the page. Also without
JavaScript, and the page's weight and requests."""

from __future__ import annotations

import gzip
import os
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend import clock
from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, DeliveryRun, Envelope, RunStop, User
from backend.tracking.links import issue_link
from tests.e2e.conftest import PHONE, register_id_card, serve_demo

pytestmark = pytest.mark.e2e

POSTMAN = "buuta1"
STORY: dict = {}


def seed_citizen(config, office, now):
    """One chip ID card registered by the police this morning, its tracking link made."""
    office.opening_hours = "7:30–17:00, thứ Hai đến thứ Bảy"
    police = db.session.execute(select(Agency).filter_by(code="CA-LS")).scalar_one()
    postman = db.session.execute(select(User).filter_by(username=POSTMAN)).scalar_one()
    dossier, person = register_id_card(
        config, police, "TRACK-0001", day=clock.local_date(now, office.timezone), registered_at=now
    )
    envelope = dossier.envelopes[0]
    STORY.update(
        envelope_id=envelope.id,
        token=issue_link(envelope, key=config.TRACKING_KEY, now=now),
        digits=person.phone[-4:],
        private=[
            person.id_number,
            person.phone,
            person.address_line,
            person.hamlet,
            person.full_name,
            postman.full_name,
            "/proof",
        ],
    )


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-tracking') / 'trao.db'}"
    )
    with serve_demo(url, seed=seed_citizen) as live:
        yield live


def act(live_server, action: Action, attempt: str | None = None, reason: str | None = None):
    """Move the envelope as the office or the postman would (an attempt's record first)."""
    with live_server.app.app_context():
        envelope = db.session.get(Envelope, STORY["envelope_id"])
        office = envelope.dossier.post_office
        postman = db.session.execute(select(User).filter_by(username=POSTMAN)).scalar_one()
        now = clock.now()
        data = {}
        if action is Action.load:
            run = DeliveryRun(
                post_office=office,
                postman=postman,
                run_date=clock.local_date(now, office.timezone),
                created_at=now,
            )
            db.session.add(run)
            db.session.flush()
            db.session.add(RunStop(run_id=run.id, envelope_id=envelope.id, position=1))
        if attempt:
            attempt_id = str(uuid.uuid4())
            db.session.add(
                DeliveryAttempt(
                    id=attempt_id,
                    envelope_id=envelope.id,
                    postman_id=postman.id,
                    attempt_number=envelope.attempts_made + 1,
                    outcome=attempt,
                    reason_code=reason,
                    recipient_name=envelope.dossier.recipient_name if not reason else None,
                    meta_digest="0" * 64,
                    received_at=now,
                    device_time=now,
                )
            )
            db.session.flush()
            data = {"attempt_id": attempt_id, "outcome": attempt, "reason": reason}
        apply_action(envelope, action, now=now, actor=postman, data=data)
        db.session.commit()
        db.session.remove()


def nothing_private(page: Page) -> None:
    html = page.content()
    for private in STORY["private"]:
        assert private not in html, f"{private!r} is on the citizen's page"


@pytest.mark.browser_context_args(**PHONE)
def test_a_citizen_follows_an_envelope_to_its_receipt(page: Page, live_server) -> None:
    url = f"/t/{STORY['token']}"
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    # The first look: two requests (the page and its stylesheet), the stage, and the question.
    assert len(requests) == 2, requests
    expect(page.get_by_test_id("stage")).to_contain_text("đang được chuyển đến bưu cục")
    nothing_private(page)
    page.locator("#digits").fill("0000" if STORY["digits"] != "0000" else "1111")
    page.get_by_role("button", name="Xem chi tiết").click()
    expect(page.get_by_test_id("message")).to_contain_text("Còn 4 lần thử")
    page.locator("#digits").fill(STORY["digits"])
    page.get_by_role("button", name="Xem chi tiết").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Cơ quan đã gửi kết quả")
    nothing_private(page)

    act(live_server, Action.receive)
    page.reload()
    expect(page.get_by_test_id("timeline")).to_contain_text("Bưu cục đã nhận kết quả")
    nothing_private(page)

    act(live_server, Action.load)
    page.reload()
    expect(page.get_by_test_id("window")).to_contain_text("vào buổi sáng")
    expect(page.locator("select#day")).to_have_count(0)  # nothing to ask while on the way
    nothing_private(page)

    act(live_server, Action.fail, attempt="failed", reason="not_home")
    page.reload()
    expect(page.get_by_test_id("timeline")).to_contain_text("không có ai ở nhà")
    expect(page.get_by_test_id("next-step")).to_contain_text("Bưu tá sẽ phát lại từ")
    nothing_private(page)

    page.locator("select#day").select_option(index=1)
    page.get_by_role("button", name="Chọn ngày này").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Phát vào ngày khác")
    expect(page.get_by_test_id("next-step")).to_contain_text("theo yêu cầu của bạn")
    nothing_private(page)

    page.get_by_role("button", name="Tôi sẽ tự đến nhận tại bưu cục").click()
    office = page.get_by_test_id("office")
    expect(office).to_contain_text("7:30–17:00")
    expect(office).to_contain_text("Ngày cuối cùng để nhận")
    expect(page.get_by_test_id("stage")).to_contain_text("đang chờ bạn đến nhận tại bưu cục")
    nothing_private(page)

    act(live_server, Action.collect, attempt="collected")
    page.reload()
    expect(page.get_by_test_id("timeline")).to_contain_text("Người nhận:")
    nothing_private(page)
    with page.expect_download() as download:
        page.get_by_test_id("receipt").click()
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_the_page_works_without_javascript(open_context, live_server) -> None:
    context = open_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    response = page.goto(f"/t/{STORY['token']}")
    html = response.body()
    print(f"\ntracking page: {len(html)} B of HTML, {len(gzip.compress(html))} B gzipped")
    page.locator("#digits").fill(STORY["digits"])
    page.get_by_role("button", name="Xem chi tiết").click()
    expect(page.get_by_test_id("timeline")).to_be_visible()
    nothing_private(page)
