"""The holder rule on every identity path: method x match / weak / mismatch x relation.

The dossier's recipient is Nguyễn Văn An, ID card ending 3456. A holder's ID must match (name and
number, or the last four digits VNeID shows); a weak match (the name without diacritics, or a
passport whose number can't be compared) needs the postman's confirmation and is flagged; a
mismatch is refused whatever the method and whatever the postman confirms. A representative's
own ID is read, not compared with the holder's, and is never refused for it.
"""

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import DeliveryAttempt
from tests.conftest import login
from tests.delivery.helpers import HOLDER_ID, default_files, delivered_meta, jpeg, make_run
from tests.delivery.helpers import post_attempt as post

EXACT, BARE, OTHER = "NGUYỄN VĂN AN", "Nguyen Van An", "Lê Văn Cường"
RIGHT_ID, WRONG_ID = HOLDER_ID, "020090129999"

# (method, document): how the ID was checked, and on which paper.
METHODS = [
    ("chip_qr", "cccd"),
    ("typed", "cccd"),
    ("typed", "passport"),
    ("vneid_shown", "cccd"),
]
# How the ID compares with the recipient, per paper: (name, number) shown.
CASES = {
    "cccd": {
        "match": [(EXACT, RIGHT_ID)],
        "weak": [(BARE, RIGHT_ID)],
        "mismatch": [(OTHER, RIGHT_ID), (EXACT, WRONG_ID), (BARE, WRONG_ID)],
    },
    # A passport's number can't be compared: an exact name is only ever a weak match.
    "passport": {
        "match": [],
        "weak": [(EXACT, "C1234567"), (BARE, "C1234567")],
        "mismatch": [(OTHER, "C1234567")],
    },
}


def recipient(method, document, name, number, *, relation="holder", confirmed=False):
    given = {
        "name": name,
        "relation": relation,
        "id_document_type": document,
        "id_check_method": method,
        "id_number": number,
        "weak_match_confirmed": confirmed,
    }
    if method == "vneid_shown":  # read off the screen: the name and the last four digits
        given.update(id_number=None, id_last4=number[-4:])
    return given


MATRIX = [
    pytest.param(method, document, verdict, name, number, id=f"{method}-{document}-{verdict}")
    for method, document in METHODS
    for verdict, shown in CASES[document].items()
    for name, number in shown
]


@pytest.fixture
def holder_stop(client, factory):
    postman, run = make_run(factory)  # a citizen ID card: the holder only
    login(client, postman)
    return run.stops[0]


@pytest.fixture
def land_stop(client, factory):
    postman, run = make_run(factory, result_type="land_certificate")  # a representative may
    login(client, postman)
    return run.stops[0]


def attempt_count() -> int:
    return db.session.scalar(select(func.count()).select_from(DeliveryAttempt))


def send(client, stop, given, files=None):
    files = files or default_files()
    return post(client, delivered_meta(stop, files, recipient=given), files)


@pytest.mark.parametrize(("method", "document", "verdict", "name", "number"), MATRIX)
def test_the_holder_rule(client, holder_stop, method, document, verdict, name, number):
    unconfirmed = send(client, holder_stop, recipient(method, document, name, number))
    if verdict == "match":
        assert unconfirmed.status_code == 201, unconfirmed.get_json()
        attempt = db.session.get(DeliveryAttempt, unconfirmed.get_json()["attempt_id"])
        assert (attempt.name_match, attempt.number_match) == ("exact", True)
        assert attempt.review_flags == [] and attempt.needs_review is False
        return
    expected = "weak_match_unconfirmed" if verdict == "weak" else "identity_mismatch"
    assert unconfirmed.status_code == 422
    assert unconfirmed.get_json()["error"]["code"] == expected
    assert attempt_count() == 0

    confirmed = send(client, holder_stop, recipient(method, document, name, number, confirmed=True))
    if verdict == "mismatch":  # confirming never overrides a mismatch
        assert confirmed.status_code == 422
        assert confirmed.get_json()["error"]["code"] == "identity_mismatch"
        assert attempt_count() == 0
        return
    assert confirmed.status_code == 201, confirmed.get_json()
    attempt = db.session.get(DeliveryAttempt, confirmed.get_json()["attempt_id"])
    assert attempt.review_flags == ["weak_identity"] and attempt.needs_review is True
    assert attempt.id_check_method == method and attempt.id_document_type == document


@pytest.mark.parametrize(("method", "document", "verdict", "name", "number"), MATRIX)
@pytest.mark.parametrize("relation", ["representative", "organisation_representative"])
def test_a_representatives_own_id_is_read_not_compared(
    client, land_stop, method, document, verdict, name, number, relation
):
    files = [*default_files(), ("authorization", jpeg(colour=(5, 5, 5)))]
    response = send(
        client, land_stop, recipient(method, document, name, number, relation=relation), files
    )
    assert response.status_code == 201, response.get_json()
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.relation == relation and attempt.name_match is None
    assert attempt.id_last4 == number[-4:] and attempt.review_flags == []


@pytest.mark.parametrize("method", ["chip_qr", "typed", "vneid_shown"])
def test_a_holder_only_result_refuses_a_representative_whatever_the_method(
    client, holder_stop, method
):
    files = [*default_files(), ("authorization", jpeg(colour=(5, 5, 5)))]
    given = recipient(method, "cccd", EXACT, RIGHT_ID, relation="representative")
    response = send(client, holder_stop, given, files)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "recipient_not_allowed"


def test_vneid_needs_the_last_four_digits_and_no_whole_number(client, holder_stop):
    given = recipient("vneid_shown", "cccd", EXACT, RIGHT_ID)
    del given["id_last4"]
    response = send(client, holder_stop, given)
    assert response.status_code == 422
    assert "id_last4" in response.get_json()["error"]["fields"]["recipient"]
    given.update(id_last4="3456", id_number=RIGHT_ID)
    response = send(client, holder_stop, given)
    assert response.status_code == 422
    assert "id_number" in response.get_json()["error"]["fields"]["recipient"]


def test_a_dossier_with_no_number_compares_the_name_alone(client, factory):
    postman, run = make_run(factory, count=2, recipient_id_number=None)
    login(client, postman)
    first, second = run.stops
    response = send(client, first, recipient("vneid_shown", "cccd", EXACT, WRONG_ID))
    assert response.status_code == 201, response.get_json()
    mismatch = send(client, second, recipient("typed", "cccd", OTHER, RIGHT_ID))
    assert mismatch.status_code == 422
    assert mismatch.get_json()["error"]["code"] == "identity_mismatch"
