"""What the log-in form accepts."""

from marshmallow import EXCLUDE, Schema, fields, validate


class LoginSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the form also carries csrf_token, checked by Flask-WTF

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    next = fields.String(load_default=None)
