"""Closing a run (issue 11): the envelopes not delivered scanned back in through the lifecycle,
the money handed over against what the phone recorded, the close-out record and its events, the
phone's outbox count that makes closing ask for a confirmation, and a closed run that changes no
more — but still receives what a late phone sends, flagged for review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.clock import local_date
from backend.console.services import plan_run, receive_envelopes
from backend.delivery.contact import outbox_count
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import State
from backend.domain.policy import DEFAULT_POLICY, hold_deadline
from backend.extensions import db
from backend.models import (
    DeliveryAttempt,
    DeliveryRun,
    Event,
    Role,
    RunCloseout,
    RunReturn,
    RunState,
    User,
)
from tests.conftest import NOW, login
from tests.delivery.helpers import (
    TODAY,
    default_files,
    delivered_meta,
    failed_meta,
    make_run,
    post_attempt,
)

JSON = {"Accept": "application/json"}
FEE = 26_000  # the factory's postage


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr("backend.clock.now", frozen)
    return frozen


@pytest.fixture
def day(app, client, factory):
    """A run of five: delivered (fee collected), failed with an attempt left, never attempted,
    failed on its last home attempt, never attempted. The supervisor is logged in."""
    postman, run = make_run(factory, 5)
    stops = run.stops
    stops[3].envelope.attempts_made = DEFAULT_POLICY.max_home_attempts - 1  # one earlier run
    supervisor = factory.user(Role.supervisor, post_office=run.post_office, full_name="Trần Bình")
    db.session.commit()
    phone = app.test_client()
    login(phone, postman)
    files = default_files()
    assert post_attempt(phone, delivered_meta(stops[0], files), files).status_code == 201
    assert post_attempt(phone, failed_meta(stops[1]), []).status_code == 201
    assert post_attempt(phone, failed_meta(stops[3]), []).status_code == 201
    login(client, supervisor)
    envelopes = [stop.envelope for stop in stops]
    return {
        "run": run,
        "run_id": run.id,
        "postman": postman,
        "phone": phone,
        "supervisor": supervisor,
        "envelopes": envelopes,
        "codes": [e.code for e in envelopes],
    }


def scan(client, run_id, text, headers=JSON):
    return client.post(f"/console/runs/{run_id}/close/scan", data={"code": text}, headers=headers)


def close(client, run_id, headers=JSON, **form):
    return client.post(f"/console/runs/{run_id}/close", data=form, headers=headers)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def events(kind: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# --- What should come back ---------------------------------------------------------------------


def test_the_page_lists_every_envelope_not_delivered(client, day):
    page = client.get(f"/console/runs/{day['run_id']}/close").get_data(as_text=True)
    codes = day["codes"]
    outstanding = page.split('data-testid="outstanding-list"')[1].split("</ul>")[0]
    assert codes[0] not in outstanding  # delivered: nothing to hand back
    assert all(code in outstanding for code in codes[1:])
    assert 'data-testid="back-count">0<' in page and 'data-testid="expected-count">4<' in page
    assert f'data-vnd="{FEE}"' in page


def test_the_day_page_offers_to_close_each_run(client, day):
    page = client.get("/console").get_data(as_text=True)
    assert f'href="/console/runs/{day["run_id"]}/close"' in page


def test_each_envelope_scanned_back_takes_its_own_path(client, day, app):
    run_id, envelopes = day["run_id"], day["envelopes"]
    # Never attempted: unloaded, back at the office waiting for a run.
    answer = scan(client, run_id, envelopes[2].code)
    assert answer.status_code == 200, answer.json
    assert answer.json["envelope"]["outcome"] == "unloaded"
    assert answer.json["counts"] == {"back": 1, "expected": 4, "left": 3}
    # Failed with an attempt left, scanned from its label's QR: stays in the pool as it is.
    payload = sign_envelope_qr(envelopes[1].code, app.config["QR_SIGNING_KEY"])
    assert scan(client, run_id, payload).json["envelope"]["outcome"] == "back"
    # Failed on its last home attempt: held at the office, its deadline from the hold's day.
    assert scan(client, run_id, envelopes[3].code).json["envelope"]["outcome"] == "held"

    never, failed, spent = (fresh(envelopes[i]) for i in (2, 1, 3))
    assert never.state is State.at_office
    assert failed.state is State.attempt_failed
    assert spent.state is State.held_at_office
    held_on = local_date(NOW, "Asia/Ho_Chi_Minh")
    assert spent.held_on == held_on and spent.hold_deadline == hold_deadline(held_on)
    (unload,) = events("envelope.unload")
    assert unload.envelope_id == never.id and unload.data == {"run_id": run_id}
    (back,) = events("envelope.back_at_office")
    assert back.envelope_id == failed.id and back.data == {"run_id": run_id}
    (hold,) = events("envelope.hold")
    assert hold.envelope_id == spent.id and hold.to_state == "held_at_office"
    assert [r.outcome for r in db.session.scalars(select(RunReturn).order_by(RunReturn.id))] == [
        "unloaded",
        "back",
        "held",
    ]
    page = client.get(f"/console/runs/{run_id}/close").get_data(as_text=True)
    assert 'data-testid="back-count">3<' in page


def test_without_javascript_a_scan_posts_and_the_page_says_what_happened(client, day):
    run_id, code = day["run_id"], day["codes"][2]
    answer = scan(client, run_id, code, headers={})
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert code in page.split('data-testid="back-list"')[1]
    refused = scan(client, run_id, code, headers={})
    assert refused.status_code == 302
    assert "flash-error" in client.get(refused.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("delivered", 409, "delivered"),
        ("twice", 409, "already_back"),
        ("other_run", 404, "not_on_run"),
        ("unknown", 404, "not_on_run"),
        ("garbage", 422, "not_a_code"),
        ("forged", 422, "forged_label"),
        ("not_out", 409, "not_expected"),
    ],
)
def test_a_refused_scan_says_why_and_changes_nothing(client, day, factory, app, case, status, code):
    run_id, codes = day["run_id"], day["codes"]
    scan(client, run_id, codes[2])
    text = {
        "delivered": codes[0],
        "twice": codes[2],
        "garbage": "not a code",
        "unknown": "HC999999995VN",
        "forged": sign_envelope_qr(codes[4], b"another key, not Trao's" * 2),
    }.get(case)
    if case == "other_run":
        _, other = make_run(factory, 1, postman=day["postman"])
        db.session.commit()
        text = other.stops[0].envelope.code
    if case == "not_out":
        # Planned again on the postman's next run: it belongs to that run now.
        again = plan_run(
            office=day["run"].post_office,
            postman=day["postman"],
            run_date=TODAY,
            envelopes=[db.session.get(type(day["envelopes"][2]), day["envelopes"][2].id)],
            actor=day["supervisor"],
            now=NOW,
        )
        db.session.commit()
        assert again.id != run_id
        text = codes[2]
        db.session.execute(db.delete(RunReturn))  # as if it had left without being scanned
        db.session.commit()
    before = (count(Event), count(RunReturn))
    answer = scan(client, run_id, text)
    assert answer.status_code == status
    assert answer.json["error"]["code"] == code
    assert (count(Event), count(RunReturn)) == before


def test_another_offices_run_is_not_found(client, day, factory):
    stranger = factory.user(Role.supervisor, full_name="Người khác")
    db.session.commit()
    login(client, stranger)
    run_id = day["run_id"]
    assert client.get(f"/console/runs/{run_id}/close").status_code == 404
    assert scan(client, run_id, day["codes"][2]).status_code == 404
    assert close(client, run_id, received_vnd=str(FEE)).status_code == 404
    assert fresh(day["run"]).state != RunState.closed.value
    assert count(RunReturn) == 0
    admin = factory.user(Role.admin)
    db.session.commit()
    login(client, admin)
    assert client.get(f"/console/runs/{run_id}/close").status_code == 200


def test_a_postman_cannot_reach_the_closeout(day):
    phone = day["phone"]
    assert phone.get(f"/console/runs/{day['run_id']}/close").status_code in (302, 403)


# --- Money and closing -------------------------------------------------------------------------


def test_a_difference_needs_a_note_and_is_recorded(client, day):
    run_id, envelopes = day["run_id"], day["envelopes"]
    for i in (1, 2, 3):
        scan(client, run_id, envelopes[i].code)
    refused = close(client, run_id, received_vnd="20.000", note="  ")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "note_required"
    assert fresh(day["run"]).state != RunState.closed.value and count(RunCloseout) == 0
    # As a form, the page comes back with the reason and what was typed.
    page = close(client, run_id, headers={}, received_vnd="20.000")
    assert page.status_code == 422
    assert 'data-code="note_required"' in page.get_data(as_text=True)
    assert 'value="20.000"' in page.get_data(as_text=True)

    answer = close(client, run_id, received_vnd="20.000", note="Thiếu 6.000 đ, anh An trả mai")
    assert answer.status_code == 200, answer.json
    record = answer.json["closeout"]
    assert record["expected_vnd"] == FEE and record["received_vnd"] == 20_000
    assert record["difference_vnd"] == -6_000
    assert record["expected_back"] == 4 and record["scanned_back"] == 3
    assert record["missing_envelope_ids"] == [envelopes[4].id]
    run = fresh(day["run"])
    assert run.state == RunState.closed.value and run.closed_at == NOW
    (closed,) = events("run.close")
    assert closed.actor_id == day["supervisor"].id and closed.envelope_id is None
    assert closed.data["difference_vnd"] == -6_000
    assert closed.data["missing_envelope_ids"] == [envelopes[4].id]
    (missing,) = events("run.envelope_missing")
    assert missing.envelope_id == envelopes[4].id and missing.data == {"run_id": run_id}

    page = client.get(f"/console/runs/{run_id}/close").get_data(as_text=True)
    assert 'data-testid="closeout-record"' in page
    assert 'data-difference="-6000"' in page
    assert "Thiếu 6.000 đ, anh An trả mai" in page
    assert envelopes[4].code in page.split('data-testid="record-missing"')[1]
    # The envelope's own page tells its story, the close-out's part included.
    story = client.get(f"/console/envelopes/{envelopes[4].code}")
    assert story.status_code == 200
    assert "Không được trả lại khi đóng chuyến phát" in story.get_data(as_text=True)


def test_money_that_matches_needs_no_note(client, day):
    answer = close(client, day["run_id"], received_vnd="26 000")
    assert answer.status_code == 200 and answer.json["closeout"]["difference_vnd"] == 0
    assert answer.json["closeout"]["missing_envelope_ids"] == [
        day["envelopes"][i].id for i in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize("amount", ["", "abc", "-5", "1e9", "12345678901", "1000000001", "٣"])
def test_an_amount_that_is_not_one_is_refused(client, day, amount):
    answer = close(client, day["run_id"], received_vnd=amount, note="x")
    assert answer.status_code == 422 and answer.json["error"]["code"] == "bad_amount"
    assert count(RunCloseout) == 0


def test_a_dossiers_fee_counts_once_even_over_two_envelopes(app, client, factory):
    office = factory.office()
    postman = factory.user(Role.postman, post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    dossier = factory.dossier(agency=factory.agency(post_office=office), envelopes=2)
    receive_envelopes(dossier.envelopes, actor=supervisor, now=NOW)
    run = plan_run(
        office=office,
        postman=postman,
        run_date=TODAY,
        envelopes=list(dossier.envelopes),
        actor=supervisor,
        now=NOW,
    )
    db.session.commit()
    phone = app.test_client()
    login(phone, postman)
    files = default_files()
    # The server takes a dossier's fee once (issue 11): on its first envelope, 0 on the other.
    for i, stop in enumerate(run.stops):
        meta = delivered_meta(stop, files, fees_collected_vnd=FEE if i == 0 else 0)
        assert post_attempt(phone, meta, files).status_code == 201
    fees = db.session.scalars(select(DeliveryAttempt.fees_collected_vnd)).all()
    assert sorted(fees) == [0, FEE]
    login(client, supervisor)
    answer = close(client, run.id, received_vnd=str(FEE))
    assert answer.json["closeout"]["expected_vnd"] == FEE
    assert answer.json["closeout"]["expected_back"] == 0


# --- The phone's outbox ------------------------------------------------------------------------


def outbox_of(user: User):
    db.session.expire_all()
    user = db.session.get(User, user.id)
    return user.outbox_waiting, user.outbox_reported_at


def test_the_phone_says_how_many_attempts_wait_and_closing_asks_to_confirm(client, day, clock):
    phone, run_id = day["phone"], day["run_id"]
    clock.now = NOW + timedelta(minutes=5)
    assert phone.get("/api/v1/runs/today", headers={"X-Trao-Outbox": "2"}).status_code == 200
    assert outbox_of(day["postman"]) == (2, NOW + timedelta(minutes=5))
    clock.now = NOW + timedelta(minutes=10)
    page = client.get(f"/console/runs/{run_id}/close").get_data(as_text=True)
    assert 'data-testid="phone-warning"' in page
    assert "09:05" in page  # 02:05 UTC, in Lạng Sơn

    refused = close(client, run_id, received_vnd=str(FEE))
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "phone_waiting"
    assert refused.json["error"]["fields"]["waiting"] == 2
    form = close(client, run_id, headers={}, received_vnd=str(FEE))
    assert form.status_code == 409
    assert 'data-testid="confirm-waiting"' in form.get_data(as_text=True)
    assert fresh(day["run"]).state != RunState.closed.value and count(RunCloseout) == 0

    answer = close(client, run_id, received_vnd=str(FEE), confirm_waiting="yes")
    assert answer.status_code == 200
    assert answer.json["closeout"]["phone_waiting"] == 2
    assert events("run.close")[0].data["phone_waiting"] == 2


def test_a_phone_whose_outbox_emptied_needs_no_confirmation(client, day, clock):
    phone = day["phone"]
    phone.get("/api/v1/runs/today", headers={"X-Trao-Outbox": "3"})
    clock.now = NOW + timedelta(seconds=20)
    stop = day["run"].stops[4]
    sent = post_attempt(phone, failed_meta(stop), [], headers={"X-Trao-Outbox": "0"})
    assert sent.status_code == 201
    assert outbox_of(day["postman"]) == (0, NOW + timedelta(seconds=20))
    page = client.get(f"/console/runs/{day['run_id']}/close").get_data(as_text=True)
    assert 'data-testid="phone-warning"' not in page
    assert close(client, day["run_id"], received_vnd=str(FEE)).status_code == 200


def test_the_count_is_written_when_it_changes_or_with_the_contact(day, clock):
    phone, postman = day["phone"], day["postman"]
    clock.now = NOW + timedelta(minutes=2)
    phone.get("/api/v1/runs/today", headers={"X-Trao-Outbox": "1"})
    assert outbox_of(postman) == (1, NOW + timedelta(minutes=2))
    clock.now = NOW + timedelta(minutes=2, seconds=30)
    phone.get("/api/v1/runs/today", headers={"X-Trao-Outbox": "1"})  # unchanged, within the minute
    assert outbox_of(postman) == (1, NOW + timedelta(minutes=2))
    phone.get("/api/v1/runs/today", headers={"X-Trao-Outbox": "nonsense"})  # unreadable: ignored
    phone.get("/api/v1/runs/today")  # an older app: says nothing
    assert outbox_of(postman) == (1, NOW + timedelta(minutes=2))
    clock.now = NOW + timedelta(minutes=4)  # the contact's own write refreshes the report
    phone.get("/api/v1/runs/today", headers={"X-Trao-Outbox": "1"})
    assert outbox_of(postman) == (1, NOW + timedelta(minutes=4))


@pytest.mark.parametrize(
    "value, count",
    [
        ("0", 0),
        (" 12 ", 12),
        ("999999", 999999),
        ("1000000", None),
        ("-1", None),
        ("", None),
        ("1.5", None),
        ("٣", None),
        (None, None),
        ("0x10", None),
    ],
)
def test_reading_the_outbox_header(value, count):
    assert outbox_count(value) == count


# --- A closed run ------------------------------------------------------------------------------


@pytest.fixture
def closed(client, day):
    """Day's run closed with envelope 2 scanned back and envelope 4 missing (still out)."""
    for i in (1, 2, 3):
        assert scan(client, day["run_id"], day["codes"][i]).status_code == 200
    assert close(client, day["run_id"], received_vnd=str(FEE)).status_code == 200
    return day


