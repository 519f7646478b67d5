"""The envelope's signed QR payload: the code and a short HMAC against forged labels."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from .codes import validate_envelope_code
from .errors import ForgedEnvelopeQr, InvalidEnvelopeCode, MalformedEnvelopeQr

QR_PREFIX = "TR1"
QR_SEPARATOR = ":"
# 80 bits resist forging a label offline; 16 base32 characters keep QR alphanumeric
# mode (a smaller, easier-to-scan code).
MAC_BYTES = 10
MAC_CHARS = 16
MAC_CONTEXT = b"envelope-qr:"  # domain separation: the same key may sign other things
MAX_PAYLOAD_CHARS = 128  # far above the 36 of a real payload; refuses junk cheaply

_MAC_SHAPE = re.compile(rf"[A-Z2-7]{{{MAC_CHARS}}}", re.ASCII)


def _mac(code: str, key: bytes) -> str:
    if not key:
        raise ValueError("the envelope QR key must not be empty")
    digest = hmac.new(key, MAC_CONTEXT + code.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode("ascii").rstrip("=")


def sign_envelope_qr(code: str, key: bytes) -> str:
    """The QR payload 'TR1:<code>:<mac>' for a valid envelope code."""
    code = validate_envelope_code(code)
    return QR_SEPARATOR.join((QR_PREFIX, code, _mac(code, key)))


def verify_envelope_qr(payload: str, key: bytes) -> str:
    """The code a scanned payload carries, or raise Malformed/ForgedEnvelopeQr."""
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_CHARS:
        raise MalformedEnvelopeQr("This is not a Trao envelope QR code.")
    parts = payload.strip().split(QR_SEPARATOR)
    if len(parts) != 3 or parts[0] != QR_PREFIX:
        raise MalformedEnvelopeQr("This is not a Trao envelope QR code.")
    _, code, mac = parts
    try:
        normal = validate_envelope_code(code)
    except InvalidEnvelopeCode as exc:
        raise MalformedEnvelopeQr(
            f"The envelope QR carries an invalid code: {exc.message}"
        ) from exc
    # Strict: we print the payload ourselves, so anything but the exact form isn't ours.
    if normal != code or not _MAC_SHAPE.fullmatch(mac):
        raise MalformedEnvelopeQr("This is not a Trao envelope QR code.")
    if not hmac.compare_digest(mac, _mac(code, key)):
        raise ForgedEnvelopeQr(
            "The envelope QR's signature does not match: Trao did not make this label.",
            fields={"code": code},
        )
    return code
