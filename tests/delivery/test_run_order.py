"""The doors of the postman's run: served by runs/today, reordered by hand on the phone
(POST /api/v1/runs/<id>/order) — the postman's own open run only, every stop once, a door
whole; a refusal changes nothing and no input earns a 5xx."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.console.planning import assign_envelopes, set_visit_order, visits_of
from backend.console.services import receive_envelopes
from backend.extensions import db
from backend.models import DeliveryRun, Role, RunState, RunStop
from tests.conftest import NOW, login, running_app
from tests.delivery.helpers import TODAY, failed_meta, make_run, post_attempt

FUZZ_EXAMPLES = int(os.environ.get("TRAO_FUZZ_EXAMPLES", "300"))

# Three doors: two envelopes for one recipient at one address, and two single ones.
PEOPLE = [
    {"recipient_name": "Nguyễn Văn An", "address_line": "Số 5, đường Lê Lợi"},
    {"recipient_name": "NGUYEN VAN AN", "address_line": "số 5,  đường Lê Lợi"},  # the same door
    {
        "recipient_name": "Hoàng Thị Mai",
        "address_line": "Số 12, đường Trần Đăng Ninh",
        "latitude": 21.8530,
        "longitude": 106.7590,
    },
    {
        "recipient_name": "Lương Văn Tùng",
        "address_line": "Số 3, ngõ 7, đường Bà Triệu",
        "latitude": 21.8400,
        "longitude": 106.7700,
    },
]


def door_run(factory, postman=None):
    """A postman's planned run of today with three doors, the first of two envelopes."""
    office = postman.post_office if postman else factory.office()
    postman = postman or factory.user(Role.postman, post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    agency = factory.agency(post_office=office)
    envelopes = [factory.envelope(agency=agency, **person) for person in PEOPLE]
    receive_envelopes(envelopes, actor=supervisor, now=NOW)
    run = assign_envelopes(office, postman, TODAY, envelopes, actor=supervisor, now=NOW)
    db.session.commit()
    return postman, run


def doors_of(run: DeliveryRun) -> list[list[int]]:
    """The run's doors as the database holds them now (stop ids, in order)."""
    db.session.expire_all()
    return [[s.id for s in v.stops] for v in visits_of(db.session.get(DeliveryRun, run.id))]


def rows(run: DeliveryRun) -> list[tuple]:
    """Every stop of the run as stored: what a refusal must leave as it was."""
    db.session.expire_all()
    return db.session.execute(
        select(RunStop.id, RunStop.position, RunStop.visit, RunStop.envelope_id)
        .where(RunStop.run_id == run.id)
        .order_by(RunStop.id)
    ).all()


def post_order(client, run_id, body, **kw):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    kw.setdefault("content_type", "application/json")
    return client.post(f"/api/v1/runs/{run_id}/order", data=data, **kw)


@pytest.fixture
def planned(client, factory):
    postman, run = door_run(factory)
    login(client, postman)
    return run


# --- runs/today carries the doors -------------------------------------------------------------


def test_runs_today_names_each_stops_door_and_the_runs_doors_in_order(client, planned):
    (served,) = client.get("/api/v1/runs/today").get_json()["runs"]
    doors = doors_of(planned)
    assert [len(d) for d in doors] == [2, 1, 1] or sorted(len(d) for d in doors) == [1, 1, 2]
    assert served["doors"] == doors
    for stop in served["stops"]:
        (door,) = [d for d in doors if stop["stop_id"] in d]
        assert stop["door"] == door[0]
    two = next(d for d in doors if len(d) == 2)
    shared = [s for s in served["stops"] if s["stop_id"] in two]
    assert len({s["visit"] for s in shared}) == 1 and len({s["door"] for s in shared}) == 1
    assert [s["stop_id"] for s in served["stops"]] == [i for d in doors for i in d]


# --- Reordering ---------------------------------------------------------------------------


def test_the_postman_reorders_the_doors_and_the_server_keeps_the_order(client, planned):
    doors = doors_of(planned)
    wanted = [doors[2], doors[0], doors[1]]
    flat = [i for d in wanted for i in d]
    response = post_order(client, planned.id, {"stop_ids": flat})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"run_id": planned.id, "state": "planned", "doors": wanted}
    assert doors_of(planned) == wanted
    positions = [(p, v) for _, p, v, _ in sorted(rows(planned), key=lambda r: r[1])]
    assert positions == [(1, 1), (2, 2), (3, 2), (4, 3)]  # the two-envelope door stays one visit
    # runs/today serves it (a new ETag: the phone's next sync gets a 200, not a 304).
    (served,) = client.get("/api/v1/runs/today").get_json()["runs"]
    assert served["doors"] == wanted
    assert [s["stop_id"] for s in served["stops"]] == flat


def test_the_same_order_again_is_answered_the_same_and_changes_nothing(client, planned):
    doors = doors_of(planned)
    flat = [i for d in reversed(doors) for i in d]
    first = post_order(client, planned.id, {"stop_ids": flat})
    after = rows(planned)
    again = post_order(client, planned.id, {"stop_ids": flat})
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert rows(planned) == after


