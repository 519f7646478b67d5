"""Planning runs: the pool and its filters, runs made by hand, at the counter or by splitting the
pool, one stop per door, the order from the office, and a started run that refuses changes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.console import planning
from backend.console.services import receive_envelopes
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import Action, State
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import DeliveryRun, Envelope, Event, Role, RunState, RunStop
from tests.conftest import NOW, login

JSON = {"Accept": "application/json"}
TODAY = date(2026, 11, 23)  # NOW in Lạng Sơn
# Doors around the office (21.8486, 106.7610), a few hundred metres apart.
SPOTS = [
    (21.8486 + 0.004 * ((i * 7) % 5 - 2), 106.7610 + 0.004 * ((i * 3) % 7 - 3)) for i in range(12)
]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


@pytest.fixture
def office_day(app, client, factory):
    """An office with its supervisor (logged in), three postmen and six envelopes waiting."""
    office = factory.office()
    agency = factory.agency(post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    postmen = [
        factory.user(Role.postman, post_office=office, full_name=name)
        for name in ("Nông Văn Thắng", "Lương Thị Hạnh", "Vi Đức Mạnh")
    ]
    envelopes = [
        factory.envelope(
            agency=agency,
            recipient_name=f"Người nhận {i}",
            address_line=f"Số {i + 1}, đường Lê Lợi",
            latitude=SPOTS[i][0],
            longitude=SPOTS[i][1],
        )
        for i in range(6)
    ]
    receive_envelopes(envelopes, actor=supervisor, now=NOW)
    db.session.commit()
    login(client, supervisor)
    return {
        "office": office,
        "agency": agency,
        "supervisor": supervisor,
        "postmen": postmen,
        "envelopes": envelopes,
    }


def post(client, url, data, json=True):
    return client.post(url, data={"date": TODAY.isoformat(), **data}, headers=JSON if json else {})


def assign(client, postman, envelopes):
    return post(
        client,
        "/console/plan/assign",
        {"postman_id": postman.id, "envelope_id": [e.id for e in envelopes]},
    )


def runs_of(office) -> list[DeliveryRun]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(DeliveryRun)
            .where(DeliveryRun.post_office_id == office.id)
            .order_by(DeliveryRun.id)
        )
    )


def codes_in_order(run) -> list[str]:
    return [s.envelope.code for s in sorted(run.stops, key=lambda s: s.position)]


def snapshot(office) -> list:
    """Every envelope's state and every stop of the office: what a refusal must leave alone."""
    db.session.expire_all()
    states = db.session.execute(
        db.select(Envelope.code, Envelope._state, Envelope.attempts_made).order_by(Envelope.id)
    ).all()
    stops = db.session.execute(
        db.select(RunStop.run_id, RunStop.envelope_id, RunStop.position, RunStop.visit).order_by(
            RunStop.id
        )
    ).all()
    runs = db.session.execute(db.select(DeliveryRun.id, DeliveryRun.state)).all()
    events = db.session.scalar(db.select(db.func.count(Event.id)))
    return [states, stops, runs, events]


# --- The pool ------------------------------------------------------------------------------


