"""A month of one office worked out by hand, for the reports' tests (unit and browser).

November 2025 at an office in Vietnam's time zone (UTC+7): two agencies (the police, one
procedure; justice, another), two postmen (Bình, Cúc), thirteen envelopes; and one envelope of
another office. Times below are UTC; the office's day is seven hours ahead.

    env agency  promised  received (UTC)     attempts: run day, postman, outcome, door time (UTC)
    E1  police  11-05     11-02 01:00        1: 11-03 B delivered 11-03 03:00  fee 26,000
    E2  police  11-03     11-02 01:00        1: 11-03 B not_home; 2: 11-04 B delivered 11-04 04:00
    E3  police  11-03     11-02 01:00        1: 11-03 C delivered 11-03 07:00  fee 30,000
    E4  police  11-20     11-09 02:00        1: 11-10 C refused; 2: 11-11 C refused
    E5  police  —         11-09 02:00        1: 11-10 B delivered 11-10 02:00  fee 26,000
    E6  police  11-01     10-30 03:00 (Oct)  1: 11-02 B delivered 11-02 05:00  fee 26,000
    E7  police  —         11-20 16:30 = 23:30 on the 20th, local: in November
    E8  police  —         11-30 17:30 = 00:30 on 1 December, local: NOT in November
    E9  justice 11-10     11-05 01:00        1: 11-06 C delivered 11-06 01:00  fee 200,000
    E10 justice 11-12     11-05 01:00        1: 11-06 C wrong_address; 2: 11-09 C not_home;
                                             3: 11-12 B delivered 11-12 09:00  fee 200,000
    E11 justice 11-20     11-05 01:00        1: 11-06 B not_home
    E12 justice 12-05     11-16 01:00        1: 12-01 B delivered (December's run: not counted)
    E13 justice —         11-16 01:00
    X1  (another office)  11-05 01:00        1: 11-06 its postman, delivered, fee 26,000

Worked out (office's November, by agency):
    police:  received 6 (E1–E5, E7), attempts 8, delivered 5 (E1 E2 E3 E5 E6), failed 3
             first attempt 4/5 (E2 took two), on time 2/4 (E1, E3; E2 and E6 late; E5 no
             promise), hours to delivery 26 + 51 + 30 + 24 + 74 = 205 / 5 = 41.0,
             fees 134,000; not_home 1, refused 2
    justice: received 5, attempts 5, delivered 2 (E9, E10), failed 3, first 1/2,
             on time 2/2, hours 24 + 176 = 200 / 2 = 100.0, fees 400,000;
             not_home 2, wrong_address 1
    total:   received 11, attempts 13, delivered 7, failed 6, first 5/7, on time 4/6,
             hours 405 / 7, fees 534,000; not_home 3, refused 2, wrong_address 1
By postman:
    Bình: attempts 7, delivered 5 (E1 E2 E5 E6 E10), failed 2 (not_home 2), first 3/5,
          on time 2/4 (E1, E10), hours 26 + 51 + 24 + 74 + 176 = 351 / 5 = 70.2, fees 304,000
    Cúc:  attempts 6, delivered 2 (E3 E9), failed 4 (refused 2, wrong_address 1,
          not_home 1), first 2/2, on time 2/2, hours 27.0, fees 230,000
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app

from backend.agency_api.services import register_dossier
from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import (
    Agency,
    DeliveryAttempt,
    DeliveryRun,
    Envelope,
    PostOffice,
    Role,
    User,
)

YEAR = 2025
START, END = date(YEAR, 11, 1), date(YEAR, 11, 30)
POLICE_PROCEDURE = ("1.001751", "Cấp thẻ Căn cước")
JUSTICE_PROCEDURE = ("2.000488", "Cấp Phiếu lý lịch tư pháp")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(YEAR, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Month:
    office: PostOffice
    other_office: PostOffice
    police: Agency
    justice: Agency
    binh: User
    cuc: User
    supervisor: User
    other_supervisor: User
    envelopes: dict[str, Envelope] = field(default_factory=dict)


# (name, agency, promised (month, day) or None, received (month, day, hour, minute), fees due)
ENVELOPES = [
    ("E1", "police", (11, 5), (11, 2, 1, 0), 26_000),
    ("E2", "police", (11, 3), (11, 2, 1, 0), 26_000),
    ("E3", "police", (11, 3), (11, 2, 1, 0), 30_000),
    ("E4", "police", (11, 20), (11, 9, 2, 0), 26_000),
    ("E5", "police", None, (11, 9, 2, 0), 26_000),
    ("E6", "police", (11, 1), (10, 30, 3, 0), 26_000),
    ("E7", "police", None, (11, 20, 16, 30), 26_000),
    ("E8", "police", None, (11, 30, 17, 30), 26_000),
    ("E9", "justice", (11, 10), (11, 5, 1, 0), 200_000),
    ("E10", "justice", (11, 12), (11, 5, 1, 0), 200_000),
    ("E11", "justice", (11, 20), (11, 5, 1, 0), 200_000),
    ("E12", "justice", (12, 5), (11, 16, 1, 0), 200_000),
    ("E13", "justice", None, (11, 16, 1, 0), 200_000),
    ("X1", "other", (11, 10), (11, 5, 1, 0), 26_000),
]

# (envelope, attempt number, run day (month, day), postman, outcome or reason, door time)
ATTEMPTS = [
    ("E1", 1, (11, 3), "binh", "delivered", (11, 3, 3)),
    ("E2", 1, (11, 3), "binh", "not_home", (11, 3, 4)),
    ("E2", 2, (11, 4), "binh", "delivered", (11, 4, 4)),
    ("E3", 1, (11, 3), "cuc", "delivered", (11, 3, 7)),
    ("E4", 1, (11, 10), "cuc", "refused", (11, 10, 3)),
    ("E4", 2, (11, 11), "cuc", "refused", (11, 11, 3)),
    ("E5", 1, (11, 10), "binh", "delivered", (11, 10, 2)),
    ("E6", 1, (11, 2), "binh", "delivered", (11, 2, 5)),
    ("E9", 1, (11, 6), "cuc", "delivered", (11, 6, 1)),
    ("E10", 1, (11, 6), "cuc", "wrong_address", (11, 6, 2)),
    ("E10", 2, (11, 9), "cuc", "not_home", (11, 9, 2)),
    ("E10", 3, (11, 12), "binh", "delivered", (11, 12, 9)),
    ("E11", 1, (11, 6), "binh", "not_home", (11, 6, 3)),
    ("E12", 1, (12, 1), "binh", "delivered", (12, 1, 2)),
    ("X1", 1, (11, 6), "other_postman", "delivered", (11, 6, 2)),
]


def _user(role: Role, username: str, full_name: str, office: PostOffice) -> User:
    user = User(username=username, full_name=full_name, role=role.value, post_office=office)
    user.set_password("correct horse", method="pbkdf2:sha256:1000")
    db.session.add(user)
    return user


def seed_month(office: PostOffice | None = None, *, prefix: str = "rp") -> Month:
    """The month above, at `office` (a new one if None); usernames start with `prefix`."""
    if office is None:
        office = _office("240100", "Bưu điện Thành phố Lạng Sơn")
    other = _office(f"9{prefix[:1].upper()}0001"[:6], "Bưu điện huyện Cao Lộc")
    police = Agency(code=f"{prefix}-CA", name="Công an tỉnh", province_code=20, post_office=office)
    justice = Agency(code=f"{prefix}-TP", name="Sở Tư pháp", province_code=20, post_office=office)
    elsewhere = Agency(
        code=f"{prefix}-XX", name="Công an huyện", province_code=20, post_office=other
    )
    db.session.add_all([police, justice, elsewhere])
    users = {
        "binh": _user(Role.postman, f"{prefix}binh", "Trần Văn Bình", office),
        "cuc": _user(Role.postman, f"{prefix}cuc", "Lê Thị Cúc", office),
        "other_postman": _user(Role.postman, f"{prefix}khac", "Hoàng Văn Khác", other),
    }
    supervisor = _user(Role.supervisor, f"{prefix}giamsat", "Phạm Giám Sát", office)
    other_supervisor = _user(Role.supervisor, f"{prefix}giamsat2", "Vũ Giám Sát", other)
    db.session.flush()
    month = Month(
        office=office,
        other_office=other,
        police=police,
        justice=justice,
        binh=users["binh"],
        cuc=users["cuc"],
        supervisor=supervisor,
        other_supervisor=other_supervisor,
    )
    agencies = {"police": police, "justice": justice, "other": elsewhere}
    for name, agency_key, promised, received, fees in ENVELOPES:
        procedure = JUSTICE_PROCEDURE if agency_key == "justice" else POLICE_PROCEDURE
        received_at = utc(*received)
        dossier = register_dossier(
            agencies[agency_key],
            {
                "code": f"{prefix}-{name}",
                "procedure_code": procedure[0],
                "procedure_name": procedure[1],
                "result_type": "judicial_record" if agency_key == "justice" else "citizen_id_card",
                "applicant_name": f"Người nhận {name}",
                "recipient_name": f"Người nhận {name}",
                "recipient_phone": "0912345678",
                "address_line": "Số 5, đường Lê Lợi",
                "commune_code": 5977,
                "commune_name": "Phường Đông Kinh",
                "province_code": 20,
                "province_name": "Lạng Sơn",
                "postage_vnd": 26_000,
                "agency_fee_vnd": fees - 26_000 if fees > 26_000 else 0,
                "promised_date": date(YEAR, *promised) if promised else None,
            },
            envelope_count=1,
            now=received_at - timedelta(days=1),
            id_key=current_app.config["ID_HASH_KEY"],
            code_prefix="RP",
        )
        envelope = dossier.envelopes[0]
        apply_action(envelope, Action.receive, now=received_at, actor=supervisor)
        month.envelopes[name] = envelope
    runs: dict[tuple[str, tuple[int, int]], DeliveryRun] = {}
    for name, number, run_day, postman_key, outcome, door in ATTEMPTS:
        postman = users[postman_key]
        run = runs.get((postman_key, run_day))
        if run is None:
            run = DeliveryRun(
                post_office_id=postman.post_office_id,
                postman=postman,
                run_date=date(YEAR, *run_day),
                state="closed",
                created_at=utc(*run_day, 0),
            )
            db.session.add(run)
            db.session.flush()
            runs[(postman_key, run_day)] = run
        envelope = month.envelopes[name]
        delivered = outcome == "delivered"
        door_time = utc(*door)
        db.session.add(
            DeliveryAttempt(
                id=str(uuid.uuid4()),
                envelope_id=envelope.id,
                run_id=run.id,
                postman_id=postman.id,
                attempt_number=number,
                outcome="delivered" if delivered else "failed",
                reason_code=None if delivered else outcome,
                device_time=door_time,
                received_at=door_time + timedelta(minutes=5),
                fees_collected_vnd=envelope.dossier.fees_due_vnd if delivered else 0,
                meta_digest="0" * 64,
            )
        )
    db.session.flush()
    return month


def _office(code: str, name: str) -> PostOffice:
    office = PostOffice(
        code=code,
        name=name,
        address="Số 51 đường Lê Lợi, Lạng Sơn",
        province_code=20,
        latitude=21.8486,
        longitude=106.7610,
    )
    db.session.add(office)
    db.session.flush()
    return office
