"""Doors on the postman's phone (issue 10): the envelopes for one recipient at one address shown
together under one heading; the postman moves a door up the run with no signal, the order holds
across a reload, reaches the server when signal returns, and the supervisor's plan page shows it.
Later, with nothing waiting on the phone, the supervisor's own order is what the phone shows."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from backend import clock
from backend.console.planning import assign_envelopes, set_visit_order, visits_of
from backend.console.services import receive_envelopes
from backend.demo.seed import OFFICE, demo_person
from backend.extensions import db
from backend.models import Agency, DeliveryRun, PostOffice, User
from tests.e2e.conftest import (
    PHONE,
    add_demo_postman,
    login_as,
    register_id_card,
    save_screenshot,
    serve_demo,
    wait_for_js,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(**PHONE)]

POSTMAN = "buutanha"
# Dossier codes; the first two are one recipient at one address: one door, two envelopes.
CODES = ("NHA-0001", "NHA-0002", "NHA-0003", "NHA-0004")


def seed_door_run(app) -> int:
    """A postman of the demo office with a planned run of today: three doors, one of two
    envelopes, planned as the console plans (doors grouped, ordered from the office)."""
    config = app.config["TRAO_CONFIG"]
    with app.app_context():
        now = clock.now()
        office = db.session.execute(select(PostOffice).filter_by(code=OFFICE["code"])).scalar_one()
        supervisor = db.session.execute(select(User).filter_by(username="giamsat")).scalar_one()
        agency = db.session.execute(select(Agency).filter_by(code="CA-LS")).scalar_one()
        postman = add_demo_postman(config, office, POSTMAN, "Vi Văn Nhà", now)
        day = clock.local_date(now, office.timezone)
        envelopes = []
        for code in CODES:
            dossier, _ = register_id_card(
                config,
                agency,
                code,
                day=day,
                registered_at=now - timedelta(hours=20),
                person=demo_person(CODES[0] if code == CODES[1] else code),
            )
            envelopes.append(dossier.envelopes[0])
        receive_envelopes(envelopes, actor=supervisor, now=now - timedelta(hours=18))
        run = assign_envelopes(
            office, postman, day, envelopes, actor=supervisor, now=now - timedelta(hours=1)
        )
        db.session.commit()
        run_id = run.id
        db.session.remove()
    return run_id


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    """The demo, plus a postman whose run of today has a door of two envelopes."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-doors') / 'trao.db'}"
    )
    with serve_demo(url) as live:
        live.run_id = seed_door_run(live.app)
        yield live


def server_doors(live_server) -> list[list[str]]:
    """The run's doors as the database holds them: envelope codes, in order."""
    with live_server.app.app_context():
        run = db.session.get(DeliveryRun, live_server.run_id)
        doors = [[stop.envelope.code for stop in visit.stops] for visit in visits_of(run)]
        db.session.remove()
        return doors


def phone_doors(page: Page) -> list[list[str]]:
    """The doors left on the phone's run list, each as its envelopes' codes, top to bottom."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stops] > li[data-door]')].map(
            (door) => (door.dataset.stopId ? [door] : [...door.querySelectorAll('li[data-stop-id]')])
                .map((card) => card.dataset.testid.replace(/^stop-/, '')))"""
    )


def until(condition, page: Page, timeout_ms: int = 15000) -> None:
    """Wait until `condition()` holds, asking again every 100 ms."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    assert condition()


def test_a_door_is_shown_whole_moved_offline_kept_and_sent(
    page: Page, context: BrowserContext, live_server, open_context
):
    before = server_doors(live_server)
    assert sorted(len(d) for d in before) == [1, 1, 2]
    login_as(page, POSTMAN)
    expect(page).to_have_url(re.compile(r"/app$"))
    wait_for_js(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("[data-testid=stops] > li[data-door]")).to_have_count(3)
    assert phone_doors(page) == before

    # The door of two: the recipient and the address once, each envelope its own card and state.
    two = next(d for d in before if len(d) == 2)
    door = page.locator("[data-testid=stops] > li.door-multi")
    expect(door).to_have_count(1)
    expect(door.get_by_test_id("door-count")).to_have_text("2 bưu gửi tại nhà này")
    expect(door.get_by_test_id("door-address")).to_have_count(1)
    expect(door.get_by_test_id("stop-address")).to_have_count(0)
    for code in two:
        card = door.get_by_test_id(f"stop-{code}")
        expect(card.get_by_test_id("stop-status")).to_have_attribute("data-status", "open")
        expect(card.get_by_test_id("stop-open")).to_be_visible()
    name = door.get_by_test_id("door-name").inner_text()
    assert name.startswith(f"{before.index(two) + 1}. ")
    save_screenshot(page, "pwa-doors", full_page=True)

    # Big targets for a thumb; the first door cannot go up, the last cannot go down.
    doors = page.locator("[data-testid=stops] > li[data-door]")
    for testid in ("door-up", "door-down"):
        box = doors.nth(1).get_by_test_id(testid).bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48, box
    expect(doors.first.get_by_test_id("door-up")).to_be_disabled()
    expect(doors.last.get_by_test_id("door-down")).to_be_disabled()

    # No signal: the door of two goes up one place (down, if it is first).
    i = before.index(two)
    step, j = (-1, i - 1) if i > 0 else (1, i + 1)
    wanted = list(before)
    wanted[i], wanted[j] = wanted[j], wanted[i]
    context.set_offline(True)
    doors.nth(i).get_by_test_id("door-up" if step < 0 else "door-down").click()
    expect(page.get_by_test_id("order-pending")).to_be_visible()
    assert phone_doors(page) == wanted
    expect(
        page.locator("[data-testid=stops] > li.door-multi").get_by_test_id("door-name")
    ).to_have_text(re.compile(rf"^{j + 1}\. "))
    assert server_doors(live_server) == before

    page.reload()  # a dead battery, still no signal: the order holds
    expect(page.locator("[data-testid=stops] > li[data-door]")).to_have_count(3)
    assert phone_doors(page) == wanted
    expect(page.get_by_test_id("order-pending")).to_be_visible()
    assert server_doors(live_server) == before

    # Signal again: the order reaches the server, and nothing waits any more.
    context.set_offline(False)
    expect(page.get_by_test_id("order-pending")).to_be_hidden(timeout=15000)
    assert server_doors(live_server) == wanted
    assert phone_doors(page) == wanted

    # The supervisor's plan page shows the postman's order.
    console = open_context().new_page()
    login_as(console, "giamsat")
    console.goto("/console/plan")
    run = console.locator(f"[data-testid=run-{POSTMAN}]")
    expect(run).to_have_attribute("data-run", str(live_server.run_id))
    visits = run.get_by_test_id("visit")
    expect(visits).to_have_count(3)
    for k, codes in enumerate(wanted):
        expect(visits.nth(k).locator("code")).to_have_text(codes)

    # The supervisor reorders (nothing waits on the phone): the phone takes the server's order.
    with live_server.app.app_context():
        run_row = db.session.get(DeliveryRun, live_server.run_id)
        numbers = [v.number for v in visits_of(run_row)]
        set_visit_order(run_row, list(reversed(numbers)))
        db.session.commit()
        db.session.remove()
    supervisors = list(reversed(wanted))
    assert server_doors(live_server) == supervisors
    page.reload()
    expect(page.locator("[data-testid=stops] > li[data-door]")).to_have_count(3)
    until(lambda: phone_doors(page) == supervisors, page)
    assert phone_doors(page) == supervisors
    expect(page.get_by_test_id("order-pending")).to_be_hidden()
    assert not live_server.errors
