"""One schema checks a dossier however it arrives; registering it twice keeps one."""

from __future__ import annotations

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import func, select

from backend.agency_api.intake import DossierIn, Outcome, normalise_phone, register_dossiers
from backend.extensions import db
from backend.models import Dossier, Envelope
from tests.conftest import NOW

GOOD = {
    "code": "000.00.24.H20-261123-0001",
    "procedure_code": "1.001751",
    "procedure_name": "Cấp thẻ Căn cước",
    "result_type": "citizen_id_card",
    "applicant_name": "Nguyễn Văn An",
    "recipient_name": "Nguyễn Văn An",
    "recipient_phone": "+84 912 345 678",
    "recipient_id_number": "020090123456",
    "address_line": "Số 5, đường Lê Lợi",
    "hamlet": "Tổ dân phố 3",
    "commune_code": 5977,
    "postage_vnd": 26000,
    "promised_date": "2026-11-25",
    "envelopes": 2,
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def test_a_good_dossier_is_read_with_names_from_the_official_list():
    data = DossierIn(province_code=20).load(GOOD)
    assert data["recipient_phone"] == "0912345678"
    assert data["commune_name"] == "Phường Đông Kinh"
    assert data["province_code"] == 20 and data["province_name"]
    assert data["agency_fee_vnd"] == 0 and data["latitude"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"commune_code": 1}, "commune_code"),
        ({"commune_code": "5977"}, "commune_code"),
        ({"recipient_phone": "12345"}, "recipient_phone"),
        ({"recipient_id_number": "0200901234"}, "recipient_id_number"),
        ({"result_type": "diploma"}, "result_type"),
        ({"procedure_name": "   "}, "procedure_name"),
        ({"envelopes": 0}, "envelopes"),
        ({"postage_vnd": -1}, "postage_vnd"),
        ({"latitude": 21.8}, "longitude"),
        ({"code": "a b"}, "code"),
        ({"promised_date": "25/11/2026"}, "promised_date"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_each_fault_is_named_by_its_field(change, field):
    with pytest.raises(ValidationError) as err:
        DossierIn(province_code=20).load({**GOOD, **change})
    assert field in err.value.messages


def test_a_commune_of_another_province_is_refused():
    hanoi_ward = 4  # Phường Ba Đình, Hà Nội
    with pytest.raises(ValidationError) as err:
        DossierIn(province_code=20).load({**GOOD, "commune_code": hanoi_ward})
    assert "commune_code" in err.value.messages


@pytest.mark.parametrize("text", ["0912345678", "0912 345 678", "84912345678", "0205.3870.123"])
def test_phones_as_people_write_them(text):
    assert normalise_phone(text).startswith("0")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), JSON), JSON)
def test_any_input_is_read_or_refused_with_field_errors(extra, whole):
    for data in ({**GOOD, **extra}, whole):
        try:
            DossierIn(province_code=20).load(data)
        except ValidationError as err:
            assert isinstance(err.messages, dict)


def _register(agency, items):
    config = current_app.config
    loaded = [DossierIn(province_code=agency.province_code).load(i) for i in items]
    return register_dossiers(
        agency, loaded, now=NOW, id_key=config["ID_HASH_KEY"], code_prefix="HC"
    )


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_same_dossier_sent_twice_is_kept_once(factory):
    agency = factory.agency()
    first = _register(agency, [GOOD])
    again = _register(agency, [GOOD])
    assert [r.outcome for r in first + again] == [Outcome.created, Outcome.exists]
    assert first[0].dossier.id == again[0].dossier.id
    assert _count(Dossier) == 1 and _count(Envelope) == 2


def test_the_same_code_with_other_content_is_a_conflict_that_changes_nothing(factory):
    agency = factory.agency()
    _register(agency, [GOOD])
    other = {**GOOD, "recipient_id_number": "020090999999", "envelopes": 1}
    (result,) = _register(agency, [other])
    assert result.outcome is Outcome.conflict
    assert sorted(result.differs) == ["envelopes", "recipient_id_number"]
    assert _count(Envelope) == 2


def test_two_agencies_may_use_the_same_code(factory):
    one, two = factory.agency(), factory.agency()
    assert _register(one, [GOOD])[0].outcome is Outcome.created
    assert _register(two, [GOOD])[0].outcome is Outcome.created


def test_a_lost_race_is_answered_from_the_winner(factory, monkeypatch):
    """Another request registers the code between our look and our insert: ours is 'exists'."""
    from backend.agency_api import intake

    agency = factory.agency()
    (winner,) = _register(agency, [GOOD])
    calls = []
    real = intake.kept_dossiers

    def kept_late(agency_id, codes):
        calls.append(codes)
        return {} if len(calls) == 1 else real(agency_id, codes)

    monkeypatch.setattr(intake, "kept_dossiers", kept_late)
    (result,) = _register(agency, [GOOD])
    assert result.outcome is Outcome.exists and result.dossier.id == winner.dossier.id
    assert _count(Dossier) == 1


def test_a_batch_answers_each_item_in_order_a_repeated_code_from_the_first(factory):
    agency = factory.agency()
    _register(agency, [GOOD])
    second = {**GOOD, "code": "B-2", "envelopes": 1}
    items = [second, GOOD, {**second, "hamlet": "Thôn Nà Làng"}, second]
    results = _register(agency, items)
    assert [r.outcome for r in results] == [
        Outcome.created,
        Outcome.exists,
        Outcome.conflict,
        Outcome.exists,
    ]
    assert results[2].differs == ["hamlet"] and results[0].dossier is results[3].dossier
    assert _count(Dossier) == 2 and _count(Envelope) == 3
    codes = {e.code for e in results[0].dossier.envelopes}
    assert len(codes) == 1 and codes.isdisjoint(e.code for e in results[1].dossier.envelopes)


def test_a_batch_costs_the_same_statements_whatever_its_size(app, factory):
    """Registering is written per batch, not per dossier: a file of 5,000 rows is one import.

    On SQLite (tests, development) SQLAlchemy inserts rows one at a time when it must give their
    ids back in order, so there only the other statements are counted."""
    from sqlalchemy import event

    agency = factory.agency()
    _register(agency, [GOOD])  # the first ever also makes the envelope codes' counter
    batched = db.engine.dialect.name == "postgresql"
    counts = []
    for size in (2, 40):
        statements = []

        def count(conn, cursor, statement, *args, statements=statements):
            if batched or not statement.startswith("INSERT"):
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            _register(agency, [{**GOOD, "code": f"S{size}-{n}"} for n in range(size)])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 12, counts
