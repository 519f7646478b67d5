"""Typed errors with stable codes, and the one place that turns them into responses.

Services raise ``AppError`` (or the domain's ``DomainError``); views never build error
responses themselves. Requests under ``/api/`` get JSON
``{"error": {"code", "message", "fields"}}``; pages get a readable HTML page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from backend.domain.errors import DomainError
from backend.domain.i18n import N_

STATUS_BY_KIND = {"invalid": 422, "conflict": 409, "forbidden": 403, "not_found": 404}
# What a user reads for each domain error code, translated. The domain's own messages are
# English detail for developers (the specifics are in `fields`); they never reach a user.
DOMAIN_MESSAGES = {
    "transition_not_allowed": N_("This cannot be done in the envelope's current state."),
    "attempts_exhausted": N_(
        "Every home delivery attempt has been made: the envelope must be held at the office."
    ),
    "invalid_envelope_code": N_("This is not a valid envelope code."),
    "malformed_qr": N_("This is not a Trao envelope QR code."),
    "forged_qr": N_("This envelope label is forged or damaged."),
    "invalid_id_qr": N_("This is not a readable ID card QR code."),
    "invalid_id_number": N_("This is not a valid identity document number."),
    "recipient_not_allowed": N_("This result must be handed to the holder in person."),
}
DOMAIN_MESSAGE_UNKNOWN = N_("This is not allowed.")


class AppError(Exception):
    """An error a user or client can act on, with a stable machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class Invalid(AppError):
    status, code = 422, "invalid"


class NotFound(AppError):
    status, code = 404, "not_found"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class Conflict(AppError):
    status, code = 409, "conflict"


class TooLarge(AppError):
    status, code = 413, "too_large"


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Any:
    """Render one error as JSON (API) or as a page (HTML)."""
    if _wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        return jsonify(body), status
    return render_template("error.html", status=status, code=code, message=message), status


def register_errorhandlers(app: Flask) -> None:
    """Map every error type to a response in one place."""

    @app.errorhandler(AppError)
    def _app_error(err: AppError):
        return error_response(err.status, err.code, err.message, err.fields)

    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        status = STATUS_BY_KIND.get(err.kind, 400)
        message = _(DOMAIN_MESSAGES.get(err.code, DOMAIN_MESSAGE_UNKNOWN))
        return error_response(status, err.code, message, err.fields)

    @app.errorhandler(ValidationError)
    def _validation_error(err: ValidationError):
        fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        return error_response(422, "invalid", _("Some fields are not valid."), fields)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        messages = {
            400: _("The request could not be understood."),
            401: _("Please log in."),
            403: _("You are not allowed to do this."),
            404: _("Not found."),
            405: _("This method is not allowed here."),
            413: _("The upload is too large."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        if status == 400 and "CSRF" in (err.description or ""):
            code, message = "csrf_failed", _("Your session form expired. Reload the page.")
        else:
            message = messages.get(status, err.description or "")
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "server_error", _("Something went wrong on the server."))
