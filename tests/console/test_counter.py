"""Held at the office, collected at the counter: working-day deadlines and reminders, and the
hand-over at the counter with the door's identity rules and proof record."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.console.counter import hold_dates, working_days_left
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import Action, State
from backend.domain.policy import DEFAULT_POLICY
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import DeliveryAttempt, Envelope, Event, ProofFile, Role
from backend.storage import get_storage
from tests.conftest import login
from tests.delivery.helpers import STROKES, jpeg, png, sha

# Friday 28 August 2026, 09:00 in Vietnam: the next working days skip the weekend, the day off
# of Monday 31 August and National Day (1-2 September).
HELD_AT = datetime(2026, 8, 28, 2, 0, tzinfo=UTC)
HELD_ON = date(2026, 8, 28)
REMINDER_ON = date(2026, 9, 4)
DEADLINE = date(2026, 9, 16)
ID_NUMBER = "001090123456"
NAME = "Nguyễn Văn An"
CHIP_QR = f"{ID_NUMBER}|012345678|{NAME}|01011990|Nam|Số 5, Lạng Sơn|15042021"
TZ = "Asia/Ho_Chi_Minh"


def at(day: date, hour: int = 9) -> datetime:
    """That day at `hour` in Vietnam, as a UTC instant."""
    return datetime(day.year, day.month, day.day, hour - 7, 0, tzinfo=UTC)


def hold(envelope: Envelope, now: datetime = HELD_AT) -> Envelope:
    """Through the lifecycle as the office does: received, two failed attempts, then held."""
    steps = [Action.receive, Action.load, Action.fail, Action.load, Action.fail, Action.hold]
    start = now - timedelta(days=3)
    for i, action in enumerate(steps):
        when = now if action is Action.hold else start + timedelta(hours=i)
        apply_action(envelope, action, now=when, timezone=TZ)
    return envelope


@pytest.fixture
def clock_at(monkeypatch):
    """Set the server's clock: clock_at(instant)."""

    def _set(instant: datetime) -> None:
        monkeypatch.setattr("backend.clock.now", lambda: instant)

    _set(at(REMINDER_ON, 10))
    return _set


@pytest.fixture
def counter(app, client, factory, clock_at):
    """An office with a supervisor (logged in) and a citizen's ID card held there."""
    office = factory.office()
    agency = factory.agency(post_office=office, name="Công an tỉnh Lạng Sơn")
    envelope = hold(
        factory.envelope(agency=agency, recipient_name=NAME, recipient_id_number=ID_NUMBER)
    )
    supervisor = factory.user(Role.supervisor, post_office=office, full_name="Trần Thị Bình")
    db.session.commit()
    login(client, supervisor)
    return {"office": office, "agency": agency, "envelope": envelope, "supervisor": supervisor}


