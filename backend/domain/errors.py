"""Typed errors raised by the domain rules; the app maps `kind` to an HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the service refused an operation."""

    code: str = "domain_error"
    # One of "invalid", "conflict", "forbidden", "not_found": the web layer maps it
    # to 422, 409, 403, 404.
    kind: str = "invalid"

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class TransitionNotAllowed(DomainError):
    """The envelope's state does not accept this action."""

    code = "transition_not_allowed"
    kind = "conflict"

    def __init__(
        self,
        state: str,
        action: str,
        message: str | None = None,
        *,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message or f"Action {action!s} is not allowed in state {state!s}.",
            fields=fields,
        )
        self.state = state
        self.action = action


class AttemptsExhausted(DomainError):
    """No home delivery attempt is left under the policy."""

    code = "attempts_exhausted"
    kind = "conflict"


class InvalidEnvelopeCode(DomainError):
    """The text is not a valid UPU S10 envelope code."""

    code = "invalid_envelope_code"
    kind = "invalid"


class MalformedEnvelopeQr(DomainError):
    """The scanned text does not have the shape of a Trao envelope QR."""

    code = "malformed_qr"
    kind = "invalid"


class ForgedEnvelopeQr(DomainError):
    """The envelope QR's signature does not match its code."""

    code = "forged_qr"
    kind = "invalid"


class InvalidIdQr(DomainError):
    """The scanned text is not a readable chip ID card QR; the message says why."""

    code = "invalid_id_qr"
    kind = "invalid"


class InvalidIdNumber(DomainError):
    """The text is not a 12-digit personal identification number."""

    code = "invalid_id_number"
    kind = "invalid"


class RecipientNotAllowed(DomainError):
    """This recipient may not receive this kind of result."""

    code = "recipient_not_allowed"
    kind = "invalid"
