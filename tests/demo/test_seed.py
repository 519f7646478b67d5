"""The demo: a Lạng Sơn office, its staff and agencies, and a full day of plausible work."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from backend.demo.seed import DOSSIERS_PER_DAY, demo_api_key, seed_base, seed_day
from backend.domain.codes import is_valid_envelope_code
from backend.domain.routing import haversine_m
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, DeliveryRun, Dossier, Envelope, User
from tests.conftest import clean_database

SEED_NOW = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 11:30 in Lạng Sơn


def _seed(app):
    config = app.config["TRAO_CONFIG"]
    office = seed_base(config, SEED_NOW)
    seed_day(config, office, SEED_NOW)
    db.session.commit()
    return office


def _snapshot():
    rows = db.session.execute(
        select(Dossier.code, Dossier.recipient_name, Dossier.address_line, Envelope.code)
        .join(Envelope.dossier)
        .order_by(Envelope.code)
    ).all()
    return [tuple(r) for r in rows]


@pytest.fixture
def seeded(app):
    return _seed(app)


def test_the_demo_is_the_same_every_time(app, seeded):
    first = _snapshot()
    clean_database()
    _seed(app)
    second = _snapshot()
    assert first == second
    assert len(first) >= DOSSIERS_PER_DAY


def test_seeding_twice_adds_nothing(app, seeded):
    before = db.session.execute(select(func.count(Dossier.id))).scalar_one()
    from backend.demo.seed import has_demo_day

    assert has_demo_day(seeded, SEED_NOW.date())
    seed_base(app.config["TRAO_CONFIG"], SEED_NOW)
    assert db.session.execute(select(func.count(Dossier.id))).scalar_one() == before
    assert db.session.execute(select(func.count(User.id))).scalar_one() == 6


def test_each_postman_has_a_run_today_with_work_already_done(seeded):
    runs = db.session.execute(select(DeliveryRun)).scalars().all()
    assert sorted(r.postman.username for r in runs) == ["buuta1", "buuta2", "buuta3"]
    for run in runs:
        assert 20 <= len(run.stops) <= 40
        assert run.run_date.isoformat() == "2026-11-23"
        states = {stop.envelope.state.value for stop in run.stops}
        assert {"delivered", "out_for_delivery"} <= states
    outcomes = db.session.execute(select(DeliveryAttempt.outcome)).scalars().all()
    assert "delivered" in outcomes and "failed" in outcomes


def test_every_screen_has_something_to_show(seeded):
    states = set(db.session.execute(select(Envelope._state).distinct()).scalars())
    assert {
        "registered",
        "at_office",
        "held_at_office",
        "out_for_delivery",
        "delivered",
        "attempt_failed",
    } <= states


def test_the_office_is_in_lang_son_and_homes_are_nearby(seeded):
    assert seeded.name == "Bưu điện tỉnh Lạng Sơn"
    assert abs(seeded.latitude - 21.85) < 0.02 and abs(seeded.longitude - 106.76) < 0.02
    for d in db.session.execute(select(Dossier)).scalars():
        assert haversine_m(seeded.latitude, seeded.longitude, d.latitude, d.longitude) < 4_000
        assert d.province_name == "Lạng Sơn"
        assert d.commune_name.startswith("Phường ")


def test_communes_are_real_post_2025_communes():
    from vietnam_provinces import Ward

    from backend.demo.people import AREAS

    for area in AREAS:
        ward = Ward.from_code(area.ward_code)
        assert int(ward.province_code) == 20


def test_names_carry_diacritics_and_agencies_are_the_three(seeded):
    names = db.session.execute(select(Dossier.recipient_name)).scalars().all()
    assert sum(any(ord(c) > 127 for c in n) for n in names) > len(names) * 0.9
    codes = set(db.session.execute(select(Agency.code)).scalars())
    assert codes == {"CA-LS", "VPDK-LS", "STP-LS"}


def test_fees_and_who_may_receive_vary(seeded):
    dossiers = db.session.execute(select(Dossier)).scalars().all()
    assert {d.postage_vnd for d in dossiers} >= {26_000, 34_000}
    assert any(d.agency_fee_vnd for d in dossiers)
    assert any(d.holder_only for d in dossiers) and any(d.holder_only is None for d in dossiers)
    assert all(isinstance(d.fees_due_vnd, int) for d in dossiers)


def test_codes_are_valid_s10(seeded):
    codes = db.session.execute(select(Envelope.code)).scalars().all()
    assert all(is_valid_envelope_code(c) and c.endswith("VN") for c in codes)


def test_no_full_id_number_is_stored_anywhere(seeded):
    """ID numbers of Lạng Sơn residents start with 020: no text column holds 12 such digits."""
    pattern = re.compile(r"\b020\d{9}\b")
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for value in row.values():
                assert not (isinstance(value, str) and pattern.search(value)), table.name
    assert all(
        len(d.recipient_id_last4) == 4 and len(d.recipient_id_hash) == 64
        for d in db.session.execute(select(Dossier)).scalars()
    )


def test_seed_demo_command_prints_the_logins(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "giamsat" in result.output and "buuta1" in result.output and "demo1234" in result.output
    # The demo agency keys printed are ones the agency API accepts.
    key = demo_api_key("CA-LS")
    assert key in result.output
    answer = app.test_client().get("/api/v1/dossiers", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.get_json()["dossiers"]
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "already exists" in again.output


def test_seed_demo_is_refused_in_production(app):
    app.config["TRAO_CONFIG"].ENV = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refused in production" in result.output


def test_a_new_day_gets_its_own_runs_beside_the_old_ones(app, seeded):
    from datetime import timedelta

    from backend.demo.seed import has_demo_day

    tomorrow = SEED_NOW + timedelta(days=1)
    assert not has_demo_day(seeded, tomorrow.date())
    seed_day(app.config["TRAO_CONFIG"], seeded, tomorrow)
    db.session.commit()
    assert has_demo_day(seeded, tomorrow.date())
    days = db.session.execute(select(DeliveryRun.run_date).distinct()).scalars().all()
    assert sorted(d.isoformat() for d in days) == ["2026-11-23", "2026-11-24"]
