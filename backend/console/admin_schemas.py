"""What the forms of running the office accept."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from backend.models import Role

# The log-in form accepts up to 256 characters (backend/auth/schemas.py); at least 8, as the
# demo's own passwords, and NIST SP 800-63B's floor for a password a person chooses.
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}\Z")
_AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,31}\Z")
_PHONE = re.compile(r"\+?[0-9 .-]{6,20}\Z")
_DB_INT = validate.Range(min=1, max=2**31 - 1)


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError(_l("Remove the control characters."))


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


def _text(max_chars: int, required: bool = False, **kw):
    optional = {} if required else {"load_default": None}
    return fields.String(
        required=required,
        **optional,
        validate=[validate.Length(min=1, max=max_chars), _no_control],
        **kw,
    )


def _password():
    return fields.String(
        required=True,
        validate=validate.Length(
            min=MIN_PASSWORD_CHARS,
            max=MAX_PASSWORD_CHARS,
            error=_l("A password has 8 to 256 characters."),
        ),
    )


class UserFilterSchema(_Form):
    office_id = fields.Integer(load_default=None, validate=_DB_INT)
    role = fields.String(load_default=None, validate=validate.OneOf([r.value for r in Role]))
    q = fields.String(load_default="", validate=[validate.Length(max=100), _no_control])


class NewUserSchema(_Form):
    username = fields.String(
        required=True,
        validate=validate.Regexp(
            _USERNAME,
            error=_l("3 to 64 lower-case letters, digits, dots, dashes or underscores."),
        ),
    )
    full_name = _text(200, required=True)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    office_id = fields.Integer(load_default=None, validate=_DB_INT)
    agency_id = fields.Integer(load_default=None, validate=_DB_INT)
    password = _password()

    @pre_load
    def _lower_username(self, data, **kwargs):
        if isinstance(data.get("username"), str):
            data["username"] = data["username"].lower()
        return data


class PasswordSchema(_Form):
    password = _password()


class MoveSchema(_Form):
    office_id = fields.Integer(required=True, validate=_DB_INT)


class AgencySchema(_Form):
    name = _text(200, required=True)
    office_id = fields.Integer(required=True, validate=_DB_INT)
    contact_name = _text(200)
    contact_phone = fields.String(
        load_default=None,
        validate=validate.Regexp(_PHONE, error=_l("Digits, spaces, dots or dashes only.")),
    )
    contact_email = fields.Email(load_default=None, validate=validate.Length(max=254))
    webhook_url = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=500),
            _no_control,
            validate.URL(schemes={"https"}, require_tld=False, error=_l("An https:// address.")),
        ],
    )


class NewAgencySchema(AgencySchema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            _AGENCY_CODE, error=_l("2 to 32 capital letters, digits, dashes or underscores.")
        ),
    )

    @pre_load
    def _upper_code(self, data, **kwargs):
        if isinstance(data.get("code"), str):
            data["code"] = data["code"].upper()
        return data
