"""The shapes of the postman's API: the attempt's `meta` in, the receipt out."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from backend.domain.policy import FailureReason, IdCheckMethod, Relation

OUTCOMES = ("delivered", "failed")
SCAN_METHODS = ("qr", "typed")
ID_DOCUMENT_TYPES = ("cccd", "passport", "other")
FILE_FIELDS = ("signature", "photo", "authorization")
MAX_NOTE_CHARS = 1000
MAX_STROKES = 200
MAX_POINTS_PER_STROKE = 2000

_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a SHA-256 in lower-case hex.")
_ID_NUMBER = validate.Regexp(r"^[0-9]{12}$", error="Must be 12 digits.")


class ScanSchema(Schema):
    """How the envelope was identified at the door."""

    method = fields.String(required=True, validate=validate.OneOf(SCAN_METHODS))
    payload = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))

    @validates_schema
    def _payload_for_qr(self, data, **kwargs):
        if data["method"] == "qr" and not data.get("payload"):
            raise ValidationError("A QR scan needs its payload.", "payload")


class RecipientSchema(Schema):
    """Who took the envelope and how their identity was checked."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relation = fields.String(required=True, validate=validate.OneOf([r.value for r in Relation]))
    id_document_type = fields.String(
        load_default="cccd", validate=validate.OneOf(ID_DOCUMENT_TYPES)
    )
    id_check_method = fields.String(
        required=True, validate=validate.OneOf([m.value for m in IdCheckMethod])
    )
    id_number = fields.String(load_default=None, allow_none=True, validate=_ID_NUMBER)


class PositionSchema(Schema):
    """The phone's GPS fix at the moment of the attempt."""

    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(required=True, validate=validate.Range(min=0))


class StrokePointSchema(Schema):
    x = fields.Float(required=True)
    y = fields.Float(required=True)
    t = fields.Float(required=True)


class FileRefSchema(Schema):
    """A file sent with the attempt, named by its form field and SHA-256."""

    field = fields.String(required=True, validate=validate.OneOf(FILE_FIELDS))
    sha256 = fields.String(required=True, validate=_SHA256)


class AttemptMetaSchema(Schema):
    """The `meta` part of POST /api/v1/attempts (docs/api-delivery.md)."""

    attempt_id = fields.UUID(required=True)
    stop_id = fields.Integer(required=True, strict=True)
    envelope_code = fields.String(required=True, validate=validate.Length(min=1, max=13))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([r.value for r in FailureReason]),
    )
    note = fields.String(
        load_default="", allow_none=True, validate=validate.Length(max=MAX_NOTE_CHARS)
    )
    scan = fields.Nested(ScanSchema, required=True)
    recipient = fields.Nested(RecipientSchema, load_default=None, allow_none=True)
    position = fields.Nested(PositionSchema, load_default=None, allow_none=True)
    device_time = fields.AwareDateTime(required=True, format="iso")
    fees_collected_vnd = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0)
    )
    signature_strokes = fields.List(
        fields.List(
            fields.Nested(StrokePointSchema), validate=validate.Length(max=MAX_POINTS_PER_STROKE)
        ),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_STROKES),
    )
    files = fields.List(fields.Nested(FileRefSchema), load_default=list)

    @validates_schema
    def _outcome_fields(self, data, **kwargs):
        if data["outcome"] == "failed" and not data.get("reason_code"):
            raise ValidationError("A failed attempt needs a reason.", "reason_code")
        if data["outcome"] == "delivered" and data.get("reason_code"):
            raise ValidationError("A delivered attempt has no failure reason.", "reason_code")
        if data.get("reason_code") == FailureReason.other and not (data.get("note") or "").strip():
            raise ValidationError("Say what happened when the reason is 'other'.", "note")


class ReceiptFileSchema(Schema):
    kind = fields.String()
    sha256 = fields.String()


class AttemptReceiptSchema(Schema):
    """What the server answers for an attempt, on first receipt and on every replay."""

    attempt_id = fields.String()
    envelope_code = fields.String()
    envelope_state = fields.String()
    attempt_number = fields.Integer()
    outcome = fields.String()
    received_at = fields.DateTime(format="iso")
    distance_m = fields.Float(allow_none=True)
    distance_flagged = fields.Boolean()
    files = fields.List(fields.Nested(ReceiptFileSchema))
