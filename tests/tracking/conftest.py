"""An envelope with a tracking link, and the stages of its story driven by the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import current_app

from backend import clock
from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import DeliveryAttempt, DeliveryRun, Envelope, Role, RunStop, User
from backend.tracking.links import issue_link
from tests.conftest import NOW, Factory

ID_NUMBER = "020090123456"
PHONE = "0912345678"
ADDRESS_LINE = "Số 5, đường Lê Lợi"
POSTMAN_NAME = "Nông Văn Thắng"
RECEIVER = "Nguyễn Văn An"


@dataclass
class Story:
    """One envelope followed by its citizen, and the people who move it."""

    envelope: Envelope
    token: str
    supervisor: User
    postman: User

    def receive(self, at: datetime = NOW) -> None:
        apply_action(self.envelope, Action.receive, now=at, actor=self.supervisor)
        db.session.commit()

    def load(self, at: datetime = NOW, position: int = 1, others: int = 0) -> DeliveryRun:
        """Out on today's run of the postman, at `position` among `others + 1` stops."""
        office = self.envelope.dossier.post_office
        run = DeliveryRun(
            post_office=office,
            postman=self.postman,
            run_date=clock.local_date(at, office.timezone),
            created_at=at,
        )
        db.session.add(run)
        db.session.flush()
        stops = [RunStop(run_id=run.id, envelope_id=self.envelope.id, position=position)]
        for n in range(others):
            extra = Factory().envelope(agency=self.envelope.dossier.agency)
            stops.append(RunStop(run_id=run.id, envelope_id=extra.id, position=100 + n))
        db.session.add_all(stops)
        apply_action(self.envelope, Action.load, now=at, actor=self.supervisor)
        db.session.commit()
        return run

    def attempt(self, outcome: str, at: datetime = NOW, reason: str | None = None) -> str:
        attempt_id = str(uuid.uuid4())
        db.session.add(
            DeliveryAttempt(
                id=attempt_id,
                envelope_id=self.envelope.id,
                postman_id=self.postman.id,
                attempt_number=self.envelope.attempts_made + 1,
                outcome=outcome,
                reason_code=reason,
                recipient_name=RECEIVER if outcome != "failed" else None,
                id_last4=ID_NUMBER[-4:] if outcome != "failed" else None,
                meta_digest="0" * 64,
                received_at=at,
                device_time=at,
            )
        )
        db.session.flush()
        action = {"delivered": Action.deliver, "failed": Action.fail, "collected": Action.collect}
        apply_action(
            self.envelope,
            action[outcome],
            now=at,
            actor=self.postman,
            data={"attempt_id": attempt_id, "outcome": outcome, "reason": reason},
        )
        db.session.commit()
        return attempt_id

    def hold(self, at: datetime = NOW) -> None:
        apply_action(self.envelope, Action.hold, now=at, actor=self.supervisor)
        db.session.commit()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


def make_story(factory: Factory) -> Story:
    office = factory.office(opening_hours="7:30–17:00, thứ Hai đến thứ Bảy")
    agency = factory.agency(post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    postman = factory.user(Role.postman, post_office=office, full_name=POSTMAN_NAME)
    envelope = factory.envelope(
        agency=agency,
        recipient_phone=PHONE,
        recipient_id_number=ID_NUMBER,
        address_line=ADDRESS_LINE,
        recipient_name=RECEIVER,
    )
    token = issue_link(
        envelope, key=current_app.config["TRACKING_KEY"], now=NOW - timedelta(hours=1)
    )
    db.session.commit()
    return Story(envelope, token, supervisor, postman)


@pytest.fixture
def story(app, factory) -> Story:
    return make_story(factory)


def verify(client, token: str, digits: str = PHONE[-4:], address: str = "192.0.2.10"):
    return client.post(
        f"/t/{token}/verify", data={"digits": digits}, environ_base={"REMOTE_ADDR": address}
    )
