"""GET /api/v1/session and /api/v1/runs/today: shapes, labels, access, one query path."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import event

from backend.domain.envelope_qr import sign_envelope_qr
from backend.extensions import db
from backend.models import Role, RunState
from tests.conftest import NOW, login
from tests.delivery.helpers import TODAY, failed_meta, make_run, post_attempt


def test_session_gives_the_user_a_csrf_token_and_the_server_time(client, factory):
    postman = factory.user(Role.postman, full_name="Hoàng Văn Bưu")
    login(client, postman)
    body = client.get("/api/v1/session").get_json()
    assert body["user"] == {
        "id": postman.id,
        "username": postman.username,
        "full_name": "Hoàng Văn Bưu",
        "role": "postman",
    }
    assert body["csrf_token"] and body["app_version"] == "0.1.0"
    assert body["server_time"] == NOW.isoformat()


@pytest.mark.parametrize("url", ["/api/v1/session", "/api/v1/runs/today"])
def test_anonymous_gets_a_json_401(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_runs_today_is_for_postmen_only(client, factory, role):
    login(client, factory.user(role))
    response = client.get("/api/v1/runs/today")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_runs_today_has_the_contract_shape_in_vietnamese(app, client, factory):
    postman, run = make_run(factory, agency_fee_vnd=8_000)
    login(client, postman)
    body = client.get("/api/v1/runs/today").get_json()
    assert body["date"] == "2026-11-23" and body["server_time"] == NOW.isoformat()
    assert body["settings"] == {
        "photo_max_side": 1280,
        "photo_quality": 0.8,
        "max_photos": 6,
        "geofence_metres": 200,
        "max_home_attempts": 2,
    }
    reasons = {r["code"]: r for r in body["reasons"]}
    assert reasons["not_home"] == {
        "code": "not_home",
        "label": "Không có người ở nhà",
        "needs_note": False,
    }
    assert reasons["other"]["needs_note"] is True
    assert {r["code"] for r in body["relations"]} == {
        "holder",
        "representative",
        "organisation_representative",
    }
    assert next(r for r in body["relations"] if r["code"] == "holder")["label"] == "Chính chủ"
    (run_body,) = body["runs"]
    assert run_body["id"] == run.id and run_body["state"] == "planned"
    assert run_body["date"] == "2026-11-23"
    assert run_body["doors"] == [[run.stops[0].id]]
    (stop,) = run_body["stops"]
    envelope = run.stops[0].envelope
    payload = sign_envelope_qr(envelope.code, app.config["QR_SIGNING_KEY"])
    assert stop == {
        "stop_id": run.stops[0].id,
        "position": 1,
        "visit": 1,
        "door": run.stops[0].id,
        "envelope_code": envelope.code,
        "qr_digest": hashlib.sha256(payload.encode()).hexdigest(),
        "state": "out_for_delivery",
        "attempts_made": 0,
        "attempt_number": 1,
        "attempts_left": 2,
        "dossier_code": envelope.dossier.code,
        "procedure_name": "Cấp thẻ Căn cước",
        "result_type": "citizen_id_card",
        "result_type_label": "Thẻ Căn cước",
        "representative_allowed": False,
        "recipient": {"name": "Nguyễn Văn An", "phone": "0912345678", "id_last4": "3456"},
        "address": {
            "line": "Số 5, đường Lê Lợi",
            "hamlet": "Tổ dân phố 3",
            "commune": "Phường Đông Kinh",
            "province": "Lạng Sơn",
            "full": "Số 5, đường Lê Lợi, Tổ dân phố 3, Phường Đông Kinh, Lạng Sơn",
        },
        "location": {"lat": 21.8452, "lon": 106.7612},
        "fees_due_vnd": 34_000,
        "fees_collected_on_dossier": False,
        "last_attempt": None,
    }
    assert payload not in str(body)  # the phone gets the digest, never the signed payload


def test_a_land_certificate_may_go_to_a_representative(client, factory):
    postman, _ = make_run(factory, result_type="land_certificate")
    login(client, postman)
    (stop,) = client.get("/api/v1/runs/today").get_json()["runs"][0]["stops"]
    assert stop["representative_allowed"] is True
    assert stop["result_type_label"] == "Giấy chứng nhận quyền sử dụng đất"


def test_runs_today_shows_only_the_postmans_own_open_runs_of_today(client, factory):
    postman, mine = make_run(factory)
    make_run(factory)  # another postman's run
    _, yesterday = make_run(factory, postman=postman, run_date=TODAY - timedelta(days=1))
    _, closed = make_run(factory, postman=postman)
    closed.state = RunState.closed.value
    db.session.flush()
    login(client, postman)
    runs = client.get("/api/v1/runs/today").get_json()["runs"]
    assert [r["id"] for r in runs] == [mine.id]


def test_runs_today_shows_the_last_attempt(client, factory):
    postman, run = make_run(factory)
    login(client, postman)
    stop = run.stops[0]
    meta = failed_meta(stop)
    assert post_attempt(client, meta, []).status_code == 201
    (stop_body,) = client.get("/api/v1/runs/today").get_json()["runs"][0]["stops"]
    assert stop_body["state"] == "attempt_failed" and stop_body["attempts_made"] == 1
    assert stop_body["attempt_number"] == 2
    assert stop_body["last_attempt"] == {
        "attempt_id": meta["attempt_id"],
        "outcome": "failed",
        "reason_code": "not_home",
        "fees_collected_vnd": 0,
        "at": (NOW - timedelta(minutes=3)).isoformat(),
    }


def _count_queries(client) -> int:
    count = 0

    def _count(*args, **kwargs):
        nonlocal count
        count += 1

    db.session.commit()
    db.session.expunge_all()  # the tests share one session: start each count from scratch
    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        assert client.get("/api/v1/runs/today").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)
    return count


def test_runs_today_does_not_query_per_stop(app, factory):
    small, _ = make_run(factory, 1)
    big, _ = make_run(factory, 6)
    small_client, big_client = app.test_client(), app.test_client()
    login(small_client, small)
    login(big_client, big)
    assert _count_queries(big_client) == _count_queries(small_client)


def test_the_phone_gets_the_deployments_delivery_rules(app, client, factory, monkeypatch):
    from backend.domain.policy import DeliveryPolicy

    monkeypatch.setitem(
        app.config, "DELIVERY_POLICY", DeliveryPolicy(max_home_attempts=3, geofence_metres=150)
    )
    postman, _run = make_run(factory)
    login(client, postman)
    settings = client.get("/api/v1/runs/today").get_json()["settings"]
    assert (settings["max_home_attempts"], settings["geofence_metres"]) == (3, 150)
