import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.codes import MAX_SERIAL, make_envelope_code
from backend.domain.envelope_qr import (
    MAC_CHARS,
    QR_PREFIX,
    sign_envelope_qr,
    verify_envelope_qr,
)
from backend.domain.errors import (
    ForgedEnvelopeQr,
    InvalidEnvelopeCode,
    MalformedEnvelopeQr,
)

KEY = b"test-key-0123456789abcdef0123456"
CODE = "HC123456785VN"
# The characters a QR code in alphanumeric mode can carry.
QR_ALPHANUMERIC = set(string.digits + string.ascii_uppercase + " $%*+-./:")


def test_payload_shape():
    payload = sign_envelope_qr(CODE, KEY)
    prefix, code, mac = payload.split(":")
    assert (prefix, code) == (QR_PREFIX, CODE)
    assert len(mac) == MAC_CHARS == 16
    assert set(payload) <= QR_ALPHANUMERIC


def test_signature_is_deterministic_and_key_dependent():
    assert sign_envelope_qr(CODE, KEY) == sign_envelope_qr(CODE, KEY)
    assert sign_envelope_qr(CODE, KEY) != sign_envelope_qr(CODE, b"other key")


def test_sign_normalises_the_code_and_refuses_invalid_ones():
    assert sign_envelope_qr(" hc123456785vn ", KEY) == sign_envelope_qr(CODE, KEY)
    with pytest.raises(InvalidEnvelopeCode):
        sign_envelope_qr("HC123456784VN", KEY)


def test_empty_key_is_refused():
    with pytest.raises(ValueError):
        sign_envelope_qr(CODE, b"")


def test_verify_round_trip_with_surrounding_whitespace():
    payload = sign_envelope_qr(CODE, KEY)
    assert verify_envelope_qr(payload, KEY) == CODE
    assert verify_envelope_qr(f"  {payload}\r\n", KEY) == CODE


def test_wrong_key_is_forged():
    with pytest.raises(ForgedEnvelopeQr) as exc:
        verify_envelope_qr(sign_envelope_qr(CODE, KEY), b"another key")
    assert exc.value.code == "forged_qr"


def test_label_made_from_the_code_alone_is_forged():
    other = make_envelope_code(12345679)
    mac = sign_envelope_qr(CODE, KEY).rsplit(":", 1)[1]
    with pytest.raises(ForgedEnvelopeQr):
        verify_envelope_qr(f"{QR_PREFIX}:{other}:{mac}", KEY)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        CODE,  # the bare code, as a photo of a printed label would give
        "TR2:HC123456785VN:AAAAAAAAAAAAAAAA",
        "tr1:HC123456785VN:AAAAAAAAAAAAAAAA",
        "TR1:HC123456784VN:AAAAAAAAAAAAAAAA",  # bad check digit
        "TR1:hc123456785vn:AAAAAAAAAAAAAAAA",  # we never print lower case
        "TR1:HC123456785VN:AAAAAAAAAAAAAAA",
        "TR1:HC123456785VN:AAAAAAAAAAAAAAAAA",
        "TR1:HC123456785VN:AAAAAAAAAAAAAAA1",  # not base32
        "TR1:HC123456785VN:AAAAAAAAAAAAAAAA:",
        "TR1: HC123456785VN:AAAAAAAAAAAAAAAA",
        "TR1:HC123456785VN",
        "X" * 10_000,
    ],
)
def test_malformed_payloads(payload):
    with pytest.raises(MalformedEnvelopeQr) as exc:
        verify_envelope_qr(payload, KEY)
    assert exc.value.code == "malformed_qr"


def test_non_text_is_malformed():
    with pytest.raises(MalformedEnvelopeQr):
        verify_envelope_qr(None, KEY)  # type: ignore[arg-type]


def _single_changes(payload: str, alphabet: str):
    for i, original in enumerate(payload):
        for ch in alphabet:
            if ch != original:
                yield payload[:i] + ch + payload[i + 1 :]


def test_every_printable_ascii_substitution_is_rejected():
    payload = sign_envelope_qr(CODE, KEY)
    count = 0
    for changed in _single_changes(payload, string.printable):
        with pytest.raises((MalformedEnvelopeQr, ForgedEnvelopeQr)):
            verify_envelope_qr(changed, KEY)
        count += 1
    assert count == len(payload) * (len(string.printable) - 1)


@settings(max_examples=200, deadline=None)
@given(
    serial=st.integers(min_value=0, max_value=MAX_SERIAL),
    key=st.binary(min_size=1, max_size=64),
    data=st.data(),
)
def test_any_one_character_change_is_rejected(serial, key, data):
    payload = sign_envelope_qr(make_envelope_code(serial), key)
    pos = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    new = data.draw(st.characters(exclude_categories=("Cs",)).filter(lambda c: c != payload[pos]))
    changed = payload[:pos] + new + payload[pos + 1 :]
    with pytest.raises((MalformedEnvelopeQr, ForgedEnvelopeQr)):
        verify_envelope_qr(changed, key)
