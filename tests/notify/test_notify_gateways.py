"""The gateways read whatever a provider answers without failing: any status, any body (JSON or
not) gives a result; only ZNS's `error: 0` or an SMS 2xx is a success, and an error never carries
the answer's body."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.notify.gateways import (
    Notification,
    SmsGateway,
    ZaloGateway,
    build_gateways,
    parse_templates,
)

MESSAGE = Notification(
    outbox_id=7, kind="held", phone="84912345678", text="Trao: ...", template_data={"code": "X"}
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
BODIES = (
    JSON.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=40)
    | st.fixed_dictionaries(
        {
            "error": st.integers(-300, 300) | JSON,
            "data": JSON | st.fixed_dictionaries({"msg_id": JSON}),
        }
    ).map(lambda v: json.dumps(v).encode())
)


class FakeResponse:
    def __init__(self, status: int, data: bytes) -> None:
        self.status, self.data = status, data


class FakeHttp:
    def __init__(self, status: int, data: bytes | None, error: Exception | None = None) -> None:
        self.status, self.data, self.error = status, data, error
        self.sent: list[dict] = []

    def request(self, method, url, body, headers, **kw):
        self.sent.append({"url": url, "body": json.loads(body), "headers": headers})
        if self.error:
            raise self.error
        return FakeResponse(self.status, self.data)


def _zalo(http) -> ZaloGateway:
    return ZaloGateway(
        url="http://zns.invalid/message/template",
        access_token="token",
        templates={"held": "301003"},
        transient_errors=frozenset({-32, -124, -133}),
        http=http,
        timeout=1,
    )


@settings(max_examples=150, deadline=None)
@given(status=st.integers(100, 599), data=BODIES)
def test_any_answer_gives_a_result_and_no_body_leaks(status, data):
    for gateway in (
        _zalo(FakeHttp(status, data)),
        SmsGateway(
            url="http://sms.invalid",
            token="t",
            sender="TRAO",
            http=FakeHttp(status, data),
            timeout=1,
        ),
    ):
        result = gateway.send(MESSAGE)
        if result.ok:
            assert 200 <= status < 300
            assert result.message_id is None or len(result.message_id) <= 64
        else:
            assert result.error and len(result.error) <= 64
            assert result.error.startswith(("http_", "zns_", "bad_answer")), result.error
    answer = None
    with contextlib.suppress(ValueError):
        answer = json.loads(data)
    zalo_ok = 200 <= status < 300 and isinstance(answer, dict) and answer.get("error") == 0
    assert _zalo(FakeHttp(status, data)).send(MESSAGE).ok == (
        zalo_ok and type(answer["error"]) is int
    )


def test_what_zalo_is_sent_and_how_its_failures_are_sorted():
    http = FakeHttp(200, b'{"error": 0, "message": "Success", "data": {"msg_id": "abc"}}')
    result = _zalo(http).send(MESSAGE)
    assert result.ok and result.message_id == "abc"
    (sent,) = http.sent
    assert sent["headers"]["access_token"] == "token"
    assert sent["body"] == {
        "phone": "84912345678",
        "template_id": "301003",
        "template_data": {"code": "X"},
        "tracking_id": "trao-7",
    }
    assert _zalo(FakeHttp(200, b'{"error": -118}')).send(MESSAGE).permanent
    assert not _zalo(FakeHttp(200, b'{"error": -133}')).send(MESSAGE).permanent
    assert not _zalo(FakeHttp(503, b"")).send(MESSAGE).permanent
    assert not _zalo(FakeHttp(0, None, TimeoutError())).send(MESSAGE).permanent
    assert _zalo(FakeHttp(400, b"")).send(MESSAGE).permanent
    assert _zalo(FakeHttp(200, b'{"error": false}')).send(MESSAGE).error == "bad_answer"
    other = Notification(outbox_id=8, kind="delivered", phone="849", text="")
    assert _zalo(FakeHttp(200, b"")).send(other).error == "no_template"


def test_the_settings_name_the_gateways_in_order():
    assert parse_templates("held=1, delivered = 2,junk,x=") == {"held": "1", "delivered": "2"}
    config = {
        "TRAO_NOTIFY_GATEWAYS": "zalo, sms",
        "TRAO_NOTIFY_TIMEOUT_SECONDS": 3,
        "TRAO_ZNS_URL": "u",
        "TRAO_ZNS_ACCESS_TOKEN": "t",
        "TRAO_ZNS_TEMPLATES": "",
        "TRAO_ZNS_TRANSIENT_ERRORS": "-32, -133",
        "TRAO_SMS_URL": "s",
        "TRAO_SMS_TOKEN": "t",
        "TRAO_SMS_SENDER": "TRAO",
    }
    zalo, sms = build_gateways(config, http=None)
    assert (zalo.name, sms.name) == ("zalo", "sms") and zalo.transient_errors == {-32, -133}
    assert [g.name for g in build_gateways({**config, "TRAO_NOTIFY_GATEWAYS": ""}, None)] == ["log"]
