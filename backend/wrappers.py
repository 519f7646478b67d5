"""The request class: bounds what Werkzeug would otherwise read whole into memory."""

from __future__ import annotations

from flask import Request, current_app

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
