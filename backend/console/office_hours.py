"""A post office's opening hours, in its own words: what the tracking page tells a citizen
whose envelope waits there (docs/tracking.md)."""

from __future__ import annotations

import re

from flask_babel import gettext as _

from backend.errors import Invalid
from backend.extensions import db
from backend.models import PostOffice

MAX_OPENING_HOURS_CHARS = 300
# Control characters (NUL among them, which PostgreSQL cannot store) and lone surrogates.
_UNWRITABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def set_opening_hours(office: PostOffice, text: str) -> None:
    """Replace the office's opening hours (empty: none shown); flushed."""
    text = " ".join(text.split())
    if len(text) > MAX_OPENING_HOURS_CHARS:
        raise Invalid(
            _("At most %(n)s characters.", n=MAX_OPENING_HOURS_CHARS),
            code="opening_hours_too_long",
            fields={"opening_hours": len(text)},
        )
    if _UNWRITABLE.search(text):
        raise Invalid(
            _("Remove the control characters."),
            code="opening_hours_unwritable",
            fields={"opening_hours": "control characters"},
        )
    office.opening_hours = text or None
    db.session.flush()