def collect_form(**overrides) -> dict:
    form = {
        "attempt_id": str(uuid.uuid4()),
        "relation": "holder",
        "id_check_method": "chip_qr",
        "id_qr": CHIP_QR,
        "fees_collected_vnd": "26000",
        "signature_strokes": json.dumps(STROKES),
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def post_collect(client, code, form, files=None):
    data = dict(form)
    files = [("signature", png())] if files is None else files
    for field, content in files:
        data[field] = (io.BytesIO(content), f"{field}.bin")
    return client.post(
        f"/console/counter/{code}/collect",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )


def snapshot(envelope) -> tuple:
    db.session.expire_all()
    return (
        db.session.get(Envelope, envelope.id).state,
        db.session.scalar(db.select(db.func.count(Event.id))),
        db.session.scalar(db.select(db.func.count(DeliveryAttempt.id))),
        db.session.scalar(db.select(db.func.count(ProofFile.id))),
    )


# --- The deadline and the reminder -----------------------------------------------------------


def test_the_hold_counts_working_days_skipping_weekends_and_national_day(counter):
    envelope = counter["envelope"]
    assert envelope.held_on == HELD_ON and envelope.hold_deadline == DEADLINE
    assert hold_dates(envelope, DEFAULT_POLICY) == (HELD_ON, DEADLINE, REMINDER_ON)


def test_held_over_tet_the_deadline_waits_for_the_new_year_holiday(app, factory):
    envelope = hold(factory.envelope(), at(date(2027, 2, 1)))
    # Mon 1 Feb 2027: Tết runs from Thu 4 to Wed 10 February.
    assert hold_dates(envelope, DEFAULT_POLICY) == (
        date(2027, 2, 1),
        date(2027, 2, 22),
        date(2027, 2, 3),
    )


def test_working_days_left_count_down_and_past_the_deadline():
    assert working_days_left(DEADLINE, DEADLINE) == 0
    assert working_days_left(date(2026, 9, 11), DEADLINE) == 3  # Mon 14, Tue 15, Wed 16
    assert working_days_left(HELD_ON, DEADLINE) == 10
    assert working_days_left(date(2026, 9, 17), DEADLINE) == -1
    assert working_days_left(date(2026, 9, 19), DEADLINE) == -2  # Saturday after Thu, Fri
    assert working_days_left(date(2026, 9, 21), DEADLINE) == -3


def test_the_held_list_shows_dates_sorted_by_deadline_overdue_marked(
    app, client, factory, counter, clock_at
):
    older = hold(factory.envelope(agency=counter["agency"]), at(date(2026, 8, 10)))
    foreign = hold(factory.envelope(), at(date(2026, 8, 10)))  # another office's
    db.session.commit()
    clock_at(at(date(2026, 8, 25)))  # the older one's deadline was Mon 24 August
    page = client.get("/console/held").get_data(as_text=True)
    assert page.index(older.code) < page.index(counter["envelope"].code)
    assert foreign.code not in page
    assert f'data-code="{older.code}" class="overdue"' in page
    assert f'data-code="{counter["envelope"].code}" class=""' in page


def test_a_reminder_is_due_on_its_working_day_and_recorded_once(client, counter, clock_at):
    code = counter["envelope"].code
    clock_at(at(date(2026, 9, 3)))  # one working day too early
    assert f'data-testid="remind-{code}"' not in client.get("/console/held").get_data(as_text=True)
    clock_at(at(REMINDER_ON))
    assert f'data-testid="remind-{code}"' in client.get("/console/held").get_data(as_text=True)
    assert client.post(f"/console/held/{code}/remind", data={"channel": "phone"}).status_code == 302
    event = db.session.scalars(db.select(Event).where(Event.kind == "envelope.remind")).one()
    assert event.envelope_id == counter["envelope"].id
    assert event.data == {"channel": "phone", "held_on": HELD_ON.isoformat()}
    page = client.get("/console/held").get_data(as_text=True)
    assert f'data-testid="remind-{code}"' not in page and 'data-testid="reminded"' in page
    again = client.post(
        f"/console/held/{code}/remind",
        data={"channel": "phone"},
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reminded"


# --- The counter ----------------------------------------------------------------------------


def test_the_counter_finds_a_held_envelope_by_its_label_qr(client, counter):
    envelope = counter["envelope"]
    payload = sign_envelope_qr(envelope.code, client.application.config["QR_SIGNING_KEY"])
    response = client.get("/console/counter", query_string={"scan": payload})
    assert response.status_code == 302
    assert f"/console/counter/{envelope.code}" in response.headers["Location"]
    page = client.get(f"/console/counter/{envelope.code}").get_data(as_text=True)
    assert 'data-testid="collect-form"' in page and 'data-testid="holder-only"' in page


def test_an_envelope_not_held_is_not_handed_over_at_the_counter(client, factory, counter):
    envelope = factory.envelope(agency=counter["agency"])
    db.session.commit()
    found = client.get("/console/counter", query_string={"scan": envelope.code})
    assert found.status_code == 409
    assert client.get(f"/console/counter/{envelope.code}").status_code == 302


def test_the_holder_collects_with_the_chip_id_card_the_proof_is_the_doors(app, client, counter):
    envelope, clerk = counter["envelope"], counter["supervisor"]
    signature, photo = png(), jpeg()
    form = collect_form()
    response = post_collect(
        client, envelope.code, form, [("signature", signature), ("photo", photo)]
    )
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    assert db.session.get(Envelope, envelope.id).state is State.collected
    attempt = db.session.get(DeliveryAttempt, form["attempt_id"])
    assert (attempt.run_id, attempt.stop_id, attempt.postman_id) == (None, None, clerk.id)
    assert attempt.outcome == "collected" and attempt.attempt_number == 3
    assert attempt.relation == "holder" and attempt.id_check_method == "chip_qr"
    assert attempt.recipient_name == NAME and attempt.name_match == "exact"
    assert attempt.number_match is True and attempt.id_last4 == "3456"
    assert attempt.id_hash and ID_NUMBER not in json.dumps(
        {c.key: str(getattr(attempt, c.key)) for c in DeliveryAttempt.__table__.c}
    )
    assert attempt.signature_strokes == STROKES and attempt.fees_collected_vnd == 26000
    assert {(f.kind, f.sha256) for f in attempt.files} == {
        ("signature", sha(signature)),
        ("photo", sha(photo)),
    }
    assert get_storage().exists(sha(signature)) and get_storage().exists(sha(photo))
    event = db.session.scalars(
        db.select(Event).where(Event.envelope_id == envelope.id, Event.kind == "envelope.collect")
    ).one()
    assert event.actor_id == clerk.id and event.data["attempt_id"] == form["attempt_id"]
    assert event.data["at"] == "counter" and ID_NUMBER not in json.dumps(event.data)
    # The envelope's page shows the hand-over in its history, with its proof.
    page = client.get(f"/console/envelopes/{envelope.code}").get_data(as_text=True)
    assert "Collected at the office" in page or "Đã nhận tại bưu cục" in page
    assert f"/console/proof-files/{sha(signature)}" in page
    assert client.get(f"/console/proof-files/{sha(signature)}").status_code == 200


def test_a_typed_number_and_name_pass_the_same_rule(client, counter):
    form = collect_form(
        id_check_method="typed",
        id_qr=None,
        id_document_type="cccd",
        id_number=ID_NUMBER,
        recipient_name="nguyễn văn an",
    )
    response = post_collect(client, counter["envelope"].code, form)
    assert response.status_code == 201, response.get_json()


def test_a_name_matching_only_without_diacritics_needs_the_clerks_confirmation(client, counter):
    form = collect_form(
        id_check_method="typed",
        id_qr=None,
        id_document_type="cccd",
        id_number=ID_NUMBER,
        recipient_name="Nguyen Van An",
    )
    response = post_collect(client, counter["envelope"].code, form)
    assert (
        response.status_code == 422 and response.json["error"]["code"] == "weak_match_unconfirmed"
    )
    form["weak_match_confirmed"] = "1"
    assert post_collect(client, counter["envelope"].code, form).status_code == 201
    attempt = db.session.get(DeliveryAttempt, form["attempt_id"])
    assert attempt.review_flags == ["weak_identity"] and attempt.needs_review
    # The office's exception queue shows it, though no run holds a counter's record.
    queue = client.get("/console/exceptions").get_data(as_text=True)
    assert f'data-subject="attempt:{attempt.id}"' in queue


def test_a_dossier_paid_with_another_envelope_owes_nothing_at_the_counter(client, counter, factory):
    """Two envelopes of one dossier: the first collected (and paid) at the counter; the second,
    held too, owes nothing more, and a second collection is refused."""
    dossier = factory.dossier(
        agency=counter["agency"],
        envelopes=2,
        recipient_name=NAME,
        recipient_id_number=ID_NUMBER,
    )
    first, second = (hold(envelope) for envelope in dossier.envelopes)
    db.session.commit()
    assert post_collect(client, first.code, collect_form()).status_code == 201
    page = client.get(f"/console/counter/{second.code}").get_data(as_text=True)
    assert 'data-testid="fees-due">0 ₫' in page
    before = snapshot(second)
    again = post_collect(client, second.code, collect_form())
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "fees_already_collected"
    assert snapshot(second) == before
    assert (
        post_collect(client, second.code, collect_form(fees_collected_vnd="0")).status_code == 201
    )


def test_a_double_submit_finds_the_same_record(client, counter):
    envelope = counter["envelope"]
    form, signature = collect_form(), png()
    first = post_collect(client, envelope.code, form, [("signature", signature)])
    second = post_collect(client, envelope.code, form, [("signature", signature)])
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["replay"] is True and second.json["attempt_id"] == form["attempt_id"]
    assert db.session.scalar(db.select(db.func.count(DeliveryAttempt.id))) == 1
    kinds = db.session.scalars(
        db.select(Event.kind).where(
            Event.envelope_id == envelope.id, Event.kind == "envelope.collect"
        )
    ).all()
    assert kinds == ["envelope.collect"]
    # The same id with other content is not the same hand-over.
    other = post_collect(
        client, envelope.code, {**form, "note": "khác"}, [("signature", signature)]
    )
    assert other.status_code == 409 and other.json["error"]["code"] == "attempt_conflict"


@pytest.mark.parametrize(
    "case, code",
    [
        ("wrong_number", "identity_mismatch"),
        ("wrong_name", "identity_mismatch"),
        ("representative_holder_only", "recipient_not_allowed"),
        ("representative_no_authorisation", "authorization_required"),
        ("no_signature", "signature_required"),
        ("no_strokes", "signature_required"),
        ("envelope_qr_as_id", "invalid_id_qr"),
        ("not_an_id_qr", "invalid_id_qr"),
        ("bad_number", "invalid_id_number"),
        ("fees", "fees_mismatch"),
        ("photo_not_a_jpeg", "bad_image"),
        ("bad_attempt_id", "bad_attempt_id"),
        ("not_held", "not_held"),
    ],
)
def test_a_refused_hand_over_says_why_and_changes_nothing(
    app, client, factory, counter, case, code
):
    envelope = counter["envelope"]
    form, files = collect_form(), [("signature", png(77, 33))]
    if case == "wrong_number":
        form.update(
            id_check_method="typed",
            id_qr=None,
            id_document_type="cccd",
            id_number="001090654321",
            recipient_name=NAME,
        )
    elif case == "wrong_name":
        form["id_qr"] = CHIP_QR.replace(NAME, "Lê Thị Hoa")
    elif case == "representative_holder_only":
        form["relation"] = "representative"
        files.append(("authorization", jpeg()))
    elif case == "representative_no_authorisation":
        envelope = hold(factory.envelope(agency=counter["agency"], result_type="land_certificate"))
        db.session.commit()
        form["relation"] = "representative"
    elif case == "no_signature":
        files = []
    elif case == "no_strokes":
        form["signature_strokes"] = "[]"
    elif case == "envelope_qr_as_id":
        form["id_qr"] = sign_envelope_qr(envelope.code, app.config["QR_SIGNING_KEY"])
    elif case == "not_an_id_qr":
        form["id_qr"] = "hello|world"
    elif case == "bad_number":
        form.update(
            id_check_method="typed",
            id_qr=None,
            id_document_type="cccd",
            id_number="12345",
            recipient_name=NAME,
        )
    elif case == "fees":
        form["fees_collected_vnd"] = "0"
    elif case == "photo_not_a_jpeg":
        files.append(("photo", png()))
    elif case == "bad_attempt_id":
        form["attempt_id"] = "not-a-uuid"
    elif case == "not_held":
        envelope = factory.envelope(agency=counter["agency"])
        db.session.commit()
    before = snapshot(envelope)
    response = post_collect(client, envelope.code, form, files)
    assert 400 <= response.status_code < 500
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    assert snapshot(envelope) == before
    assert not any(get_storage().exists(sha(data)) for _field, data in files)


def test_a_representative_with_an_authorisation_collects_a_land_certificate(
    client, factory, counter
):
    envelope = hold(factory.envelope(agency=counter["agency"], result_type="land_certificate"))
    db.session.commit()
    authorisation = jpeg(80, 60)
    form = collect_form(
        relation="representative",
        id_check_method="typed",
        id_qr=None,
        id_document_type="cccd",
        id_number="001085000123",
        recipient_name="Lê Thị Hoa",
    )
    response = post_collect(
        client, envelope.code, form, [("signature", png()), ("authorization", authorisation)]
    )
    assert response.status_code == 201, response.get_json()
    attempt = db.session.get(DeliveryAttempt, form["attempt_id"])
    assert attempt.relation == "representative" and attempt.name_match is None
    assert attempt.id_last4 == "0123"
    assert get_storage().exists(sha(authorisation))


def test_files_exist_only_for_a_committed_record(client, counter, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    def lost_race(*args, **kwargs):
        raise StaleDataError("changed by another transaction")

    monkeypatch.setattr("backend.console.counter.apply_action", lost_race)
    envelope, signature = counter["envelope"], png(91, 45)
    before = snapshot(envelope)
    response = post_collect(client, envelope.code, collect_form(), [("signature", signature)])
    assert response.status_code == 409 and response.json["error"]["code"] == "envelope_busy"
    assert snapshot(envelope) == before
    assert not get_storage().exists(sha(signature))


def test_another_offices_envelope_is_not_found_at_this_counter(app, client, factory, counter):
    other_office = factory.office()
    foreign = hold(factory.envelope(agency=factory.agency(post_office=other_office)))
    db.session.commit()
    before = snapshot(foreign)
    assert client.get(f"/console/counter/{foreign.code}").status_code == 404
    assert client.get("/console/counter", query_string={"scan": foreign.code}).status_code == 404
    assert post_collect(client, foreign.code, collect_form()).status_code == 404
    assert client.post(f"/console/held/{foreign.code}/remind").status_code == 404
    assert snapshot(foreign) == before


def test_the_counter_is_for_staff_only(app, factory, counter):
    postman = factory.user(Role.postman, post_office=counter["office"])
    db.session.commit()
    phone = app.test_client()
    login(phone, postman)
    assert phone.get("/console/held").status_code in (302, 403)
    before = snapshot(counter["envelope"])
    response = post_collect(phone, counter["envelope"].code, collect_form())
    assert response.status_code in (302, 403)
    assert snapshot(counter["envelope"]) == before


_values = st.one_of(
    st.text(max_size=60), st.sampled_from(["holder", "chip_qr", "typed", "cccd", "1", CHIP_QR])
)
_forms = st.dictionaries(
    st.sampled_from(
        [
            "attempt_id",
            "relation",
            "id_check_method",
            "id_qr",
            "id_document_type",
            "id_number",
            "recipient_name",
            "fees_collected_vnd",
            "signature_strokes",
            "weak_match_confirmed",
            "note",
            "scan",
            "other",
        ]
    ),
    _values,
)
_files = st.lists(
    st.tuples(
        st.sampled_from(["signature", "photo", "authorization", "junk"]),
        st.one_of(st.binary(max_size=200), st.sampled_from([png(), jpeg()])),
    ),
    max_size=3,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(
    form=_forms,
    files=_files,
    uuid_ok=st.booleans(),
    strokes=st.one_of(st.none(), st.text(max_size=40), st.just(json.dumps(STROKES))),
)
def test_no_hand_over_earns_a_5xx_nor_changes_anything_when_refused(
    client, counter, form, files, uuid_ok, strokes
):
    envelope = counter["envelope"]
    if uuid_ok:
        form["attempt_id"] = str(uuid.uuid4())
    if strokes is not None:
        form["signature_strokes"] = strokes
    before = snapshot(envelope)
    response = post_collect(client, envelope.code, form, files)
    assert response.status_code < 500, response.get_json()
    if response.status_code >= 400:
        assert snapshot(envelope) == before
    else:  # a whole, valid hand-over: put the envelope back on hold for the next example
        db.session.execute(db.delete(ProofFile))
        db.session.execute(db.delete(DeliveryAttempt))
        db.session.execute(
            db.update(Envelope).where(Envelope.id == envelope.id).values(state="held_at_office")
        )
        db.session.commit()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(text=st.text(max_size=200), channel=st.text(max_size=20))
def test_no_scan_or_reminder_earns_a_5xx(client, counter, text, channel):
    assert client.get("/console/counter", query_string={"scan": text}).status_code < 500
    path_code = text.replace("/", "").replace("?", "").replace("#", "") or "x"
    assert client.get(f"/console/counter/{path_code}").status_code < 500
    assert (
        client.post(f"/console/held/{path_code}/remind", data={"channel": channel}).status_code
        < 500
    )
    assert (
        client.post(
            f"/console/held/{counter['envelope'].code}/remind", data={"channel": channel}
        ).status_code
        < 500
    )
