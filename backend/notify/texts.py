"""The words of a notification: one short Vietnamese message per kind, with the tracking link.

Texts are English msgids in the translation catalogue, rendered in Vietnamese whatever the
worker's request (it has none). The SMS is folded to plain ASCII, as Vietnamese SMS usually
are: a GSM-7 message of up to 160 characters is one segment (153 per part when longer), where
Unicode (UCS-2) would allow only 70. ZNS gets the same parts as a template's parameters.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from backend.domain.i18n import N_
from backend.domain.policy import FailureReason

OUT_FOR_DELIVERY = "out_for_delivery"
ATTEMPT_FAILED = "attempt_failed"
HELD = "held"
HOLD_ENDING = "hold_ending"
DELIVERED = "delivered"
COLLECTED = "collected"
KINDS = (OUT_FOR_DELIVERY, ATTEMPT_FAILED, HELD, HOLD_ENDING, DELIVERED, COLLECTED)

TEXTS = {
    OUT_FOR_DELIVERY: N_(
        "Trao: your document %(code)s is out for delivery to you today. Follow: %(link)s"
    ),
    ATTEMPT_FAILED: N_(
        "Trao: we could not deliver %(code)s today: %(reason)s. We are sorry. What happens next: %(link)s"
    ),
    HELD: N_(
        "Trao: %(code)s waits for you at the post office until %(deadline)s. Address and hours: %(link)s"
    ),
    HOLD_ENDING: N_(
        "Trao: %(deadline)s is the last day to collect %(code)s at the post office. Details: %(link)s"
    ),
    DELIVERED: N_("Trao: %(code)s was delivered. Thank you. Details: %(link)s"),
    COLLECTED: N_("Trao: %(code)s was collected at the post office. Thank you. Details: %(link)s"),
}

# Why an attempt failed, in words for the citizen (the console's labels are for staff).
POLITE_REASONS = {
    FailureReason.not_home: N_("nobody was at home"),
    FailureReason.refused: N_("the envelope was declined"),
    FailureReason.wrong_address: N_("we could not find the address"),
    FailureReason.not_the_recipient: N_("we did not meet the recipient"),
    FailureReason.no_authorisation: N_("the representative had no authorisation"),
    FailureReason.phone_unreachable: N_("we could not reach you by phone"),
    FailureReason.envelope_damaged: N_("the envelope needs repacking"),
    FailureReason.moved: N_("the recipient seems to have moved"),
    FailureReason.other: N_("an unexpected reason"),
}
LOCALE = "vi"
# Two GSM-7 segments of a concatenated SMS.
SMS_MAX = 306


def parameters(
    kind: str, *, code: str, link: str, reason: str | None, deadline: date | None
) -> dict[str, str]:
    """The message's parts, in Vietnamese (a ZNS template's data)."""
    with force_locale(LOCALE):
        polite = POLITE_REASONS.get(reason) if reason else None
        return {
            "code": code,
            "link": link,
            "reason": _(polite or POLITE_REASONS[FailureReason.other])
            if kind == ATTEMPT_FAILED
            else "",
            "deadline": deadline.strftime("%d/%m/%Y") if deadline else "",
        }


def message_text(kind: str, params: dict[str, str]) -> str:
    """The whole message in Vietnamese, with diacritics."""
    with force_locale(LOCALE):
        return _(TEXTS[kind], **params)


def sms_text(kind: str, params: dict[str, str]) -> str:
    """The SMS: the message folded to plain ASCII (one or two GSM-7 segments)."""
    return to_ascii(message_text(kind, params))


def to_ascii(text: str) -> str:
    """Vietnamese without diacritics: "Bưu điện" → "Buu dien"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.encode("ascii", "ignore").decode()
