"""Redelivery in the browser (issue 11's "a failed envelope planned again and delivered on a
later day"): yesterday nobody was home for two envelopes. This morning one citizen phones to ask
for tomorrow, which the supervisor records on the envelope's page; the plan shows the other with
yesterday's reason and keeps the first apart for its day; the supervisor puts the other on a
postman's run, the postman delivers it on his phone, and the envelope's page tells both attempts.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend import clock
from backend.demo.seed import demo_person
from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import (
    Agency,
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Envelope,
    RunStop,
    User,
)
from tests.e2e.conftest import PHONE, login_as, register_id_card, serve_demo
from tests.e2e.test_pwa_flow import CAMERA_ARGS, sign, synced, take_photo

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True),
]

POSTMAN = "buuta1"
NOTE = "Gọi ba lần không ai nghe máy"


def seed_yesterday(config, office, now):
    """Two chip ID cards of the police, received two days ago; yesterday both went out on the
    postman's run and nobody was home (the run closed). No run today."""
    today = clock.local_date(now, office.timezone)
    yesterday = now - timedelta(days=1)
    police = db.session.execute(select(Agency).filter_by(code="CA-LS")).scalar_one()
    postman = db.session.execute(select(User).filter_by(username=POSTMAN)).scalar_one()
    supervisor = db.session.execute(select(User).filter_by(username="giamsat")).scalar_one()
    run = DeliveryRun(
        post_office=office,
        postman=postman,
        run_date=today - timedelta(days=1),
        state="closed",
        created_at=yesterday,
        started_at=yesterday,
        closed_at=yesterday,
    )
    db.session.add(run)
    for n in range(2):
        dossier, _person = register_id_card(
            config,
            police,
            f"LAI-{today:%y%m%d}-{n + 1:04d}",
            day=today - timedelta(days=2),
            registered_at=now - timedelta(days=2, hours=2),
        )
        (envelope,) = dossier.envelopes
        apply_action(envelope, Action.receive, now=now - timedelta(days=2), actor=supervisor)
        apply_action(envelope, Action.load, now=yesterday, actor=supervisor)
        stop = RunStop(run=run, envelope=envelope, position=n + 1, visit=n + 1)
        db.session.add(stop)
        db.session.flush()
        apply_action(envelope, Action.fail, now=yesterday, actor=postman)
        db.session.add(
            DeliveryAttempt(
                id=str(uuid.uuid4()),
                envelope_id=envelope.id,
                run_id=run.id,
                stop_id=stop.id,
                postman_id=postman.id,
                attempt_number=1,
                outcome="failed",
                reason_code="not_home",
                note=NOTE,
                meta_digest="0" * 64,
                received_at=yesterday,
            )
        )


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-redelivery') / 'trao.db'}"
    )
    with serve_demo(url, seed=seed_yesterday) as live:
        yield live


