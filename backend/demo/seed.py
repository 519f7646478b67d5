"""Build the demo: base records once, and a day's batch of dossiers and runs for each new day.

Everything comes from a seeded random source, so the demo is the same every time for a given day.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from backend.agency_api.services import register_dossier
from backend.clock import local_date
from backend.config import Config
from backend.console.services import plan_run, receive_envelopes
from backend.delivery.receiving import record_attempt
from backend.demo.people import PROVINCE_CODE, Person, make_person
from backend.domain.identity import check_identity
from backend.domain.idnum import hash_id_number, last4
from backend.domain.lifecycle import Action
from backend.domain.policy import FailureReason, IdCheckMethod, Relation, ResultType
from backend.domain.routing import order_nearest_first
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import Agency, DeliveryRun, Dossier, Envelope, PostOffice, Role, User

DEMO_SEED = 45_2016  # Decision 45/2016/QĐ-TTg
DEMO_PASSWORD = "demo1234"
DOSSIERS_PER_DAY = 150
STOPS_PER_RUN = (20, 40)
NOT_YET_RECEIVED = 15  # envelopes still at "registered": the agency has not handed them over
HELD_AT_OFFICE = 8  # citizens who asked to collect at the counter
SHARE_ATTEMPTED = 0.3  # of each run, done earlier in the day
SHARE_FAILED = 0.25  # of the attempts made
POSTAGE_VND = 26_000  # within the province (Khánh Hòa's published price, DOMAIN.md)
FORWARDING_FEE_VND = 8_000  # for collecting an agency fee on its behalf

OFFICE = {
    "code": "240000",
    "name": "Bưu điện tỉnh Lạng Sơn",
    "address": "Số 51 đường Lê Lợi, phường Lương Văn Tri, tỉnh Lạng Sơn",
    "commune_code": 5983,
    "province_code": PROVINCE_CODE,
    "latitude": 21.8486,
    "longitude": 106.7610,
}

USERS = [
    ("giamsat", "Hoàng Thị Thu Trang", Role.supervisor),
    ("buuta1", "Nông Văn Thắng", Role.postman),
    ("buuta2", "Lương Thị Hạnh", Role.postman),
    ("buuta3", "Vi Đức Mạnh", Role.postman),
    ("admin", "Quản trị hệ thống", Role.admin),
]


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    result_type: ResultType
    holder_only: bool | None
    agency_fee_vnd: int


AGENCIES = {
    "CA-LS": (
        "Phòng Cảnh sát quản lý hành chính về trật tự xã hội, Công an tỉnh Lạng Sơn",
        "CA",
        [
            Procedure("1.001751", "Cấp thẻ Căn cước cho công dân từ đủ 14 tuổi", ResultType.citizen_id_card, None, 0),
            Procedure("1.001760", "Cấp đổi thẻ Căn cước", ResultType.citizen_id_card, None, 0),
        ],
    ),
    "VPDK-LS": (
        "Văn phòng Đăng ký đất đai tỉnh Lạng Sơn",
        "DD",
        [
            Procedure("1.012755", "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu", ResultType.land_certificate, None, 0),
            Procedure("1.012766", "Đăng ký biến động quyền sử dụng đất do chuyển nhượng", ResultType.land_certificate, True, 0),
        ],
    ),
    "STP-LS": (
        "Sở Tư pháp tỉnh Lạng Sơn",
        "TP",
        [
            Procedure("2.000488", "Cấp Phiếu lý lịch tư pháp số 1 cho công dân Việt Nam", ResultType.judicial_record, None, 200_000),
            Procedure("2.000505", "Cấp Phiếu lý lịch tư pháp số 2 cho công dân Việt Nam", ResultType.judicial_record, True, 200_000),
        ],
    ),
}  # fmt: skip
AGENCY_SHARES = {"CA-LS": 0.5, "VPDK-LS": 0.25, "STP-LS": 0.25}
AGENCY_USERS = {"CA-LS": ("congan", "Đinh Văn Hùng")}


@dataclass(frozen=True)
class DemoDay:
    """What a day's batch made."""

    day: date
    dossiers: int
    runs: int
    stops: int