def test_the_pool_is_what_waits_at_the_office_and_may_go_out(client, factory, office_day):
    agency = office_day["agency"]
    supervisor = office_day["supervisor"]
    far = factory.envelope(
        agency=agency,
        commune_code=6001,
        commune_name="Xã Mai Pha",
        result_type="land_certificate",
        promised_date=date(2026, 11, 30),
    )
    failed_once, failed_twice, held, not_here = (factory.envelope(agency=agency) for _ in range(4))
    receive_envelopes([far, failed_once, failed_twice, held], actor=supervisor, now=NOW)
    for envelope, fails in ((failed_once, 1), (failed_twice, 2)):
        for _ in range(fails):
            apply_action(envelope, Action.load, now=NOW, actor=supervisor)
            apply_action(envelope, Action.fail, now=NOW, actor=supervisor)
    apply_action(held, Action.hold, now=NOW, actor=supervisor)
    db.session.commit()

    def listed(query=""):
        page = client.get(f"/console/plan?{query}").get_data(as_text=True)
        return {e.code for e in (far, failed_once, failed_twice, held, not_here) if e.code in page}

    # A second failure spent the attempts (the envelope is held, not sent out); held and
    # not-yet-received envelopes are not in the pool.
    assert listed() == {far.code, failed_once.code}
    assert listed("commune=6001") == {far.code}
    assert listed("result_type=land_certificate") == {far.code}
    assert listed("attempt=2") == {failed_once.code}
    assert listed("promised_by=2026-11-24") == {failed_once.code}
    page = client.get("/console/plan?commune=6001").get_data(as_text=True)
    assert office_day["envelopes"][0].code not in page
    assert 'id="plan-map"' in page and "plan-data" in page


# --- Runs by hand ---------------------------------------------------------------------------


def test_assigning_by_hand_loads_each_envelope_onto_the_postmans_run(client, office_day):
    postman, envelopes = office_day["postmen"][0], office_day["envelopes"][:3]
    answer = assign(client, postman, envelopes)
    assert answer.status_code == 200, answer.json
    (run,) = runs_of(office_day["office"])
    assert run.postman_id == postman.id and run.run_date == TODAY
    assert run.state == RunState.planned.value
    assert sorted(codes_in_order(run)) == sorted(e.code for e in envelopes)
    assert all(e.state is State.out_for_delivery for e in envelopes)
    loads = db.session.scalars(db.select(Event).where(Event.kind == "envelope.load")).all()
    assert {e.envelope_id for e in loads} == {e.id for e in envelopes}
    assert all(e.data["run_id"] == run.id and e.data["postman_id"] == postman.id for e in loads)
    # More for the same postman join the same run.
    assert assign(client, postman, office_day["envelopes"][3:4]).status_code == 200
    (run,) = runs_of(office_day["office"])
    assert len(run.stops) == 4


def test_an_envelope_on_a_run_cannot_be_assigned_again(client, office_day):
    first, second = office_day["postmen"][:2]
    envelope = office_day["envelopes"][0]
    assert assign(client, first, [envelope]).status_code == 200
    before = snapshot(office_day["office"])
    answer = assign(client, second, [envelope])
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "not_waiting"
    assert first.full_name in answer.json["error"]["message"]
    assert snapshot(office_day["office"]) == before


def test_unassigning_puts_envelopes_back_and_an_emptied_run_goes(client, office_day):
    postman = office_day["postmen"][0]
    envelopes = office_day["envelopes"][:2]
    assign(client, postman, envelopes)
    (run,) = runs_of(office_day["office"])
    answer = post(
        client, f"/console/plan/runs/{run.id}/unassign", {"envelope_id": [envelopes[0].id]}
    )
    assert answer.status_code == 200
    (run,) = runs_of(office_day["office"])
    assert codes_in_order(run) == [envelopes[1].code]
    assert [s.position for s in run.stops] == [1] and [s.visit for s in run.stops] == [1]
    assert envelopes[0].state is State.at_office
    unload = db.session.scalars(
        db.select(Event).where(
            Event.kind == "envelope.unload", Event.envelope_id == envelopes[0].id
        )
    ).one()
    assert unload.data["run_id"] == run.id
    post(client, f"/console/plan/runs/{run.id}/unassign", {"envelope_id": [envelopes[1].id]})
    assert runs_of(office_day["office"]) == []


