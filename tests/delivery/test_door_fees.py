"""Several envelopes at one door (issue 11): the fees of a dossier are collected once, whichever
of its envelopes is delivered first, on every path; each envelope's attempt keeps its own proof
record, pointing at the same stored files when the door's signature and photos are shared."""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

import backend.delivery.receiving as delivery_receiving
from backend.console.services import plan_run, receive_envelopes
from backend.delivery.receiving import dossier_fees_paid
from backend.extensions import db
from backend.models import DeliveryAttempt, Event, ProofFile, Role
from tests.conftest import NOW, Factory, login, running_app
from tests.delivery.helpers import (
    TODAY,
    default_files,
    delivered_meta,
    failed_meta,
    jpeg,
    post_attempt,
    stored_files,
)

FEES = 26_000 + 8_000


def error_code(response) -> str | None:
    return (response.get_json() or {}).get("error", {}).get("code")


def door_run(factory, envelopes=2, **dossier_kw):
    """A postman's run of today with one dossier's `envelopes` envelopes (one door)."""
    office = factory.office()
    postman = factory.user(Role.postman, post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    agency = factory.agency(post_office=office)
    dossier = factory.dossier(
        agency=agency, envelopes=envelopes, agency_fee_vnd=8_000, **dossier_kw
    )
    receive_envelopes(dossier.envelopes, actor=supervisor, now=NOW)
    run = plan_run(
        office=office,
        postman=postman,
        run_date=TODAY,
        envelopes=dossier.envelopes,
        actor=supervisor,
        now=NOW,
    )
    db.session.commit()
    return postman, run, dossier


def attempts_of(dossier) -> list[DeliveryAttempt]:
    ids = [e.id for e in dossier.envelopes]
    stmt = select(DeliveryAttempt).where(DeliveryAttempt.envelope_id.in_(ids))
    return list(db.session.execute(stmt.order_by(DeliveryAttempt.received_at)).scalars())


def test_the_fees_of_a_dossier_are_collected_once(client, factory):
    postman, run, dossier = door_run(factory)
    assert dossier.fees_due_vnd == FEES
    login(client, postman)
    first, second = run.stops
    files = default_files()
    assert post_attempt(client, delivered_meta(first, files), files).status_code == 201
    assert dossier_fees_paid(second.envelope_id)

    # The fees again on its other envelope: refused, and nothing of it kept.
    again = delivered_meta(second, files)
    assert again["fees_collected_vnd"] == FEES
    response = post_attempt(client, again, files)
    assert response.status_code == 409 and error_code(response) == "fees_already_collected"
    assert response.get_json()["error"]["fields"] == {"fees_due_vnd": 0}
    assert db.session.get(DeliveryAttempt, again["attempt_id"]) is None
    db.session.expire_all()
    assert second.envelope.state.value == "out_for_delivery"

    # Nothing collected with it: delivered.
    free = delivered_meta(second, files, fees_collected_vnd=0)
    assert post_attempt(client, free, files).status_code == 201
    collected = [a.fees_collected_vnd for a in attempts_of(dossier)]
    assert sorted(collected) == [0, FEES]


def test_the_first_envelope_delivered_still_owes_the_fees(client, factory):
    postman, run, dossier = door_run(factory)
    login(client, postman)
    first, second = run.stops
    files = default_files()
    # A failed attempt collects nothing: the dossier is not paid by it.
    assert post_attempt(client, failed_meta(first), []).status_code == 201
    assert not dossier_fees_paid(second.envelope_id)
    response = post_attempt(client, delivered_meta(second, files, fees_collected_vnd=0), files)
    assert response.status_code == 422 and error_code(response) == "fees_mismatch"
    assert response.get_json()["error"]["fields"] == {"fees_due_vnd": FEES}
    assert post_attempt(client, delivered_meta(second, files), files).status_code == 201


def test_runs_today_says_which_dossiers_are_paid(client, factory):
    postman, run, dossier = door_run(factory)
    login(client, postman)
    first, second = run.stops
    files = default_files()
    stops = client.get("/api/v1/runs/today").get_json()["runs"][0]["stops"]
    assert [s["fees_collected_on_dossier"] for s in stops] == [False, False]
    assert [s["fees_due_vnd"] for s in stops] == [FEES, FEES]
    assert post_attempt(client, delivered_meta(first, files), files).status_code == 201
    stops = client.get("/api/v1/runs/today").get_json()["runs"][0]["stops"]
    by_id = {s["stop_id"]: s for s in stops}
    assert by_id[first.id]["fees_collected_on_dossier"] is True
    assert by_id[second.id]["fees_collected_on_dossier"] is True
    assert by_id[second.id]["fees_due_vnd"] == FEES  # the dossier's fees: the contract's field


def test_one_door_two_attempts_share_the_stored_files(client, factory):
    """The door's one signature and one photo sent with each envelope's attempt: two proof
    records, the same hashes in both, each file stored once."""
    postman, run, dossier = door_run(factory)
    login(client, postman)
    first, second = run.stops
    files = default_files()
    one = delivered_meta(first, files)
    two = delivered_meta(second, files, fees_collected_vnd=0)
    assert post_attempt(client, one, files).status_code == 201
    assert post_attempt(client, two, files).status_code == 201
    a, b = (db.session.get(DeliveryAttempt, m["attempt_id"]) for m in (one, two))
    rows = lambda attempt: sorted((f.kind, f.sha256) for f in attempt.files)  # noqa: E731
    assert rows(a) == rows(b) and len(rows(a)) == 2
    assert {f.id for f in a.files}.isdisjoint({f.id for f in b.files})  # each its own rows
    kept = [p for p in stored_files() if not p.startswith("staging")]
    for _kind, digest in rows(a):
        assert sum(digest in p for p in kept) == 1, kept
    count = db.session.execute(select(ProofFile).where(ProofFile.sha256 == rows(a)[0][1]))
    assert len(count.scalars().all()) == 2
    # Each envelope's history names its own attempt.
    for meta in (one, two):
        events = db.session.execute(select(Event).where(Event.kind == "envelope.deliver")).scalars()
        assert any((e.data or {}).get("attempt_id") == meta["attempt_id"] for e in events)


def test_one_delivered_and_one_failed_at_the_same_door(client, factory):
    """An ID card (holder-only) and another result for the same person: a representative
    with an authorisation receives the other; the ID card fails as not the recipient, its
    proof record pointing at the same photos."""
    office = factory.office()
    postman = factory.user(Role.postman, post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    agency = factory.agency(post_office=office)
    card = factory.dossier(agency=agency)  # citizen_id_card: holder only
    other = factory.dossier(agency=agency, result_type="land_certificate", holder_only=False)
    envelopes = [card.envelopes[0], other.envelopes[0]]
    receive_envelopes(envelopes, actor=supervisor, now=NOW)
    run = plan_run(
        office=office,
        postman=postman,
        run_date=TODAY,
        envelopes=envelopes,
        actor=supervisor,
        now=NOW,
    )
    db.session.commit()
    login(client, postman)
    by_code = {s.envelope.code: s for s in run.stops}
    card_stop, other_stop = by_code[envelopes[0].code], by_code[envelopes[1].code]
    files = [*default_files(), ("authorization", jpeg(colour=(10, 10, 200)))]
    representative = {
        "name": "Trần Thị Bình",
        "relation": "representative",
        "id_document_type": "cccd",
        "id_check_method": "chip_qr",
        "id_number": "001190000111",
    }
    # The ID card to a representative: refused by the server whatever the phone says.
    refused = delivered_meta(card_stop, files, recipient=representative)
    response = post_attempt(client, refused, files)
    assert response.status_code == 422 and error_code(response) == "recipient_not_allowed"
    delivered = delivered_meta(other_stop, files, recipient=representative)
    photos = [(f, d) for f, d in files if f != "signature"]
    failed = failed_meta(card_stop, photos, reason="not_the_recipient")
    assert post_attempt(client, delivered, files).status_code == 201
    assert post_attempt(client, failed, photos).status_code == 201
    d, f = (db.session.get(DeliveryAttempt, m["attempt_id"]) for m in (delivered, failed))
    assert (d.outcome, f.outcome, f.reason_code) == ("delivered", "failed", "not_the_recipient")
    assert {x.sha256 for x in f.files} < {x.sha256 for x in d.files}
    assert (d.fees_collected_vnd, f.fees_collected_vnd) == (other.fees_due_vnd, 0)


@pytest.fixture
def shared_app(tmp_path):
    """An app on the PostgreSQL test database, which several connections share."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the dossier's row lock is PostgreSQL's (SQLite writes one at a time)")
    with running_app(SQLALCHEMY_DATABASE_URI=url, STORAGE_URL=str(tmp_path / "proofs")) as app:
        yield app


def test_two_envelopes_of_a_dossier_paying_at_once_collect_once(shared_app, monkeypatch):
    """Two phones deliver two envelopes of one dossier at the same moment, both collecting its
    fees: held until both have read their stops, one lands, the other is refused."""
    barrier = threading.Barrier(2, timeout=10)
    original = delivery_receiving._fees_due

    def fees_due_after_both_read(*args):
        barrier.wait()
        return original(*args)

    monkeypatch.setattr(delivery_receiving, "_fees_due", fees_due_after_both_read)
    postman, run, dossier = door_run(Factory())
    first, second = run.stops
    files = default_files()
    requests = [delivered_meta(first, files), delivered_meta(second, files)]
    clients = []
    for _ in requests:
        client = FlaskClient(shared_app, shared_app.response_class, use_cookies=True)
        login(client, postman)
        clients.append(client)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(post_attempt, c, m, files) for c, m in zip(clients, requests, strict=True)
        ]
        responses = [f.result() for f in futures]
    assert sorted(r.status_code for r in responses) == [201, 409], [r.get_json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert error_code(loser) == "fees_already_collected"
    db.session.expire_all()
    assert [a.fees_collected_vnd for a in attempts_of(dossier)] == [FEES]


def test_a_dossier_paid_on_another_run_is_paid_on_this_one(app, factory):
    """The dossier's first envelope delivered by one postman; its second on another's run
    the next hour: that run says it is paid, and the server takes nothing more for it."""
    office = factory.office()
    supervisor = factory.user(Role.supervisor, post_office=office)
    agency = factory.agency(post_office=office)
    dossier = factory.dossier(agency=agency, envelopes=2, agency_fee_vnd=8_000)
    one, two = dossier.envelopes
    receive_envelopes([one, two], actor=supervisor, now=NOW)
    runs = []
    for envelope in (one, two):
        postman = factory.user(Role.postman, post_office=office)
        run = plan_run(
            office=office,
            postman=postman,
            run_date=TODAY,
            envelopes=[envelope],
            actor=supervisor,
            now=NOW,
        )
        runs.append((postman, run))
    db.session.commit()
    files = default_files()
    (first_postman, first_run), (second_postman, second_run) = runs
    client, other = app.test_client(), app.test_client()
    login(client, first_postman)
    login(other, second_postman)
    stop = other.get("/api/v1/runs/today").get_json()["runs"][0]["stops"][0]
    assert stop["fees_collected_on_dossier"] is False
    assert post_attempt(client, delivered_meta(first_run.stops[0], files), files).status_code == 201
    stop = other.get("/api/v1/runs/today").get_json()["runs"][0]["stops"][0]
    assert stop["fees_collected_on_dossier"] is True
    meta = delivered_meta(second_run.stops[0], files, fees_collected_vnd=0)
    assert post_attempt(other, meta, files).status_code == 201


def test_a_dossier_paid_at_the_counter_is_paid_at_the_door(client, factory):
    """One envelope of the dossier collected at the office's counter with the fees (its record
    written as backend/console/counter.py writes it: no run, outcome "collected"); its other
    envelope at the door collects nothing more."""
    postman, run, dossier = door_run(factory, envelopes=2)
    first, second = run.stops
    clerk = factory.user(Role.supervisor, post_office=run.post_office)
    db.session.add(
        DeliveryAttempt(
            id=str(uuid.uuid4()),
            envelope_id=first.envelope_id,
            run_id=None,
            stop_id=None,
            postman_id=clerk.id,
            attempt_number=1,
            outcome="collected",
            scan_method="typed",
            device_time=NOW,
            received_at=NOW,
            fees_collected_vnd=FEES,
            meta_digest="0" * 64,
        )
    )
    db.session.commit()
    assert dossier_fees_paid(second.envelope_id)
    login(client, postman)
    files = default_files()
    response = post_attempt(client, delivered_meta(second, files), files)
    assert response.status_code == 409 and error_code(response) == "fees_already_collected"
    stops = client.get("/api/v1/runs/today").get_json()["runs"][0]["stops"]
    assert {s["stop_id"]: s["fees_collected_on_dossier"] for s in stops}[second.id] is True
    free = delivered_meta(second, files, fees_collected_vnd=0)
    assert post_attempt(client, free, files).status_code == 201
