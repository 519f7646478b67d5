"""The live page tells when each postman's phone was last heard from: a phone that only opened the
app (its run fetched, nothing sent yet) is seen, in words ("… giây trước"), and one never heard
from is called out. The phone's outbox sends its clock with each attempt. Administrators pick the
office on the live and plan pages (the plan keeps its day); supervisors have no picker.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from backend import clock
from backend.console.services import plan_run, receive_envelopes
from backend.domain.review import read_phone_clock
from backend.extensions import db
from backend.models import Role
from tests.conftest import Factory
from tests.e2e.conftest import PHONE, login_as, serve_demo
from tests.e2e.test_pwa_flow import open_app, pick, record_failure

pytestmark = pytest.mark.e2e

OTHER_OFFICE = "Bưu cục Cao Lộc"
OTHER_POSTMAN = "Hà Văn Sơn"
SEEN_IN_WORDS = re.compile(r"\d+ (giây|phút) trước")
UNSEEN = "Không liên lạc được hơn 30 phút"


class SentAtWitness:
    """WSGI middleware noting the X-Trao-Sent-At of each attempt posted to the server."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.seen: list[tuple[str | None, object]] = []

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/api/v1/attempts" and environ["REQUEST_METHOD"] == "POST":
            self.seen.append((environ.get("HTTP_X_TRAO_SENT_AT"), clock.now()))
        return self.wsgi_app(environ, start_response)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The demo with a short poll, plus a second office whose postman's phone never called."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-seen') / 'trao.db'}"
    )
    with serve_demo(url, TRAO_LIVE_POLL_SECONDS=3) as live:
        app = live.app
        with app.app_context():
            make = Factory()
            office = make.office(name=OTHER_OFFICE)
            postman = make.user(Role.postman, post_office=office, full_name=OTHER_POSTMAN)
            supervisor = make.user(Role.supervisor, post_office=office)
            envelope = make.envelope(agency=make.agency(post_office=office))
            now = clock.now()
            receive_envelopes([envelope], actor=supervisor, now=now)
            plan_run(
                office=office,
                postman=postman,
                run_date=clock.local_date(now, office.timezone),
                envelopes=[envelope],
                actor=supervisor,
                now=now,
            )
            db.session.commit()
            live.other_office_id = office.id
            db.session.remove()
        witness = SentAtWitness(app.wsgi_app)
        app.wsgi_app = witness
        live.witness = witness
        yield live


def test_an_administrator_picks_the_office_and_sees_a_postman_never_heard_from(
    page: Page, live_server
):
    login_as(page, "admin")
    page.goto("/console/live")
    picker = page.get_by_test_id("office-select")
    expect(picker.locator("option")).to_have_count(3)  # every office, and the demo's and ours
    picker.select_option(label=OTHER_OFFICE)
    expect(page).to_have_url(re.compile(rf"office={live_server.other_office_id}"))
    expect(page.locator("h1")).to_contain_text(OTHER_OFFICE)
    rows = page.locator("#live-runs tr[data-run]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(OTHER_POSTMAN)
    # Drawn by the page's script from the JSON, once the poll has answered.
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    seen = rows.first.locator('[data-field="last_seen"]')
    expect(seen).to_contain_text("Chưa kết nối lần nào")
    expect(seen.locator('[data-part="unseen"]')).to_have_text(UNSEEN)
    expect(rows.first).to_have_class(re.compile("unseen"))

    # The plan page: the office chosen, the day kept.
    tomorrow = (clock.local_date(clock.now(), "Asia/Ho_Chi_Minh") + timedelta(days=1)).isoformat()
    page.goto(f"/console/plan?date={tomorrow}")
    page.get_by_test_id("office-select").select_option(label=OTHER_OFFICE)
    expect(page).to_have_url(re.compile(rf"office={live_server.other_office_id}"))
    expect(page).to_have_url(re.compile(rf"date={tomorrow}"))
    expect(page.locator("h1")).to_contain_text(OTHER_OFFICE)
    expect(page.get_by_test_id("plan-filters").locator('input[name="date"]')).to_have_value(
        tomorrow
    )


@pytest.mark.browser_context_args(
    **PHONE,
    geolocation={"latitude": 21.862, "longitude": 106.7596, "accuracy": 12},
    permissions=["geolocation"],
)
def test_a_phone_that_opened_the_app_is_seen_and_sends_its_clock(
    page: Page, open_context, live_server
):
    supervisor = open_context()  # the marker's phone options apply to every context
    desk = supervisor.new_page()
    login_as(desk, "giamsat")
    desk.goto("/console/live")
    expect(desk.get_by_test_id("office-select")).to_have_count(0)
    assert desk.goto(f"/console/live?office={live_server.other_office_id}").status == 404
    desk.goto("/console/live")

    stops = open_app(page)  # buuta1's phone: logs in, fetches the run
    row = desk.locator("#live-runs tr[data-run]", has_text="Nông Văn Thắng")
    seen = row.locator('[data-field="last_seen"]')
    expect(seen.locator('[data-part="ago"]')).to_have_text(SEEN_IN_WORDS, timeout=15000)
    expect(seen.locator('[data-part="unseen"]')).to_have_count(0)

    record_failure(page, pick(stops, set()), "not_home")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    header, received = live_server.witness.seen[-1]
    sent_at = read_phone_clock(header or "")
    assert sent_at is not None, header
    assert abs(received - sent_at) < timedelta(seconds=30)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00", header)  # Vietnam's time
