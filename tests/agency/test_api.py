"""The agencies' REST API: register (one or a batch, idempotent), list a page at a time, follow
a dossier, fetch its proof by expiring links, cancel it before it goes out; each agency sees
only its own dossiers, and every request is counted against its key's rate limit."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.console.services import receive_envelopes
from backend.extensions import db
from backend.models import ApiKey, Dossier, Event, Role
from tests.conftest import NOW, login, running_app
from tests.delivery.helpers import delivered_meta, jpeg, make_run, png, post_attempt, sha

KEY = "trao_test-key-of-agency-one-0123456789abcdef"
OTHER_KEY = "trao_test-key-of-agency-two-0123456789abcdef"
GOOD = {
    "code": "000.00.24.H20-261123-0001",
    "procedure_code": "1.001751",
    "procedure_name": "Cấp thẻ Căn cước",
    "result_type": "citizen_id_card",
    "applicant_name": "Nguyễn Văn An",
    "recipient_name": "Nguyễn Văn An",
    "recipient_phone": "0912345678",
    "recipient_id_number": "020090123456",
    "address_line": "Số 5, đường Lê Lợi",
    "commune_code": 5977,
    "postage_vnd": 26000,
    "envelopes": 2,
}


def bearer(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    clock = {"now": NOW}
    monkeypatch.setattr("backend.clock.now", lambda: clock["now"])
    return clock


@pytest.fixture
def agency(factory):
    agency = factory.agency()
    agency.set_api_key(KEY)
    db.session.commit()
    return agency


@pytest.fixture
def other(factory):
    agency = factory.agency()
    agency.set_api_key(OTHER_KEY)
    db.session.commit()
    return agency


def register(client, body, key=KEY):
    return client.post("/api/v1/dossiers", json=body, headers=bearer(key))


def counts() -> tuple[int, int]:
    dossiers = db.session.scalar(select(func.count()).select_from(Dossier))
    events = db.session.scalar(select(func.count()).select_from(Event))
    return dossiers, events


# --- Registering ---------------------------------------------------------------------------------


def test_one_dossier_is_registered_once_and_the_same_again_answers_the_same(client, agency):
    first = register(client, GOOD)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["code"] == GOOD["code"] and len(body["envelopes"]) == 2
    assert {e["state"] for e in body["envelopes"]} == {"registered"}
    assert body["recipient_id_last4"] == "3456" and "020090123456" not in first.text
    again = register(client, GOOD)
    assert again.status_code == 200 and again.get_json() == body
    assert counts()[0] == 1


def test_the_same_code_with_other_content_is_a_conflict_naming_the_fields(client, agency):
    register(client, GOOD)
    before = counts()
    response = register(client, {**GOOD, "recipient_phone": "0987654321", "envelopes": 3})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "dossier_code_taken"
    assert set(error["fields"]) == {"recipient_phone", "envelopes"}
    assert counts() == before


def test_an_invalid_dossier_is_a_422_with_its_fields(client, agency):
    response = register(client, {**GOOD, "commune_code": 1, "recipient_phone": "12"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"commune_code", "recipient_phone"}
    assert counts() == (0, 0)


def test_a_batch_answers_each_items_result(client, agency):
    register(client, GOOD)
    batch = {
        "dossiers": [
            {**GOOD, "code": "NEW-1", "envelopes": 1},
            GOOD,
            {**GOOD, "recipient_name": "Trần Thị Bình"},
            {**GOOD, "code": "BAD-1", "commune_code": 1},
            "not a dossier",
        ]
    }
    response = register(client, batch)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["result"] for r in body["results"]] == [
        "created",
        "exists",
        "conflict",
        "invalid",
        "invalid",
    ]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert len(body["results"][0]["envelopes"]) == 1
    assert list(body["results"][2]["errors"]) == ["recipient_name"]
    assert "commune_code" in body["results"][3]["errors"] and body["results"][3]["code"] == "BAD-1"
    assert (body["created"], body["exists"], body["conflict"], body["invalid"]) == (1, 1, 1, 2)


@pytest.mark.parametrize(
    "body", [{"dossiers": []}, {"dossiers": "x"}, {"dossiers": [GOOD], "more": 1}]
)
def test_a_malformed_batch_is_a_422_and_registers_nothing(client, agency, body):
    response = register(client, body)
    assert response.status_code == 422 and counts() == (0, 0)


def test_a_batch_is_capped(client, agency):
    response = register(client, {"dossiers": [GOOD] * 501})
    assert response.status_code == 422 and "dossiers" in response.get_json()["error"]["fields"]


def test_a_body_too_large_is_a_413(app, client, agency):
    app.config["TRAO_API_MAX_BODY_MB"] = 0
    response = register(client, GOOD)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    "data", [b"", b"not json", b"[1, 2]", b'{"a": ' * 40 + b"1" + b"}" * 40, b"\xff\xfe"]
)
def test_unreadable_bodies_are_a_422(client, agency, data):
    response = client.post(
        "/api/v1/dossiers", data=data, content_type="application/json", headers=bearer()
    )
    assert response.status_code == 422 and counts() == (0, 0)


def test_a_commune_outside_the_agencys_province_is_refused(client, agency):
    response = register(client, {**GOOD, "commune_code": 4})  # Phường Phúc Xá, Hà Nội
    assert response.status_code == 422
    assert "commune_code" in response.get_json()["error"]["fields"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELD_VALUES = st.fixed_dictionaries(
    {}, optional={name: JSON for name in [*GOOD, "dossiers", "hamlet", "latitude"]}
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(JSON, FIELD_VALUES, st.builds(lambda d: {"dossiers": [d]}, FIELD_VALUES)))
def test_no_json_earns_a_5xx_and_a_refusal_changes_nothing(client, agency, body):
    before = counts()
    response = register(client, body)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert counts() == before
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_no_bytes_earn_a_5xx_on_either_post(client, agency, data):
    before = counts()
    for path in ("/api/v1/dossiers", f"/api/v1/dossiers/{GOOD['code']}/cancel"):
        response = client.post(path, data=data, content_type="text/plain", headers=bearer())
        assert response.status_code < 500
    assert counts() == before


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.text(min_size=1, max_size=80))
def test_no_dossier_code_in_a_url_earns_a_5xx(client, agency, code):
    code = code.replace("?", "").replace("#", "").lstrip("/") or "x"
    for suffix in ("", "/proof"):
        assert client.get(f"/api/v1/dossiers/{code}{suffix}", headers=bearer()).status_code < 500
    assert client.post(f"/api/v1/dossiers/{code}/cancel", headers=bearer()).status_code < 500


def test_the_intake_and_the_api_agree_on_what_a_code_is():
    from backend.agency_api import intake, services

    assert services.DOSSIER_CODE.pattern == intake._CODE.pattern


# --- Keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_no_valid_key_is_a_401_with_www_authenticate(client, agency, headers):
    response = client.get("/api/v1/dossiers", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "invalid_api_key"


def test_a_revoked_key_is_refused(client, agency):
    row = db.session.execute(select(ApiKey)).scalar_one()
    row.revoked_at = NOW
    db.session.commit()
    assert client.get("/api/v1/dossiers", headers=bearer()).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(client, agency, frozen_clock):
    row = db.session.execute(select(ApiKey)).scalar_one()
    client.get("/api/v1/dossiers", headers=bearer())
    db.session.refresh(row)
    assert row.last_used_at == NOW
    frozen_clock["now"] = NOW + timedelta(seconds=59)
    client.get("/api/v1/dossiers", headers=bearer())
    db.session.refresh(row)
    assert row.last_used_at == NOW
    frozen_clock["now"] = NOW + timedelta(seconds=61)
    client.get("/api/v1/dossiers", headers=bearer())
    db.session.refresh(row)
    assert row.last_used_at == NOW + timedelta(seconds=61)


def test_bearer_posts_need_no_csrf_token():
    with running_app(WTF_CSRF_ENABLED=True) as app:
        from tests.conftest import Factory

        agency = Factory().agency()
        agency.set_api_key(KEY)
        db.session.commit()
        client = app.test_client()
        assert register(client, GOOD).status_code == 201
        # The clerk's pages keep theirs: a form post without a token is still refused.
        assert client.post("/login", data={"username": "x"}).status_code == 400


# --- Isolation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/proof"])
def test_another_agencys_dossier_answers_as_a_missing_one(client, agency, other, suffix):
    register(client, GOOD)
    theirs = client.get(f"/api/v1/dossiers/{GOOD['code']}{suffix}", headers=bearer(OTHER_KEY))
    missing = client.get(f"/api/v1/dossiers/NO-SUCH-CODE{suffix}", headers=bearer(OTHER_KEY))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()
    cancel = client.post(f"/api/v1/dossiers/{GOOD['code']}/cancel", headers=bearer(OTHER_KEY))
    assert cancel.status_code == 404
    listed = client.get("/api/v1/dossiers", headers=bearer(OTHER_KEY)).get_json()
    assert listed == {"dossiers": [], "next_cursor": None}


def test_each_agency_has_its_own_codes(client, agency, other):
    assert register(client, GOOD).status_code == 201
    assert register(client, GOOD, key=OTHER_KEY).status_code == 201


# --- Listing -------------------------------------------------------------------------------------


def _codes(page) -> list[str]:
    return [d["code"] for d in page["dossiers"]]


def test_pages_follow_the_cursor_and_stay_stable_under_inserts(client, agency):
    for n in range(5):
        register(client, {**GOOD, "code": f"D-{n}"})
    first = client.get("/api/v1/dossiers?limit=2", headers=bearer()).get_json()
    assert _codes(first) == ["D-4", "D-3"] and first["next_cursor"]
    register(client, {**GOOD, "code": "D-NEW"})  # registered while the agency pages
    second = client.get(
        "/api/v1/dossiers",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=bearer(),
    ).get_json()
    assert _codes(second) == ["D-2", "D-1"]
    third = client.get(
        "/api/v1/dossiers",
        query_string={"limit": 2, "cursor": second["next_cursor"]},
        headers=bearer(),
    ).get_json()
    assert _codes(third) == ["D-0"] and third["next_cursor"] is None


def test_a_cursor_is_opaque_and_only_the_agencys_own(client, agency, other):
    for n in range(3):
        register(client, {**GOOD, "code": f"D-{n}"})
    cursor = client.get("/api/v1/dossiers?limit=1", headers=bearer()).get_json()["next_cursor"]
    for key, value in ((OTHER_KEY, cursor), (KEY, cursor + "x"), (KEY, "eyJpZCI6IDF9")):
        response = client.get(
            "/api/v1/dossiers", query_string={"cursor": value}, headers=bearer(key)
        )
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=x", "status=lost", "registered_from=2026-13-01", "x=1"]
)
def test_bad_filters_are_a_422(client, agency, query):
    assert client.get(f"/api/v1/dossiers?{query}", headers=bearer()).status_code == 422


def test_filters_by_envelope_state_and_registration_day(client, agency, factory, frozen_clock):
    register(client, {**GOOD, "code": "OLD"})
    frozen_clock["now"] = NOW + timedelta(days=2)
    register(client, {**GOOD, "code": "RECEIVED"})
    register(client, {**GOOD, "code": "WAITING"})
    dossier = db.session.execute(select(Dossier).filter_by(code="RECEIVED")).scalar_one()
    supervisor = factory.user(Role.supervisor, post_office=agency.post_office)
    receive_envelopes(dossier.envelopes, actor=supervisor, now=frozen_clock["now"])
    db.session.commit()

    def listed(**query):
        page = client.get("/api/v1/dossiers", query_string=query, headers=bearer()).get_json()
        return set(_codes(page))

    assert listed(status="at_office") == {"RECEIVED"}
    assert listed(status="registered") == {"OLD", "WAITING"}
    # NOW is 09:00 on 23 November in Lạng Sơn; two days later, the 25th.
    assert listed(registered_to="2026-11-23") == {"OLD"}
    assert listed(registered_from="2026-11-24") == {"RECEIVED", "WAITING"}
    assert listed(registered_from="2026-11-24", registered_to="2026-11-24") == set()


# --- One dossier, cancelling ---------------------------------------------------------------------


def test_a_dossier_tells_each_envelopes_state_and_its_history(client, agency):
    register(client, GOOD)
    response = client.get(f"/api/v1/dossiers/{GOOD['code']}", headers=bearer())
    assert response.status_code == 200
    body = response.get_json()
    assert len(body["envelopes"]) == 2
    kinds = [event["kind"] for event in body["history"]]
    assert kinds[0] == "dossier.register" and len(kinds) >= 1
    assert "020090123456" not in response.text


def test_a_code_with_slashes_is_found_by_each_route(client, agency):
    code = "24/2026/H20-0001"
    assert register(client, {**GOOD, "code": code}).status_code == 201
    assert client.get(f"/api/v1/dossiers/{code}", headers=bearer()).get_json()["code"] == code
    proof = client.get(f"/api/v1/dossiers/{code}/proof", headers=bearer())
    assert proof.status_code == 200 and proof.get_json()["attempts"] == []
    cancel = client.post(f"/api/v1/dossiers/{code}/cancel", headers=bearer())
    assert cancel.status_code == 200 and cancel.get_json()["code"] == code


def test_a_dossier_not_yet_received_is_cancelled_with_events(client, agency):
    register(client, GOOD)
    response = client.post(f"/api/v1/dossiers/{GOOD['code']}/cancel", headers=bearer())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {e["state"] for e in body["envelopes"]} == {"cancelled"}
    cancels = [e for e in body["history"] if e["to_state"] == "cancelled"]
    assert len(cancels) == 2 and {e["from_state"] for e in cancels} == {"registered"}
    before = counts()
    again = client.post(f"/api/v1/dossiers/{GOOD['code']}/cancel", headers=bearer())
    assert again.status_code == 200 and counts() == before


def test_a_dossier_at_the_office_cannot_be_cancelled(client, agency, factory):
    register(client, GOOD)
    dossier = db.session.execute(select(Dossier)).scalar_one()
    supervisor = factory.user(Role.supervisor, post_office=agency.post_office)
    receive_envelopes(dossier.envelopes[:1], actor=supervisor, now=NOW)
    db.session.commit()
    before = counts()
    response = client.post(f"/api/v1/dossiers/{GOOD['code']}/cancel", headers=bearer())
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "dossier_not_cancellable"
    assert counts() == before


# --- Proof ---------------------------------------------------------------------------------------


@pytest.fixture
def delivered(app, factory, agency):
    """A dossier of `agency` delivered at the door with a signature and a photo."""
    postman, run = make_run(factory, agency=agency, post_office=agency.post_office)
    phone = app.test_client()
    login(phone, postman)
    files = [("signature", png()), ("photo", jpeg())]
    assert post_attempt(phone, delivered_meta(run.stops[0], files), files).status_code == 201
    db.session.commit()
    return {"code": run.stops[0].envelope.dossier.code, "files": dict(files)}


def test_the_proof_bundle_holds_the_record_hashes_and_links(client, delivered):
    response = client.get(f"/api/v1/dossiers/{delivered['code']}/proof", headers=bearer())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    (attempt,) = body["attempts"]
    assert attempt["outcome"] == "delivered" and attempt["recipient"]["relation"] == "holder"
    assert attempt["recipient"]["id_check_method"] == "chip_qr"
    assert attempt["recipient"]["number_match"] is True
    assert "020090123456" not in response.text
    assert attempt["position"]["lat"] == pytest.approx(21.8453)
    by_kind = {f["kind"]: f for f in attempt["files"]}
    assert {k: f["sha256"] for k, f in by_kind.items()} == {
        k: sha(data) for k, data in delivered["files"].items()
    }
    anonymous = client.application.test_client()
    for kind, data in delivered["files"].items():
        got = anonymous.get(by_kind[kind]["url"])
        assert got.status_code == 200 and got.data == data
        assert got.mimetype == ("image/png" if kind == "signature" else "image/jpeg")
        assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_proof_links_expire_and_cannot_be_forged(client, delivered, frozen_clock, app):
    body = client.get(f"/api/v1/dossiers/{delivered['code']}/proof", headers=bearer()).get_json()
    url = body["attempts"][0]["files"][0]["url"]
    token = url.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/api/v1/proof-files/{forged}").status_code == 404
    assert client.get("/api/v1/proof-files/nothing").status_code == 404
    frozen_clock["now"] = NOW + timedelta(seconds=app.config["TRAO_PROOF_LINK_SECONDS"] + 1)
    expired = client.get(url)
    assert expired.status_code == 410 and expired.get_json()["error"]["code"] == "link_expired"


# --- Rate limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379"])
def test_each_key_is_limited_with_a_429_and_retry_after(storage):
    """In memory (one worker) and in Redis (the count every worker shares, in production)."""
    with running_app(
        RATELIMIT_ENABLED=True,
        TRAO_API_RATE="3 per minute",
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_KEY_PREFIX=f"trao-test-agency-api-{uuid.uuid4().hex}",
    ) as app:
        from tests.conftest import Factory

        one, two = Factory().agency(), Factory().agency()
        one.set_api_key(KEY)
        two.set_api_key(OTHER_KEY)
        db.session.commit()
        client = app.test_client()
        statuses = [client.get("/api/v1/dossiers", headers=bearer()).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        refused = register(client, GOOD)  # every endpoint counts against the same key
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        # Another agency's key has its own count.
        assert client.get("/api/v1/dossiers", headers=bearer(OTHER_KEY)).status_code == 200


def test_the_body_of_every_answer_is_json(client, agency):
    response = client.get("/api/v1/dossiers", headers=bearer())
    assert response.mimetype == "application/json"
    json.loads(response.data)