def test_moving_envelopes_between_runs(client, office_day):
    first, second = office_day["postmen"][:2]
    envelopes = office_day["envelopes"]
    assign(client, first, envelopes[:3])
    assign(client, second, envelopes[3:5])
    run_a, run_b = runs_of(office_day["office"])
    answer = post(
        client,
        f"/console/plan/runs/{run_a.id}/move",
        {"postman_id": second.id, "envelope_id": [envelopes[0].id, envelopes[1].id]},
    )
    assert answer.status_code == 200, answer.json
    run_a, run_b = runs_of(office_day["office"])
    assert codes_in_order(run_a) == [envelopes[2].code]
    assert sorted(codes_in_order(run_b)) == sorted(e.code for e in envelopes[:2] + envelopes[3:5])
    assert sorted(s.position for s in run_b.stops) == [1, 2, 3, 4]
    kinds = db.session.scalars(
        db.select(Event.kind).where(Event.envelope_id == envelopes[0].id).order_by(Event.id)
    ).all()
    assert kinds[-3:] == ["envelope.load", "envelope.unload", "envelope.load"]


# --- One stop per door ----------------------------------------------------------------------


def test_the_same_recipient_at_the_same_address_is_one_stop(client, factory, office_day):
    office, agency = office_day["office"], office_day["agency"]
    door = {
        "address_line": "Số 9, ngõ 4 Lê Lợi",
        "hamlet": "Tổ dân phố 3",
        "latitude": 21.85,
        "longitude": 106.765,
    }
    # Typed differently by two agencies' clerks, and a dossier with two envelopes.
    one = factory.envelope(agency=agency, recipient_name="Hoàng Văn Hùng", **door)
    two = factory.envelope(
        agency=agency,
        recipient_name="HOÀNG  VĂN HÙNG",
        **{**door, "address_line": "số 9, ngõ 4 lê lợi"},
    )
    pair = factory.dossier(agency=agency, envelopes=2, recipient_name="Hoàng Văn Hùng", **door)
    neighbour = factory.envelope(agency=agency, recipient_name="Hoàng Thị Lan", **door)
    together = [one, two, *pair.envelopes]
    receive_envelopes([*together, neighbour], actor=office_day["supervisor"], now=NOW)
    db.session.commit()
    postman = office_day["postmen"][0]
    others = office_day["envelopes"][:2]
    assert (
        assign(
            client, postman, [others[0], one, neighbour, others[1], two, *pair.envelopes]
        ).status_code
        == 200
    )
    (run,) = runs_of(office)
    visits = {}
    for stop in sorted(run.stops, key=lambda s: s.position):
        visits.setdefault(stop.visit, []).append(stop.envelope.code)
    assert sorted(map(sorted, visits.values())) == sorted(
        [sorted(e.code for e in together), [neighbour.code], [others[0].code], [others[1].code]]
    )
    # A visit's envelopes are side by side in the run, and the phone is told they are one door.
    positions = [s.position for s in run.stops if s.envelope_id in {e.id for e in together}]
    assert max(positions) - min(positions) == 3
    page = client.get(f"/console/plan?date={TODAY}").get_data(as_text=True)
    assert "4 stops, 7 envelopes" in page or "4 điểm" in page


# --- Order, by solver and by hand ----------------------------------------------------------


def test_runs_are_ordered_from_the_office_with_order_stops(client, office_day, monkeypatch):
    calls = []
    real = planning.order_stops

    def spy(depot, points, **kw):
        calls.append((depot, list(points)))
        return list(reversed(real(depot, points, **kw)))  # an order no other rule would give

    monkeypatch.setattr(planning, "order_stops", spy)
    office, postman = office_day["office"], office_day["postmen"][0]
    envelopes = office_day["envelopes"][:5]
    assign(client, postman, envelopes)
    (run,) = runs_of(office)
    depot, points = calls[-1]
    assert depot == (office.latitude, office.longitude)
    wanted = list(reversed(real(depot, points)))
    by_point = {(e.dossier.latitude, e.dossier.longitude): e.code for e in envelopes}
    assert codes_in_order(run) == [by_point[points[i]] for i in wanted]
    # By hand: the second stop up to first; then the solver again, from the run's page.
    before = codes_in_order(run)
    visit = sorted(run.stops, key=lambda s: s.position)[1].visit
    assert (
        post(client, f"/console/plan/runs/{run.id}/step", {"move": f"{visit}:up"}).status_code
        == 200
    )
    (run,) = runs_of(office)
    assert codes_in_order(run) == [before[1], before[0], *before[2:]]
    assert post(client, f"/console/plan/runs/{run.id}/order", {}).status_code == 200
    (run,) = runs_of(office)
    assert codes_in_order(run) == before


