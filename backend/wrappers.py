"""The request class: bounds what Werkzeug would otherwise read whole into memory."""

from __future__ import annotations

from flask import Request, current_app, request
from flask_babel import gettext as _

from backend.errors import Invalid, TooLarge
from backend.validation import UnreadableJson, parse_json_object

URLENCODED = "application/x-www-form-urlencoded"


class BoundedRequest(Request):
    """A request whose urlencoded form is bounded like a multipart text field.

    Werkzeug stops a multipart text field at MAX_FORM_MEMORY_SIZE but parses a urlencoded body
    whole, up to MAX_CONTENT_LENGTH (sized for photos): a form of many megabytes would be read
    into memory before any view could refuse it.
    """

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.mimetype != URLENCODED or not current_app:
            return limit
        form_limit = current_app.config["MAX_FORM_MEMORY_SIZE"]
        return form_limit if limit is None else min(limit, form_limit)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def json_body(max_bytes: int) -> dict:
    """The request's body as a JSON object, or 413 (`body_too_large`) / 422 (`malformed_json`),
    read no further than `max_bytes` whatever the client says its length is."""
    if (request.content_length or 0) > max_bytes:
        raise TooLarge(_("The request is too large."), code="body_too_large")
    data = request.get_data(cache=False)
    if len(data) > max_bytes:
        raise TooLarge(_("The request is too large."), code="body_too_large")
    try:
        return parse_json_object(data.decode("utf-8"))
    except (UnicodeDecodeError, UnreadableJson):
        raise Invalid(_("The request could not be read as JSON."), code="malformed_json") from None
