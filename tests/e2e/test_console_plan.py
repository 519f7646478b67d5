"""A supervisor plans two runs from the pool (split automatically), moves a stop by hand, and
the postman's phone gets the run in that order."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend import clock
from backend.console.services import receive_envelopes
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import Envelope, User
from tests.e2e.conftest import login_as, save_screenshot, wait_for_js

pytestmark = pytest.mark.e2e


def _fill_the_pool(live_server) -> None:
    """Receive what the agencies announced, so the pool holds enough for two runs."""
    with live_server.app.app_context():
        registered = db.session.scalars(
            select(Envelope).where(Envelope._state == State.registered.value)
        ).all()
        supervisor = db.session.scalars(select(User).where(User.username == "giamsat")).one()
        receive_envelopes(registered, actor=supervisor, now=clock.now())
        db.session.commit()
        db.session.remove()


def test_a_supervisor_plans_two_runs_and_the_phone_gets_them(page: Page, live_server, open_context):
    _fill_the_pool(live_server)
    login_as(page, "giamsat")
    page.get_by_test_id("nav-plan").click()
    wait_for_js(page, "document.getElementById('plan-map')?.dataset.ready === '1'")
    waiting = int(page.get_by_test_id("pool-count").inner_text())
    assert waiting >= 4
    # The first dozen waiting, shared evenly between two postmen (no capacity given).
    page.get_by_test_id("pool-all").check()
    page.get_by_test_id("pool-all").uncheck()
    picks = page.locator(".pool-pick")
    for i in range(min(12, picks.count())):
        picks.nth(i).check()
    page.get_by_test_id("split-postman-buuta1").uncheck()
    page.get_by_test_id("split").click()
    expect(page.locator(".flash-info")).to_be_visible()
    expect(page.get_by_test_id("pool-count")).to_have_text(str(waiting - min(12, waiting)))
    runs = {
        name: page.locator(f"[data-testid=run-{name}]:has([data-testid=up])")
        for name in ("buuta2", "buuta3")
    }
    for run in runs.values():
        expect(run).to_have_count(1)
        expect(run.get_by_test_id("run-km")).not_to_have_text("0.0")
    mine = runs["buuta2"] if runs["buuta2"].get_by_test_id("visit").count() > 1 else runs["buuta3"]
    postman = "buuta2" if mine is runs["buuta2"] else "buuta3"
    before = [v.inner_text() for v in mine.locator("code").all()]
    first_visit = mine.get_by_test_id("visit").first.inner_text()
    mine.get_by_test_id("down").first.click()
    expect(page.locator(".flash-info")).to_be_visible()
    mine = page.locator(f"[data-testid=run-{postman}]:has([data-testid=up])")
    expect(mine.get_by_test_id("visit").nth(1)).to_have_text(first_visit)
    after = [v.inner_text() for v in mine.locator("code").all()]
    assert sorted(after) == sorted(before) and after != before
    save_screenshot(page, "console-plan", full_page=True)

    # The postman's phone: the planned run, in the supervisor's order.
    phone = open_context()
    phone_page = phone.new_page()
    login_as(phone_page, postman)
    today = phone_page.request.get("/api/v1/runs/today").json()
    run_id = int(mine.get_attribute("data-run"))
    (served,) = [r for r in today["runs"] if r["id"] == run_id]
    assert [s["envelope_code"] for s in served["stops"]] == after
    assert not live_server.errors