def day_rng(day: date) -> random.Random:
    """A random source fixed by the demo seed and the day."""
    return random.Random(f"{DEMO_SEED}:{day.isoformat()}")


def demo_person(dossier_code: str) -> Person:
    """The demo recipient of a dossier (tests use it to rebuild a matching ID card QR)."""
    return make_person(random.Random(f"{DEMO_SEED}:person:{dossier_code}"))


def seed_base(config: Config, now: datetime) -> PostOffice:
    """The office, staff and agencies; idempotent."""
    office = db.session.execute(
        select(PostOffice).where(PostOffice.code == OFFICE["code"])
    ).scalar_one_or_none()
    if office is None:
        office = PostOffice(**OFFICE, created_at=now)
        db.session.add(office)
        db.session.flush()
    for username, full_name, role in USERS:
        _ensure_user(config, username, full_name, role, office=office, now=now)
    for code, (name, _prefix, _procs) in AGENCIES.items():
        agency = db.session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()
        if agency is None:
            agency = Agency(
                code=code,
                name=name,
                province_code=PROVINCE_CODE,
                post_office=office,
                created_at=now,
            )
            # A fixed demo key, printed by `flask seed-demo` (and `make run`) for trying the
            # agency API; production agencies get random ones from the console.
            agency.set_api_key(demo_api_key(code), label="Demo", now=now)
            db.session.add(agency)
            db.session.flush()
        if code in AGENCY_USERS:
            username, full_name = AGENCY_USERS[code]
            _ensure_user(config, username, full_name, Role.agency, agency=agency, now=now)
    return office


def demo_api_key(agency_code: str) -> str:
    return "demo-" + hashlib.sha256(f"{DEMO_SEED}:{agency_code}".encode()).hexdigest()[:32]


def _ensure_user(config, username, full_name, role, *, now, office=None, agency=None) -> User:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        user = User(
            username=username,
            full_name=full_name,
            role=role.value,
            post_office=office if role is not Role.agency else None,
            agency=agency,
            is_demo=True,
            created_at=now,
        )
        user.set_password(DEMO_PASSWORD, method=config.PASSWORD_HASH_METHOD)
        db.session.add(user)
        db.session.flush()
    return user


def has_demo_day(office: PostOffice, day: date) -> bool:
    """Whether the demo postmen already have runs for this day."""
    count = db.session.execute(
        select(func.count(DeliveryRun.id)).where(
            DeliveryRun.post_office_id == office.id, DeliveryRun.run_date == day
        )
    ).scalar_one()
    return count > 0


def seed_day(config: Config, office: PostOffice, now: datetime) -> DemoDay:
    """Register, receive and plan a day's envelopes, with some already attempted."""
    tz = office.timezone
    day = local_date(now, tz)
    rng = day_rng(day)
    day_start = datetime.combine(day, time(7, 30), ZoneInfo(tz))
    supervisor = _user("giamsat")
    postmen = [_user(f"buuta{i}") for i in (1, 2, 3)]
    agencies = {a.code: a for a in db.session.execute(select(Agency)).scalars()}
    registered_at = min(now, day_start) - timedelta(hours=16)

    dossiers = [
        _register(config, agencies, rng, day, n, registered_at) for n in range(DOSSIERS_PER_DAY)
    ]
    envelopes = [e for d in dossiers for e in d.envelopes]
    to_receive = envelopes[NOT_YET_RECEIVED:]
    policy = config.DELIVERY_POLICY
    receive_envelopes(
        to_receive, actor=supervisor, now=registered_at + timedelta(hours=2), policy=policy
    )
    for envelope in to_receive[:HELD_AT_OFFICE]:
        apply_action(
            envelope,
            Action.hold,
            now=registered_at + timedelta(hours=3),
            actor=supervisor,
            policy=policy,
            data={"asked_by": "citizen"},
        )
    available = to_receive[HELD_AT_OFFICE:]
    planned_at = min(now, day_start)
    stops = 0
    origin = (office.latitude, office.longitude)
    for postman in postmen:
        take = min(rng.randint(*STOPS_PER_RUN), len(available) - 1)
        chosen, available = available[:take], available[take:]
        route = order_nearest_first(origin, chosen, _position)
        run = plan_run(
            office=office,
            postman=postman,
            run_date=day,
            envelopes=route,
            actor=supervisor,
            now=planned_at,
            policy=policy,
        )
        _attempt_some(config, run, rng, now=now, since=planned_at)
        stops += len(route)
    db.session.flush()
    return DemoDay(day=day, dossiers=len(dossiers), runs=len(postmen), stops=stops)