def _codes(live_server) -> list[tuple[str, str]]:
    """Each envelope's code and its dossier's (the demo person is the dossier code's)."""
    with live_server.app.app_context():
        codes = db.session.execute(
            select(Envelope.code, Dossier.code)
            .join(Dossier, Dossier.id == Envelope.dossier_id)
            .order_by(Envelope.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in codes]


def test_a_failed_envelope_is_planned_again_and_delivered_on_a_later_day(
    page: Page, open_context, live_server
):
    (again, dossier_code), (asked, _) = _codes(live_server)
    tomorrow = clock.today_in(live_server.app.config["TIMEZONE"]) + timedelta(days=1)

    # 1. A citizen phones: tomorrow, please. The supervisor records it on the envelope's page.
    login_as(page, "giamsat")
    page.goto(f"/console/envelopes/{asked}")
    form = page.get_by_test_id("request-form")
    form.get_by_test_id("request-another-day").check()
    form.get_by_test_id("request-day").fill(tomorrow.isoformat())
    form.locator("textarea[name=note]").fill("Chị gọi điện: mai mới có nhà")
    form.get_by_test_id("request-submit").click()
    expect(page.locator(".flash-success")).to_have_text("Đã ghi nhận: Phát vào ngày khác.")
    expect(page.get_by_test_id("current-request")).to_contain_text("Phát vào ngày khác")
    expect(page.get_by_test_id("current-request")).to_contain_text("mai mới có nhà")
    expect(page.get_by_test_id("timeline").locator("li").last).to_contain_text(
        "Yêu cầu của người dân: Phát vào ngày khác"
    )

    # 2. Today's plan: the other envelope is back in the pool with yesterday's reason; the one
    # asked for tomorrow waits apart.
    page.goto("/console/plan")
    expect(page.get_by_test_id("pool-count")).to_have_text("1")
    row = page.locator(f'#pool-form tr[data-code="{again}"]')
    expect(row).to_contain_text("2")  # its second attempt
    expect(row.get_by_test_id("pool-failure")).to_contain_text(
        f"Lần trước: Không có người ở nhà · {NOTE}"
    )
    later = page.get_by_test_id("pool-later")
    expect(later).to_contain_text("1 bưu gửi chờ đến ngày người dân đã hẹn")
    later.locator("summary").click()
    expect(later.locator(f'li[data-code="{asked}"]')).to_contain_text("hẹn ngày")

    # 3. Planned again: onto the postman's run of the day.
    row.locator(".pool-pick").check()
    page.get_by_test_id("assign-postman").select_option(label="Nông Văn Thắng")
    page.get_by_test_id("assign").click()
    expect(page.get_by_test_id("pool-count")).to_have_text("0")
    expect(page.get_by_test_id(f"run-{POSTMAN}")).to_contain_text(again)

    # 4. The postman delivers it today, on his phone.
    phone = open_context(
        **PHONE,
        geolocation={"latitude": 21.8486, "longitude": 106.7610, "accuracy": 10},
        permissions=["geolocation"],
    )
    app = phone.new_page()
    login_as(app, POSTMAN)
    expect(app).to_have_url(re.compile(r"/app$"))
    served = app.evaluate("fetch('/api/v1/runs/today').then(r => r.json())")
    (run,) = served["runs"]
    (stop,) = run["stops"]
    assert stop["envelope_code"] == again
    location = stop["location"]
    phone.set_geolocation(
        {"latitude": location["lat"], "longitude": location["lon"], "accuracy": 8}
    )
    expect(app.locator("ol.stops > li")).to_have_count(1)
    app.get_by_test_id("code-input").fill(again)
    app.get_by_test_id("code-submit").click()
    app.get_by_test_id("deliver").click()
    app.get_by_test_id("id-manual").click()
    app.get_by_test_id("id-name").fill(stop["recipient"]["name"])
    app.get_by_test_id("id-number").fill(demo_person(dossier_code).id_number)
    expect(app.get_by_test_id("id-result")).to_have_attribute("data-match", "match")
    sign(app)
    take_photo(app)
    app.get_by_test_id("confirm-delivery").click()
    expect(app.get_by_test_id("screen-run")).to_be_visible()
    synced(app, stop, "delivered")

    # 5. The envelope's page: delivered at its second attempt, the first one's failure kept.
    page.goto(f"/console/envelopes/{again}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Đã phát")
    attempts = page.get_by_test_id("attempt")
    expect(attempts).to_have_count(2)
    expect(attempts.first).to_contain_text("Lần phát 1")
    expect(attempts.first).to_contain_text(NOTE)
    expect(attempts.last).to_contain_text("Lần phát 2")
    expect(page.get_by_test_id("request-form")).to_have_count(0)
    with live_server.app.app_context():
        envelope = db.session.scalars(select(Envelope).filter_by(code=again)).one()
        assert envelope.state.value == "delivered" and envelope.attempts_made == 2
        kinds = [
            a.outcome
            for a in db.session.scalars(
                select(DeliveryAttempt)
                .filter_by(envelope_id=envelope.id)
                .order_by(DeliveryAttempt.attempt_number)
            )
        ]
        assert kinds == ["failed", "delivered"]
        db.session.remove()
    assert not live_server.errors