def test_an_order_that_meets_the_supervisors_change_is_a_409_and_keeps_nothing(
    client, planned, monkeypatch
):
    from sqlalchemy.exc import IntegrityError

    import backend.delivery.api as api

    real = api.set_door_order

    def clashing(run, stop_ids):
        # The order is written, then the supervisor's renumbering of the run wins the race.
        real(run, stop_ids)
        db.session.flush()
        raise IntegrityError("UPDATE run_stop", {}, Exception("unique visit"))

    monkeypatch.setattr(api, "set_door_order", clashing)
    before = rows(planned)
    doors = doors_of(planned)
    response = post_order(client, planned.id, {"stop_ids": [i for d in reversed(doors) for i in d]})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "run_busy"
    db.session.expire_all()
    assert rows(planned) == before


def test_a_run_under_way_may_be_reordered_by_its_postman(client, planned):
    first_stop = db.session.get(RunStop, doors_of(planned)[0][0])
    assert post_attempt(client, failed_meta(first_stop), []).status_code == 201
    db.session.expire_all()
    assert db.session.get(DeliveryRun, planned.id).state == RunState.in_progress.value
    doors = doors_of(planned)
    wanted = [doors[1], doors[2], doors[0]]
    response = post_order(client, planned.id, {"stop_ids": [i for d in wanted for i in d]})
    assert response.status_code == 200 and response.get_json()["state"] == "in_progress"
    assert doors_of(planned) == wanted


def test_the_console_reads_the_postmans_order(client, planned):
    """The supervisor's plan page lists visits_of(run): the postman's order is what it shows."""
    doors = doors_of(planned)
    wanted = [doors[1], doors[0], doors[2]]
    assert (
        post_order(client, planned.id, {"stop_ids": [i for d in wanted for i in d]}).status_code
        == 200
    )
    db.session.expire_all()
    run = db.session.get(DeliveryRun, planned.id)
    assert [[s.id for s in v.stops] for v in visits_of(run)] == wanted
    # And the supervisor's own reorder afterwards is what the phone gets next.
    set_visit_order(run, [v.number for v in reversed(visits_of(run))])
    db.session.commit()
    (served,) = client.get("/api/v1/runs/today").get_json()["runs"]
    assert served["doors"] == list(reversed(wanted))


# --- Refusals: nothing changes ---------------------------------------------------------------


def test_another_postmans_run_is_not_found(client, factory, planned):
    _, other = door_run(factory)
    before = rows(other)
    flat = [i for d in reversed(doors_of(other)) for i in d]
    response = post_order(client, other.id, {"stop_ids": flat})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "run_not_found"
    assert rows(other) == before


def test_a_missing_run_is_not_found(client, planned):
    assert post_order(client, planned.id + 1000, {"stop_ids": [1]}).status_code == 404
    assert post_order(client, 2**31, {"stop_ids": [1]}).status_code == 404


def test_a_closed_run_refuses_a_new_order(client, planned):
    run = db.session.get(DeliveryRun, planned.id)
    run.state = RunState.closed.value
    db.session.commit()
    before = rows(planned)
    flat = [i for d in reversed(doors_of(planned)) for i in d]
    response = post_order(client, planned.id, {"stop_ids": flat})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "run_closed"
    assert response.get_json()["error"]["message"] == (
        "Chuyến phát này đã đóng: không thể thay đổi thứ tự nữa."
    )
    assert rows(planned) == before


def _bad_orders(doors, foreign):
    flat = [i for d in doors for i in d]
    two = next(d for d in doors if len(d) == 2)
    single = next(d for d in doors if len(d) == 1)
    split = [two[0], *single, two[1]] + [i for d in doors if d not in (two, single) for i in d]
    return {
        "missing": (flat[:-1], "bad_order"),
        "duplicate": ([*flat, flat[0]], "bad_order"),
        "duplicate_instead": ([flat[0], *flat[:-1]], "bad_order"),
        "unknown": ([*flat, 2**31 - 1], "bad_order"),
        "foreign": ([*flat[:-1], foreign], "bad_order"),
        "door_split": (split, "door_split"),
        "door_inside_out": (
            list(reversed(two)) + [i for d in doors if d != two for i in d],
            "door_split",
        ),
        "empty": ([], "invalid"),
        "zero": ([0, *flat], "invalid"),
        "negative": ([-flat[0], *flat[1:]], "invalid"),
        "too_big": ([2**31, *flat], "invalid"),
        "strings": ([str(i) for i in flat], "invalid"),
        "floats": ([float(i) for i in flat], "invalid"),
        "booleans": ([True, *flat], "invalid"),
        "nulls": ([None, *flat], "invalid"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "duplicate", "duplicate_instead", "unknown", "foreign", "door_split",
     "door_inside_out", "empty", "zero", "negative", "too_big", "strings", "floats", "booleans",
     "nulls"],
)  # fmt: skip
def test_a_bad_order_is_refused_with_a_422_and_changes_nothing(client, factory, planned, case):
    _, other = door_run(factory)
    foreign = doors_of(other)[0][0]
    stop_ids, code = _bad_orders(doors_of(planned), foreign)[case]
    before, other_before = rows(planned), rows(other)
    response = post_order(client, planned.id, {"stop_ids": stop_ids})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert rows(planned) == before and rows(other) == other_before