def _user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def _position(envelope: Envelope) -> tuple[float, float] | None:
    d = envelope.dossier
    return (d.latitude, d.longitude) if d.latitude is not None else None


def _register(config, agencies, rng: random.Random, day: date, n: int, now: datetime) -> Dossier:
    agency_code = rng.choices(list(AGENCY_SHARES), weights=list(AGENCY_SHARES.values()))[0]
    _name, prefix, procedures = AGENCIES[agency_code]
    procedure = rng.choice(procedures)
    code = f"{prefix}-{day:%y%m%d}-{n + 1:04d}"
    person = demo_person(code)
    free = rng.random() < 0.02  # revolutionaries and Heroic Mothers pay no postage
    agency_fee = procedure.agency_fee_vnd if rng.random() < 0.6 else 0
    postage = 0 if free else POSTAGE_VND + (FORWARDING_FEE_VND if agency_fee else 0)
    fields = {
        "code": code,
        "procedure_code": procedure.code,
        "procedure_name": procedure.name,
        "result_type": procedure.result_type.value,
        "holder_only": procedure.holder_only,
        **person.recipient_fields(),
        "postage_vnd": postage,
        "agency_fee_vnd": agency_fee,
        "promised_date": day + timedelta(days=1),
    }
    # Land certificates sometimes travel as two envelopes (certificate and map extract).
    count = 2 if procedure.result_type is ResultType.land_certificate and rng.random() < 0.2 else 1
    return register_dossier(
        agencies[agency_code],
        fields,
        envelope_count=count,
        now=now,
        id_key=config.ID_HASH_KEY,
        code_prefix=config.ENVELOPE_CODE_PREFIX,
        recipient_id_number=person.id_number,
    )


def _attempt_some(config, run: DeliveryRun, rng: random.Random, *, now: datetime, since: datetime):
    """Record the first stops of a run as done earlier in the day (delivered or failed)."""
    done = int(len(run.stops) * SHARE_ATTEMPTED)
    span = max((now - since).total_seconds(), 60.0)
    for i, stop in enumerate(run.stops[:done]):
        when = since + timedelta(seconds=span * (i + 1) / (done + 1))
        dossier = stop.envelope.dossier
        person = demo_person(dossier.code)
        failed = rng.random() < SHARE_FAILED
        details = {
            "scan_method": "qr",
            "latitude": dossier.latitude + rng.uniform(-0.0002, 0.0002),
            "longitude": dossier.longitude + rng.uniform(-0.0002, 0.0002),
            "accuracy_m": round(rng.uniform(6, 25), 1),
        }
        if failed:
            reason = rng.choice([FailureReason.not_home, FailureReason.phone_unreachable])
            details.update(reason_code=reason.value, note=None)
        else:
            check = check_identity(
                expected_name=dossier.recipient_name,
                expected_id_last4=dossier.recipient_id_last4,
                given_name=person.full_name.upper(),
                given_id_number=person.id_number,
            )
            details.update(
                recipient_name=person.full_name,
                relation=Relation.holder.value,
                id_document_type="cccd",
                id_check_method=IdCheckMethod.chip_qr.value,
                id_last4=last4(person.id_number),
                id_hash=hash_id_number(person.id_number, config.ID_HASH_KEY),
                name_match=check.name_match.value,
                number_match=check.number_match,
                fees_collected_vnd=dossier.fees_due_vnd,
            )
        record_attempt(
            attempt_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            stop=stop,
            postman=run.postman,
            outcome="failed" if failed else "delivered",
            now=when,
            device_time=when - timedelta(seconds=rng.randint(5, 90)),
            meta_digest=hashlib.sha256(f"demo:{stop.id}".encode()).hexdigest(),
            policy=config.DELIVERY_POLICY,
            details=details,
        )
