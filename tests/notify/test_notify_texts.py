"""The messages' words: Vietnamese from the catalogue, the link in each, the SMS plain ASCII in
one or two GSM-7 segments, whatever the kind and the reason."""

from __future__ import annotations

from datetime import date

import pytest

from backend.domain.policy import FailureReason
from backend.notify import texts
from backend.notify.services import international

LINK = "https://tracuu.buudien-langson.gov.vn/t/" + "A" * 22  # a long public address
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.mark.parametrize("kind", texts.KINDS)
@pytest.mark.parametrize("reason", [None, *FailureReason])
def test_every_message_is_vietnamese_with_the_link_and_a_short_plain_sms(app, kind, reason):
    params = texts.parameters(
        kind, code="HC00001234?VN", link=LINK, reason=reason, deadline=date(2026, 12, 4)
    )
    full = texts.message_text(kind, params)
    sms = texts.sms_text(kind, params)
    assert LINK in full and LINK in sms and "HC00001234?VN" in sms
    assert full != texts.TEXTS[kind] % params, "not translated"
    assert set(sms) <= GSM7_BASIC, sms
    assert len(sms) <= texts.SMS_MAX, (len(sms), sms)
    if kind in (texts.HELD, texts.HOLD_ENDING):
        assert "04/12/2026" in sms
    if kind == texts.ATTEMPT_FAILED:
        assert params["reason"] and params["reason"] in full


def test_the_sms_keeps_the_words_without_their_marks(app):
    params = texts.parameters(texts.DELIVERED, code="X", link=LINK, reason=None, deadline=None)
    full = texts.message_text(texts.DELIVERED, params)
    assert any(ord(c) > 127 for c in full)  # Vietnamese, with diacritics
    assert texts.to_ascii("Bưu điện Đông Kinh") == "Buu dien Dong Kinh"


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("0912345678", "84912345678"),
        ("+84 912 345 678", "84912345678"),
        ("84912345678", "84912345678"),
        ("091.234.5678", "84912345678"),
        ("12345", None),
        ("", None),
        (None, None),
        ("0012345678", None),
    ],
)
def test_numbers_are_written_as_the_gateways_want_them(phone, expected):
    assert international(phone) == expected
