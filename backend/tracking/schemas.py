"""What the tracking page's forms accept."""

from marshmallow import EXCLUDE, Schema, fields, validate

from backend.domain.i18n import N_


class DigitsSchema(Schema):
    """The last four digits of the recipient's phone."""

    class Meta:
        unknown = EXCLUDE  # the form also carries csrf_token, checked by Flask-WTF

    digits = fields.String(
        required=True,
        validate=validate.Regexp(r"\A[0-9]{4}\Z", error=N_("Enter exactly four digits.")),
    )


class RequestSchema(Schema):
    """Another delivery day, or collecting it at the post office."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.String(
        required=True, validate=validate.OneOf(["another_day", "collect"], error=N_("Choose one."))
    )
    day = fields.Date(load_default=None)