@pytest.mark.parametrize(
    "body",
    ["", "null", "[]", "[1, 2]", '"stop_ids"', "{", '{"stop_ids": NaN}', "\xff\xfe", "{}",
     '{"stop_ids": [1], "extra": 1}', '{"stop_ids": {"1": 2}}', '{"stop_ids": "1,2"}',
     '{"stop_ids": [1e999]}', '{"stop_ids": [' + "[" * 50 + "]" * 50 + "]}",
     '{"stop_ids": [99999999999999999999999999]}'],
)  # fmt: skip
def test_a_body_that_is_not_an_order_is_a_422(client, planned, body):
    before = rows(planned)
    response = post_order(client, planned.id, body.encode("utf-8", "surrogatepass"))
    assert response.status_code == 422, (body, response.get_json())
    assert response.get_json()["error"]["code"] in ("malformed_json", "invalid")
    assert rows(planned) == before


def test_a_huge_body_is_refused_unread(client, planned):
    body = json.dumps({"stop_ids": list(range(1, 200_000))})
    response = post_order(client, planned.id, body)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "body_too_large"


def test_an_order_names_at_most_5000_stops(client, planned):
    response = post_order(client, planned.id, {"stop_ids": list(range(1, 5002))})
    assert response.status_code == 422
    assert "stop_ids" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_only_postmen_post_an_order(client, factory, planned, role):
    login(client, factory.user(role))
    flat = [i for d in reversed(doors_of(planned)) for i in d]
    assert post_order(client, planned.id, {"stop_ids": flat}).status_code == 403


def test_anonymous_gets_a_401(app, factory):
    postman, run = door_run(factory)
    response = post_order(app.test_client(), run.id, {"stop_ids": [1]})
    assert response.status_code == 401


def test_the_order_needs_the_csrf_token(tmp_path):
    with running_app(STORAGE_URL=str(tmp_path / "p"), WTF_CSRF_ENABLED=True) as app:
        from tests.conftest import Factory

        postman, run = make_run(Factory(), 2)
        db.session.commit()
        client = app.test_client()
        token_page = client.get("/login")
        assert token_page.status_code == 200
        csrf = _csrf_from(token_page.get_data(as_text=True))
        client.post(
            "/login",
            data={"username": postman.username, "password": "correct horse", "csrf_token": csrf},
        )
        before = rows(run)
        flat = [s.id for s in reversed(run.stops)]
        refused = post_order(client, run.id, {"stop_ids": flat})
        assert refused.status_code == 400
        assert refused.get_json()["error"]["code"] == "csrf_failed"
        assert rows(run) == before
        token = client.get("/api/v1/session").get_json()["csrf_token"]
        accepted = post_order(client, run.id, {"stop_ids": flat}, headers={"X-CSRFToken": token})
        assert accepted.status_code == 200, accepted.get_json()


def _csrf_from(html: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


# --- No input earns a 5xx, and a refusal changes nothing --------------------------------------

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, 10**400, -0.0])
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def order_bodies(draw, stop_ids):
    """A body near a good order (ids of the run shuffled, cut, repeated, mixed with others),
    any JSON at all, or text that is not JSON."""
    kind = draw(st.sampled_from(["near", "near", "near", "json", "object", "text", "bytes"]))
    if kind == "near":
        pool = st.sampled_from(stop_ids) | st.integers(-5, max(stop_ids) + 5) | json_leaves
        ids = draw(st.permutations(stop_ids)) if draw(st.booleans()) else draw(st.lists(pool))
        return json.dumps({"stop_ids": ids})
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "object":
        return json.dumps(
            {
                "stop_ids": draw(json_values),
                **draw(st.dictionaries(st.text(max_size=5), json_leaves, max_size=2)),
            }
        )
    if kind == "text":
        return draw(st.text(max_size=200))
    return draw(st.binary(max_size=200))


def test_no_body_earns_a_5xx_and_a_refusal_changes_nothing(client, planned):
    stop_ids = [i for d in doors_of(planned) for i in d]

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=order_bodies(stop_ids), content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded"]))  # fmt: skip
    def check(body, content_type):
        before = rows(planned)
        response = post_order(client, planned.id, body, content_type=content_type)
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.get_json()["error" if response.status_code >= 400 else "doors"]
        if response.status_code != 200:
            assert rows(planned) == before
        else:
            assert doors_of(planned) == response.get_json()["doors"]

    check()