def test_a_closed_run_changes_no_more(client, closed):
    run_id = closed["run_id"]
    again = scan(client, run_id, closed["codes"][4])
    assert again.status_code == 409 and again.json["error"]["code"] == "run_closed"
    twice = close(client, run_id, received_vnd="0", note="again")
    assert twice.status_code == 409 and twice.json["error"]["code"] == "run_closed"
    assert count(RunCloseout) == 1
    # The phone's order of a closed run is refused too (its own API).
    stop_ids = [stop.id for stop in closed["run"].stops]
    order = closed["phone"].post(f"/api/v1/runs/{run_id}/order", json={"stop_ids": stop_ids})
    assert order.status_code == 409 and order.json["error"]["code"] == "run_closed"
    # The page is the record now: no scanning, no closing form.
    page = client.get(f"/console/runs/{run_id}/close").get_data(as_text=True)
    assert 'data-testid="scan-form"' not in page and 'data-testid="close-form"' not in page


def test_an_envelope_missing_at_the_close_waits_in_the_exception_queue_until_resolved(
    client, closed
):
    (missing,) = events("run.envelope_missing")
    subject = f"missing:{missing.id}"
    queue = client.get("/console/exceptions").get_data(as_text=True)
    assert f'data-subject="{subject}"' in queue
    item = queue.split(f'data-subject="{subject}"')[1].split("</li>")[0]
    assert "Không được trả lại khi đóng chuyến phát" in item
    resolved = client.post(
        "/console/exceptions/resolve",
        data={"subject": subject, "note": "Anh An tìm thấy trong túi, đã nộp lại chiều nay"},
    )
    assert resolved.status_code == 302
    assert f'data-subject="{subject}"' not in client.get("/console/exceptions").get_data(
        as_text=True
    )