def test_a_run_is_reordered_by_dragging(client, office_day):
    office, postman = office_day["office"], office_day["postmen"][0]
    assign(client, postman, office_day["envelopes"][:4])
    (run,) = runs_of(office)
    before = codes_in_order(run)
    answer = post(client, f"/console/plan/runs/{run.id}/reorder", {"visit": [4, 1, 2, 3]})
    assert answer.status_code == 200
    (run,) = runs_of(office)
    assert codes_in_order(run) == [before[3], *before[:3]]
    bad = post(client, f"/console/plan/runs/{run.id}/reorder", {"visit": [1, 1, 2, 3]})
    assert bad.status_code == 422


def test_each_run_shows_its_length_and_time(client, office_day, app):
    assign(client, office_day["postmen"][0], office_day["envelopes"][:3])
    (run,) = runs_of(office_day["office"])
    plan = planning.plan_of(run, planning.PlanSettings(speed_kmh=20, minutes_per_stop=6))
    assert 500 < plan.metres < 10_000
    assert plan.minutes == -(-(plan.metres / 1000 / 20 * 60 + 3 * 6) // 1)
    page = client.get("/console/plan").get_data(as_text=True)
    assert f"{plan.metres / 1000:.1f}</span> km" in page


# --- Automatically ------------------------------------------------------------------------


def test_the_pool_is_split_within_capacity_covering_every_envelope(client, factory, office_day):
    office, agency = office_day["office"], office_day["agency"]
    more = [
        factory.envelope(agency=agency, recipient_name=f"Khác {i}", latitude=lat, longitude=lon)
        for i, (lat, lon) in enumerate(SPOTS[6:])
    ]
    receive_envelopes(more, actor=office_day["supervisor"], now=NOW)
    db.session.commit()
    chosen = office_day["envelopes"] + more
    postmen = office_day["postmen"]
    answer = post(
        client,
        "/console/plan/split",
        {
            "split_postman_id": [p.id for p in postmen],
            "capacity": 5,
            "envelope_id": [e.id for e in chosen],
        },
    )
    assert answer.status_code == 200, answer.json
    runs = runs_of(office)
    assert all(len(r.stops) <= 5 for r in runs)
    assert sorted(c for r in runs for c in codes_in_order(r)) == sorted(e.code for e in chosen)
    assert {r.postman_id for r in runs} <= {p.id for p in postmen} and len(runs) >= 3
    assert all(e.state is State.out_for_delivery for e in chosen)


def test_without_a_capacity_the_stops_are_shared_evenly(client, office_day):
    postmen = office_day["postmen"][:2]
    answer = post(
        client,
        "/console/plan/split",
        {
            "split_postman_id": [p.id for p in postmen],
            "capacity": "",
            "envelope_id": [e.id for e in office_day["envelopes"]],
        },
    )
    assert answer.status_code == 200, answer.json
    assert sorted(len(r.stops) for r in runs_of(office_day["office"])) == [3, 3]


def test_a_pool_too_large_for_the_postmen_is_refused_and_nothing_changes(client, office_day):
    before = snapshot(office_day["office"])
    answer = post(
        client,
        "/console/plan/split",
        {
            "split_postman_id": [office_day["postmen"][0].id],
            "capacity": 2,
            "envelope_id": [e.id for e in office_day["envelopes"]],
        },
    )
    assert answer.status_code == 422 and answer.json["error"]["code"] == "pool_too_large"
    assert snapshot(office_day["office"]) == before


# --- At the counter ------------------------------------------------------------------------


def test_envelopes_scanned_at_the_counter_go_on_the_postmans_run(client, office_day, app):
    postman = office_day["postmen"][1]
    first, second = office_day["envelopes"][:2]
    payload = sign_envelope_qr(second.code, app.config["QR_SIGNING_KEY"])
    for text in (first.code, payload):
        answer = post(client, "/console/plan/scan", {"postman_id": postman.id, "code": text})
        assert answer.status_code == 200, answer.json
    (run,) = runs_of(office_day["office"])
    assert run.postman_id == postman.id
    assert sorted(codes_in_order(run)) == sorted([first.code, second.code])
    again = post(client, "/console/plan/scan", {"postman_id": postman.id, "code": first.code})
    assert again.status_code == 409 and postman.full_name in again.json["error"]["message"]
    forged = post(
        client, "/console/plan/scan", {"postman_id": postman.id, "code": payload[:-3] + "AAA"}
    )
    assert forged.status_code == 422


# --- A started run -------------------------------------------------------------------------


def test_a_started_run_refuses_every_change(client, office_day):
    office, postman, other = (
        office_day["office"],
        office_day["postmen"][0],
        office_day["postmen"][1],
    )
    envelopes = office_day["envelopes"]
    assign(client, postman, envelopes[:3])
    (run,) = runs_of(office)
    run.state = RunState.in_progress.value
    db.session.commit()
    before = snapshot(office)
    visit = run.stops[0].visit
    for url, data in (
        ("unassign", {"envelope_id": [envelopes[0].id]}),
        ("move", {"envelope_id": [envelopes[0].id], "postman_id": other.id}),
        ("step", {"move": f"{visit}:down"}),
        ("reorder", {"visit": [3, 2, 1]}),
        ("order", {}),
    ):
        answer = post(client, f"/console/plan/runs/{run.id}/{url}", data)
        assert answer.status_code == 409, url
        assert answer.json["error"]["code"] == "run_started"
        assert (
            "has started" in answer.json["error"]["message"]
            or "đã" in answer.json["error"]["message"]
        )
    assert snapshot(office) == before
    # Without JavaScript the page comes back saying why.
    page = post(client, f"/console/plan/runs/{run.id}/order", {}, json=False)
    assert page.status_code == 302
    assert snapshot(office) == before
    # New envelopes for that postman go on a new run, for later in the day.
    assert assign(client, postman, envelopes[3:4]).status_code == 200
    assert len(runs_of(office)) == 2


# --- The phone ---------------------------------------------------------------------------


def test_the_postmans_phone_gets_the_planned_run(app, client, office_day):
    postman = office_day["postmen"][0]
    assign(client, postman, office_day["envelopes"][:4])
    (run,) = runs_of(office_day["office"])
    visit = sorted(run.stops, key=lambda s: s.position)[2].visit
    post(client, f"/console/plan/runs/{run.id}/step", {"move": f"{visit}:up"})
    (run,) = runs_of(office_day["office"])
    phone = app.test_client()
    login(phone, postman)
    first = phone.get("/api/v1/runs/today")
    (served,) = first.get_json()["runs"]
    assert served["id"] == run.id
    assert [s["envelope_code"] for s in served["stops"]] == codes_in_order(run)
    # A change reaches the phone at its next sync: the ETag it holds no longer matches.
    post(
        client, f"/console/plan/runs/{run.id}/unassign", {"envelope_id": [run.stops[0].envelope_id]}
    )
    again = phone.get("/api/v1/runs/today", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and len(again.get_json()["runs"][0]["stops"]) == 3


# --- Who may plan ------------------------------------------------------------------------


def _routes(run_id, envelope_id, postman_id):
    return [
        ("get", "/console/plan", {}),
        ("post", "/console/plan/assign", {"postman_id": postman_id, "envelope_id": envelope_id}),
        (
            "post",
            "/console/plan/split",
            {"split_postman_id": postman_id, "capacity": 5, "envelope_id": envelope_id},
        ),
        ("post", "/console/plan/scan", {"postman_id": postman_id, "code": "HC000000000VN"}),
        ("post", f"/console/plan/runs/{run_id}/unassign", {"envelope_id": envelope_id}),
        (
            "post",
            f"/console/plan/runs/{run_id}/move",
            {"envelope_id": envelope_id, "postman_id": postman_id},
        ),
        ("post", f"/console/plan/runs/{run_id}/step", {"move": "1:down"}),
        ("post", f"/console/plan/runs/{run_id}/reorder", {"visit": [2, 1]}),
        ("post", f"/console/plan/runs/{run_id}/order", {}),
    ]


def test_only_the_offices_staff_plan_its_runs(app, client, factory, office_day):
    office = office_day["office"]
    first, second = office_day["postmen"][:2]
    assign(client, first, office_day["envelopes"][:2])
    (run,) = runs_of(office)
    waiting = office_day["envelopes"][3]
    routes = _routes(run.id, waiting.id, second.id)
    before = snapshot(office)
    stranger = factory.user(Role.supervisor)  # another office
    for user, wanted in (
        (None, 302),
        (factory.user(Role.postman, post_office=office), 403),
        (factory.user(Role.agency), 403),
        (stranger, 404),
    ):
        db.session.commit()
        other = app.test_client()
        if user is not None:
            login(other, user)
        for method, url, data in routes:
            answer = getattr(other, method)(url, data=data, headers=JSON if user else {})
            if user is stranger and url in (
                "/console/plan",
                "/console/plan/assign",
                "/console/plan/split",
                "/console/plan/scan",
            ):
                # Their own office's page: our postman and envelopes are not theirs.
                assert answer.status_code in (200, 404), (url, answer.status_code)
                continue
            assert answer.status_code == wanted, (user and user.role, url, answer.status_code)
            if wanted == 302:
                assert "/login" in answer.headers["Location"]
    assert snapshot(office) == before
    # An administrator plans any office.
    admin = factory.user(Role.admin)
    db.session.commit()
    other = app.test_client()
    login(other, admin)
    page = other.get(f"/console/plan?office={office.id}")
    assert page.status_code == 200 and waiting.code in page.get_data(as_text=True)
    answer = other.post(
        "/console/plan/assign",
        data={
            "office": office.id,
            "date": TODAY.isoformat(),
            "postman_id": second.id,
            "envelope_id": waiting.id,
        },
        headers=JSON,
    )
    assert answer.status_code == 200
    answer = other.post(f"/console/plan/runs/{run.id}/order", headers=JSON)
    assert answer.status_code == 200


_junk = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(
        ["", "0", "-1", "1", "2", "1:up", "3:down", "2026-11-23", "9999-12-31", "{}", "[]", "null"]
    ),
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(
    route=st.integers(min_value=0, max_value=8),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "date",
                "postman_id",
                "split_postman_id",
                "envelope_id",
                "capacity",
                "code",
                "move",
                "visit",
                "office",
                "back",
            ]
        ),
        st.lists(_junk, max_size=3),
        max_size=6,
    ),
    as_json=st.booleans(),
    body=st.none() | st.text(max_size=60),
)
def test_no_input_earns_a_5xx_and_a_refusal_changes_nothing(
    client, office_day, route, fields, as_json, body
):
    office = office_day["office"]
    runs = runs_of(office)
    if not runs:
        assign(client, office_day["postmen"][0], office_day["envelopes"][:2])
        runs = runs_of(office)
    method, url, _ = _routes(runs[0].id, 0, 0)[route]
    before = snapshot(office)
    headers = JSON if as_json else {}
    if body is not None and method == "post":
        answer = client.post(
            url, data=body.encode(), headers={**headers, "Content-Type": "application/json"}
        )
    elif method == "get":
        answer = client.get(url, query_string=fields, headers=headers)
    else:
        answer = client.post(url, data=fields, headers=headers)
    assert answer.status_code < 500, (url, fields, answer.get_data(as_text=True)[:300])
    if answer.status_code >= 400:
        assert snapshot(office) == before
