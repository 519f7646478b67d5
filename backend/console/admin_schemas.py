"""What the forms of running the office accept.

Error messages are marked with N_ and translated when the form is shown again.
"""

from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from backend.domain.i18n import N_
from backend.models import Role

# The log-in form accepts up to 256 characters (backend/auth/schemas.py); at least 8, as the
# demo's own passwords, and NIST SP 800-63B's floor for a password a person chooses.
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}\Z")
_AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,31}\Z")
_PHONE = re.compile(r"\+?[0-9 .-]{6,20}\Z")
_ROLES = [r.value for r in Role]

REQUIRED = N_("This field is required.")
CHOOSE = N_("Choose one from the list.")
TOO_LONG = N_("Too long.")
_MESSAGES = {"required": REQUIRED, "null": REQUIRED, "invalid": CHOOSE}
_DB_INT = validate.Range(min=1, max=2**31 - 1, error=CHOOSE)


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError(N_("Remove the control characters."))


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE  # the form also carries csrf_token, checked by Flask-WTF

    @pre_load
    def _tidy(self, data, **kwargs):
        """Spaces collapsed in text; an empty field is a field left out."""
        tidy = {}
        for name, value in data.items():
            if isinstance(value, str) and name != "password":
                value = " ".join(value.split())
            if value != "":
                tidy[name] = value
        return tidy


def _text(max_chars: int, required: bool = False):
    optional = {} if required else {"load_default": None}
    return fields.String(
        required=required,
        **optional,
        validate=[validate.Length(max=max_chars, error=TOO_LONG), _no_control],
        error_messages=_MESSAGES,
    )


def _id(required: bool = False):
    optional = {} if required else {"load_default": None}
    return fields.Integer(required=required, **optional, validate=_DB_INT, error_messages=_MESSAGES)


def _choice(values: list[str], required: bool = False):
    optional = {} if required else {"load_default": None}
    return fields.String(
        required=required,
        **optional,
        validate=validate.OneOf(values, error=CHOOSE),
        error_messages=_MESSAGES,
    )


def _password():
    return fields.String(
        required=True,
        validate=validate.Length(
            min=MIN_PASSWORD_CHARS,
            max=MAX_PASSWORD_CHARS,
            error=N_("A password has 8 to 256 characters."),
        ),
        error_messages=_MESSAGES,
    )


class UserFilterSchema(_Form):
    office_id = _id()
    role = _choice(_ROLES)
    q = fields.String(
        load_default="", validate=[validate.Length(max=100, error=TOO_LONG), _no_control]
    )


class NewUserSchema(_Form):
    username = fields.String(
        required=True,
        validate=validate.Regexp(
            _USERNAME,
            error=N_("3 to 64 lower-case letters, digits, dots, dashes or underscores."),
        ),
        error_messages=_MESSAGES,
    )
    full_name = _text(200, required=True)
    role = _choice(_ROLES, required=True)
    office_id = _id()
    agency_id = _id()
    password = _password()

    @pre_load
    def _lower_username(self, data, **kwargs):
        if isinstance(data.get("username"), str):
            data["username"] = data["username"].lower()
        return data


class PasswordSchema(_Form):
    password = _password()


class MoveSchema(_Form):
    office_id = _id(required=True)


class AgencySchema(_Form):
    name = _text(200, required=True)
    office_id = _id(required=True)
    contact_name = _text(200)
    contact_phone = fields.String(
        load_default=None,
        validate=validate.Regexp(_PHONE, error=N_("Digits, spaces, dots or dashes only.")),
    )
    contact_email = fields.Email(
        load_default=None,
        validate=validate.Length(max=254, error=TOO_LONG),
        error_messages={"invalid": N_("Not an email address.")},
    )
    webhook_url = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=500, error=TOO_LONG),
            _no_control,
            validate.URL(schemes={"https"}, require_tld=False, error=N_("An https:// address.")),
        ],
    )


class NewAgencySchema(AgencySchema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            _AGENCY_CODE, error=N_("2 to 32 capital letters, digits, dashes or underscores.")
        ),
        error_messages=_MESSAGES,
    )

    @pre_load
    def _upper_code(self, data, **kwargs):
        if isinstance(data.get("code"), str):
            data["code"] = data["code"].upper()
        return data


class ApiKeySchema(_Form):
    """A new API key for an agency: only a label, to tell it from the others."""

    label = _text(100, required=True)