def test_a_late_attempt_for_an_envelope_still_out_is_received_and_flagged(client, closed):
    phone, missing = closed["phone"], closed["run"].stops[4]
    files = default_files()
    answer = post_attempt(phone, delivered_meta(missing, files), files)
    assert answer.status_code == 201, answer.json
    attempt = db.session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.envelope_id == missing.envelope_id)
    ).one()
    assert attempt.needs_review and "after_close" in attempt.review_flags
    assert fresh(closed["envelopes"][4]).state is State.delivered
    queue = client.get("/console/exceptions").get_data(as_text=True)
    assert missing.envelope.code in queue


def test_a_late_attempt_for_an_envelope_taken_back_is_refused_and_kept(client, closed):
    phone, back = closed["phone"], closed["run"].stops[2]  # unloaded at the close-out
    before = count(DeliveryAttempt)
    answer = post_attempt(phone, failed_meta(back), [])
    assert answer.status_code == 409 and answer.json["error"]["code"] == "run_closed"
    assert count(DeliveryAttempt) == before
    assert fresh(closed["envelopes"][2]).state is State.at_office
    (refusal,) = events("attempt.refused")
    assert refusal.data["code"] == "run_closed"


# --- No input earns a 5xx ----------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    code=st.text(max_size=200) | st.from_regex(r"TR1:[A-Z]{2}[0-9]{9}[A-Z]{2}:[A-Z2-7]{0,20}"),
    amount=st.text(max_size=30) | st.integers().map(str),
    note=st.text(max_size=1200),
    confirm=st.text(max_size=5),
    as_json=st.booleans(),
)
@example(code="\x00", amount="1\x00", note="\x00", confirm="yes", as_json=False)
def test_no_input_earns_a_5xx(client, day, code, amount, note, confirm, as_json):
    run_id = day["run_id"]
    headers = JSON if as_json else {}
    before = (count(Event), count(RunReturn), count(RunCloseout))
    answer = scan(client, run_id, code, headers=headers)
    assert answer.status_code < 500
    if as_json and answer.status_code >= 400:
        assert (count(Event), count(RunReturn)) == before[:2]
    # Closing: always refused here (the amount differs without a note, or is not one, or the
    # note is there but the run is refused for another reason) or closed once.
    closing = close(
        client, run_id, headers=headers, received_vnd=amount, note=note, confirm_waiting=confirm
    )
    assert closing.status_code < 500
    if closing.status_code >= 400:
        assert count(RunCloseout) == 0
        assert db.session.get(DeliveryRun, run_id).state != RunState.closed.value
    else:
        # Closed: reopen the run for the next example (the test's own business, not the app's).
        db.session.execute(db.delete(RunCloseout))
        db.session.execute(
            db.update(DeliveryRun).where(DeliveryRun.id == run_id).values(state="in_progress")
        )
        db.session.commit()
    for body in ({"code": code}, {"received_vnd": amount, "note": note}):
        response = client.post(f"/console/runs/{run_id}/close/scan", json=body, headers=JSON)
        assert response.status_code < 500
