"""Sending through the gateways, against local stand-ins of Zalo ZNS and the SMS provider:
the right template, parameters and link; Zalo failing permanently → SMS at once; failing
transiently → retried, then SMS; never twice; nothing at night; a parked webhook blocks nothing;
parked notifications on the console; no personal data in the logs."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime

from backend import clock
from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import OutboxMessage, Role, TrackingLink
from backend.outbox.tasks import deliver_pass
from backend.tracking.links import find_link
from tests.conftest import NOW, Factory, login
from tests.notify.conftest import TEMPLATES, notifications

PHONE = "0912345678"


def _out_for_delivery(count: int = 1, agency=None, **dossier):
    factory = Factory()
    supervisor = factory.user(Role.supervisor)
    envelopes = []
    for _ in range(count):
        envelope = factory.dossier(agency, **dossier).envelopes[0]
        apply_action(envelope, Action.receive, now=NOW, actor=supervisor)
        apply_action(envelope, Action.load, now=NOW, actor=supervisor)
        envelopes.append(envelope)
    db.session.commit()
    return supervisor, envelopes


def _pass(app, times: int = 1, pause: float = 0.0) -> None:
    for _ in range(times):
        deliver_pass(app, rng=random.Random(7))
        time.sleep(pause)


def test_zalo_gets_the_template_its_parameters_and_a_working_link(notify_app, stand_in):
    supervisor, (envelope,) = _out_for_delivery()
    apply_action(envelope, Action.fail, now=NOW, actor=supervisor, data={"reason": "not_home"})
    db.session.commit()
    _pass(notify_app)

    sent = stand_in.of("/zns")
    assert [body["template_id"] for body in sent] == [
        TEMPLATES["out_for_delivery"],
        TEMPLATES["attempt_failed"],
    ]
    for body in sent:
        assert body["phone"] == "84912345678"
        assert body["template_data"]["code"] == envelope.code
        link = body["template_data"]["link"]
        assert link.startswith("https://trao.example.vn/t/")
        found = find_link(link.rsplit("/", 1)[1], now=clock.now(), keep_days=30)
        assert found is not None and found.envelope_id == envelope.id
    assert sent[1]["template_data"]["reason"] == "không có người ở nhà"
    assert sent[0]["template_data"]["link"] == sent[1]["template_data"]["link"]  # one link
    assert db.session.query(TrackingLink).count() == 1
    assert stand_in.of("/sms") == []
    rows = notifications()
    assert {(r.status, r.gateway) for r in rows} == {("sent", "zalo")}
    assert {r.provider_message_id for r in rows} == {"z1", "z2"}
    assert sorted(stand_in.accepted.values()) == [1, 1]


def test_not_on_zalo_goes_by_sms_at_once(notify_app, stand_in):
    stand_in.zalo = lambda tracking_id, n: "zns:-118"  # no Zalo account on this number
    _supervisor, envelopes = _out_for_delivery(count=2)
    _pass(notify_app)  # one pass: the fallback does not wait for a retry

    sms = stand_in.of("/sms")
    assert len(stand_in.of("/zns")) == 2 and len(sms) == 2
    for body, envelope in zip(sms, envelopes, strict=True):
        assert body["to"] == "84912345678" and body["from"] == "TRAO"
        assert body["text"].isascii() and envelope.code in body["text"]
        assert "https://trao.example.vn/t/" in body["text"]
    rows = notifications()
    assert {(r.status, r.gateway, r.tries) for r in rows} == {("sent", "sms", 1)}
    assert {r.provider_message_id[0] for r in rows} == {"s"}
    assert set(stand_in.delivered.values()) == {"/sms"}
    assert max(stand_in.accepted.values()) == 1


def test_zalo_down_is_retried_then_sms(notify_app, stand_in):
    stand_in.zalo = lambda tracking_id, n: "http:503"
    _out_for_delivery()
    _pass(notify_app, times=6, pause=0.25)  # backoff of at most 0.2 s (tests' settings)

    (row,) = notifications()
    assert row.status == "sent" and row.gateway == "sms"
    tracking_id = f"trao-{row.id}"
    assert stand_in.tries["/zns", tracking_id] == 3  # TRAO_NOTIFY_FALLBACK_AFTER_TRIES
    assert stand_in.tries["/sms", tracking_id] == 1
    assert stand_in.accepted[tracking_id] == 1


def test_zalo_timing_out_is_retried_then_sms(notify_app, stand_in):
    notify_app.config["TRAO_NOTIFY_TIMEOUT_SECONDS"] = 0.2
    notify_app.config["TRAO_NOTIFY_FALLBACK_AFTER_TRIES"] = 2
    notify_app.config["TRAO_WEBHOOK_BACKOFF_SECONDS"] = 60.0  # no second try in this pass
    stand_in.zalo = lambda tracking_id, n: "ok"
    stand_in.slow = 0.5  # every answer comes too late...
    _out_for_delivery()
    _pass(notify_app)
    (row,) = notifications()
    assert row.status == "pending" and row.gateway == "zalo" and row.last_error.startswith("zalo:")
    assert row.tries == 1
    stand_in.slow = 0.0  # ...until the SMS (Zalo "delivered" late: the honest window, docs)
    stand_in.zalo = lambda tracking_id, n: "http:503"
    notify_app.config["TRAO_WEBHOOK_BACKOFF_SECONDS"] = 0.05
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=clock.now()))
    db.session.commit()
    _pass(notify_app, times=4, pause=0.25)
    (row,) = notifications()
    assert row.status == "sent" and row.gateway == "sms"


def test_sms_failing_too_is_parked_listed_and_re_sent(notify_app, stand_in):
    stand_in.zalo = lambda tracking_id, n: "zns:-118"
    stand_in.sms = lambda tracking_id, n: "http:400"  # the provider refuses the number
    supervisor, (envelope,) = _out_for_delivery()
    _pass(notify_app)
    (row,) = notifications()
    assert row.status == "parked" and row.gateway == "sms" and row.last_error == "sms:http_400"

    office_supervisor = Factory().user(Role.supervisor, post_office=envelope.dossier.post_office)
    db.session.commit()
    client = notify_app.test_client()
    login(client, office_supervisor)
    page = client.get("/console/outbox").get_data(as_text=True)
    assert f'data-testid="outbox-message-{row.id}"' in page
    assert "sms:http_400" in page and "0912345678" not in page and "/t/" not in page

    stranger = Factory().user(Role.supervisor)  # another office: as if it did not exist
    db.session.commit()
    other = notify_app.test_client()
    login(other, stranger)
    assert f"outbox-message-{row.id}" not in other.get("/console/outbox").get_data(as_text=True)
    assert other.post(f"/console/outbox/messages/{row.id}/resend").status_code == 404
    assert notifications()[0].status == "parked"

    stand_in.sms = lambda tracking_id, n: "ok"
    assert client.post(f"/console/outbox/messages/{row.id}/resend").status_code == 302
    _pass(notify_app)
    (row,) = notifications()
    assert row.status == "sent" and row.gateway == "sms"  # Zalo first again, then SMS
    assert stand_in.accepted[f"trao-{row.id}"] == 1


def test_nothing_is_sent_at_night(notify_app, stand_in, monkeypatch):
    notify_app.config["TRAO_NOTIFY_HOURS"] = "07:00-21:00"
    _out_for_delivery()
    night = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 22:30 in Vietnam
    monkeypatch.setattr(clock, "now", lambda: night)
    _pass(notify_app)
    assert stand_in.requests == [] and notifications()[0].status == "pending"
    morning = datetime(2026, 11, 24, 0, 5, tzinfo=UTC)  # 07:05
    monkeypatch.setattr(clock, "now", lambda: morning)
    _pass(notify_app)
    assert notifications()[0].status == "sent" and len(stand_in.requests) == 1


def test_a_parked_webhook_does_not_hold_back_the_citizens_messages(notify_app, stand_in):
    factory = Factory()
    agency = factory.agency(webhook_url="http://127.0.0.1:9/refused", webhook_secret_salt="ab" * 8)
    _supervisor, (envelope,) = _out_for_delivery(agency=agency)
    db.session.execute(
        db.update(OutboxMessage).where(OutboxMessage.channel == "webhook").values(status="parked")
    )
    db.session.commit()
    _pass(notify_app)
    (row,) = notifications()
    assert row.status == "sent" and row.dossier_id == envelope.dossier_id


def test_the_logs_hold_no_phone_no_text_no_link(notify_app, stand_in, caplog):
    notify_app.config["TRAO_NOTIFY_GATEWAYS"] = "log"
    caplog.set_level(logging.DEBUG)
    supervisor, (envelope,) = _out_for_delivery()
    apply_action(envelope, Action.fail, now=NOW, actor=supervisor, data={"reason": "moved"})
    db.session.commit()
    _pass(notify_app)
    notify_app.config["TRAO_NOTIFY_GATEWAYS"] = "zalo,sms"
    stand_in.zalo = lambda tracking_id, n: "http:503"
    stand_in.sms = lambda tracking_id, n: "http:500"
    apply_action(envelope, Action.hold, now=NOW, actor=supervisor)
    db.session.commit()
    _pass(notify_app, times=3, pause=0.25)

    rows = notifications()
    assert [r.gateway for r in rows[:2]] == ["log", "log"] and rows[0].status == "sent"
    assert any(f"message {rows[0].id} (out_for_delivery)" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("912345678", "84912345678", "/t/", "trao.example.vn", "nguoi", "Trao:", "nhà"):
        assert secret not in logged, secret
