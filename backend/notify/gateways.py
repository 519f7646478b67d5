"""Gateways: where a notification goes out. Each has `send(message) -> SendResult`.

- `LogGateway` (default): writes that a message was sent, with its outbox id and kind — never
  the phone or the text (logs hold no personal data).
- `ZaloGateway`: Zalo ZNS template messages (POST JSON with an `access_token` header; the answer
  says `{"error": 0, "data": {"msg_id": …}}`, a non-zero `error` is a failure).
- `SmsGateway`: an SMS provider's HTTP API (POST JSON with a bearer token and a sender name).

A result is ok, or failed *permanently* (this gateway will never deliver this message: the
number is not on Zalo, a template is missing, the provider refused the number) or *transiently*
(a timeout, a 5xx, a rate limit: trying again later may work). Errors are short codes, never a
provider's answer body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

LOG, ZALO, SMS = "log", "zalo", "sms"
MAX_ID = 64


@dataclass(frozen=True)
class Notification:
    """One message to one citizen, composed at send time (never stored)."""

    outbox_id: int
    kind: str
    phone: str  # international form without "+": 84…
    text: str  # the SMS: plain ASCII
    template_data: dict[str, str] = field(default_factory=dict)  # ZNS parameters

    @property
    def tracking_id(self) -> str:
        """The same for every try of the message: providers (and our stand-ins) de-duplicate."""
        return f"trao-{self.outbox_id}"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str | None = None
    error: str | None = None
    permanent: bool = False


class Gateway(Protocol):
    name: str

    def send(self, message: Notification) -> SendResult: ...


class LogGateway:
    """Sends nothing: logs that the message went, by outbox id and kind only."""

    name = LOG

    def send(self, message: Notification) -> SendResult:
        log.info("notify: message %s (%s) sent by the log gateway", message.outbox_id, message.kind)
        return SendResult(ok=True, message_id=f"log-{message.outbox_id}")


def _post(http, url: str, body: dict, headers: dict, timeout: float):
    """POST JSON; the status and the parsed answer (None when it was not JSON)."""
    import urllib3

    response = http.request(
        "POST",
        url,
        body=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", **headers},
        timeout=urllib3.Timeout(total=timeout),
        retries=False,
        redirect=False,
    )
    try:
        answer = json.loads(response.data or b"null")
    except ValueError:
        answer = None
    return response.status, answer


def _http_failure(status: int) -> SendResult:
    """A non-2xx answer: a server's trouble or a rate limit passes; another refusal stays."""
    transient = status >= 500 or status in (408, 429)
    return SendResult(ok=False, error=f"http_{status}", permanent=not transient)


class ZaloGateway:
    """Zalo ZNS: one approved template per kind, filled with the message's parameters."""

    name = ZALO

    def __init__(
        self,
        *,
        url: str,
        access_token: str,
        templates: Mapping[str, str],
        transient_errors: frozenset[int],
        http,
        timeout: float,
    ) -> None:
        self.url = url
        self.access_token = access_token
        self.templates = dict(templates)
        self.transient_errors = transient_errors
        self.http = http
        self.timeout = timeout

    def send(self, message: Notification) -> SendResult:
        template_id = self.templates.get(message.kind)
        if not template_id:
            return SendResult(ok=False, error="no_template", permanent=True)
        body = {
            "phone": message.phone,
            "template_id": template_id,
            "template_data": message.template_data,
            "tracking_id": message.tracking_id,
        }
        try:
            status, answer = _post(
                self.http, self.url, body, {"access_token": self.access_token}, self.timeout
            )
        except Exception as exc:  # timeout, refused connection: try again later
            return SendResult(ok=False, error=type(exc).__name__[:MAX_ID])
        if not 200 <= status < 300:
            return _http_failure(status)
        code = answer.get("error") if isinstance(answer, dict) else None
        if type(code) is not int:  # not a bool either: `false` is no success
            return SendResult(ok=False, error="bad_answer")
        if code == 0:
            data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
            msg_id = data.get("msg_id")
            return SendResult(ok=True, message_id=str(msg_id)[:MAX_ID] if msg_id else None)
        return SendResult(
            ok=False, error=f"zns_{code}", permanent=code not in self.transient_errors
        )


class SmsGateway:
    """An SMS provider's HTTP API: JSON `{to, from, text, ref}` with a bearer token."""

    name = SMS

    def __init__(self, *, url: str, token: str, sender: str, http, timeout: float) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.http = http
        self.timeout = timeout

    def send(self, message: Notification) -> SendResult:
        body = {
            "to": message.phone,
            "from": self.sender,
            "text": message.text,
            "ref": message.tracking_id,
        }
        try:
            status, answer = _post(
                self.http, self.url, body, {"Authorization": f"Bearer {self.token}"}, self.timeout
            )
        except Exception as exc:
            return SendResult(ok=False, error=type(exc).__name__[:MAX_ID])
        if not 200 <= status < 300:
            return _http_failure(status)
        msg_id = None
        if isinstance(answer, dict):
            msg_id = answer.get("id") or answer.get("message_id")
        return SendResult(ok=True, message_id=str(msg_id)[:MAX_ID] if msg_id else None)


def parse_templates(text: str) -> dict[str, str]:
    """`kind=template_id,kind=template_id` → {kind: template_id} (unknown pieces ignored)."""
    pairs = (piece.split("=", 1) for piece in text.split(",") if "=" in piece)
    return {kind.strip(): value.strip() for kind, value in pairs if value.strip()}


def build_gateways(config: Mapping[str, Any], http) -> list[Gateway]:
    """The gateways TRAO_NOTIFY_GATEWAYS names, in order: each next one is the fallback."""
    timeout = float(config["TRAO_NOTIFY_TIMEOUT_SECONDS"])
    made: list[Gateway] = []
    for name in (n.strip() for n in config["TRAO_NOTIFY_GATEWAYS"].split(",")):
        if name == LOG:
            made.append(LogGateway())
        elif name == ZALO:
            made.append(
                ZaloGateway(
                    url=config["TRAO_ZNS_URL"],
                    access_token=config["TRAO_ZNS_ACCESS_TOKEN"],
                    templates=parse_templates(config["TRAO_ZNS_TEMPLATES"]),
                    transient_errors=frozenset(
                        int(code)
                        for code in config["TRAO_ZNS_TRANSIENT_ERRORS"].split(",")
                        if code.strip()
                    ),
                    http=http,
                    timeout=timeout,
                )
            )
        elif name == SMS:
            made.append(
                SmsGateway(
                    url=config["TRAO_SMS_URL"],
                    token=config["TRAO_SMS_TOKEN"],
                    sender=config["TRAO_SMS_SENDER"],
                    http=http,
                    timeout=timeout,
                )
            )
        elif name:
            raise RuntimeError(f"TRAO_NOTIFY_GATEWAYS: unknown gateway {name!r}")
    return made or [LogGateway()]
