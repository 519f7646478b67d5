"""The shapes of the agencies' API (docs/api-agency.md): what comes in, what goes out.

The same schemas validate the requests, dump the answers and describe both in the OpenAPI
document (backend/openapi.py). A dossier coming in is `DossierIn` (backend/agency_api/intake.py),
shared with the clerk's form and the import.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from backend.agency_api.intake import DossierIn
from backend.domain.lifecycle import State

MAX_BATCH = 500
MAX_PAGE = 200
DEFAULT_PAGE = 50


class DossierBatchIn(Schema):
    """Several dossiers in one request; each is checked and registered on its own."""

    class Meta:
        unknown = RAISE

    dossiers = fields.List(
        fields.Nested(DossierIn),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
        metadata={"description": f"From 1 to {MAX_BATCH} dossiers."},
    )


class DossierQuery(Schema):
    """GET /api/v1/dossiers: filters and the page wanted."""

    class Meta:
        unknown = RAISE

    status = fields.String(
        validate=validate.OneOf([state.value for state in State]),
        metadata={"description": "Dossiers with at least one envelope in this state."},
    )
    registered_from = fields.Date(
        metadata={"description": "Registered on or after this day (the office's time zone)."}
    )
    registered_to = fields.Date(
        metadata={"description": "Registered on or before this day (the office's time zone)."}
    )
    limit = fields.Integer(
        load_default=DEFAULT_PAGE,
        strict=False,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"Dossiers per page, at most {MAX_PAGE}."},
    )
    cursor = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "`next_cursor` of the previous page; opaque."},
    )


class EnvelopeOut(Schema):
    code = fields.String(required=True, metadata={"example": "HC000000015VN"})
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in State]))
    attempts_made = fields.Integer(required=True)
    hold_deadline = fields.Date(allow_none=True)


class DossierOut(Schema):
    """A dossier as its agency sees it: its own data (the ID number's last four digits only)
    and each envelope's state."""

    code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    result_type = fields.String(required=True)
    recipient_name = fields.String(required=True)
    recipient_id_last4 = fields.String(allow_none=True)
    commune_code = fields.Integer(required=True)
    commune_name = fields.String(required=True)
    promised_date = fields.Date(allow_none=True)
    fees_due_vnd = fields.Integer(required=True)
    registered_at = fields.DateTime(required=True, attribute="created_at", format="iso")
    envelopes = fields.List(fields.Nested(EnvelopeOut), required=True)


class DossierPage(Schema):
    dossiers = fields.List(fields.Nested(DossierOut), required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page."},
    )


class HistoryEvent(Schema):
    """One event of the dossier's story: codes and states, no personal data."""

    kind = fields.String(required=True, metadata={"example": "envelope.deliver"})
    envelope_code = fields.String(allow_none=True, required=True)
    from_state = fields.String(allow_none=True, required=True)
    to_state = fields.String(allow_none=True, required=True)
    occurred_at = fields.DateTime(required=True, format="iso")


class EnvelopeDetail(EnvelopeOut):
    tracking_url = fields.String(
        required=True,
        metadata={"description": "The citizen's tracking page for this envelope (`/t/<token>`)."},
    )


class DossierDetail(DossierOut):
    envelopes = fields.List(fields.Nested(EnvelopeDetail), required=True)
    history = fields.List(fields.Nested(HistoryEvent), required=True)


class BatchItemResult(Schema):
    index = fields.Integer(required=True)
    code = fields.String(allow_none=True, required=True)
    result = fields.String(
        required=True, validate=validate.OneOf(["created", "exists", "conflict", "invalid"])
    )
    errors = fields.Dict(
        required=True,
        metadata={"description": "Field messages (invalid) or the fields that differ (conflict)."},
    )
    envelopes = fields.List(fields.String(), required=True)


class BatchResult(Schema):
    results = fields.List(fields.Nested(BatchItemResult), required=True)
    created = fields.Integer(required=True)
    exists = fields.Integer(required=True)
    conflict = fields.Integer(required=True)
    invalid = fields.Integer(required=True)


class ProofFileOut(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(["signature", "photo", "authorization"])
    )
    sha256 = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"description": "Works until `url_expires_at`."})
    url_expires_at = fields.DateTime(required=True, format="iso")


class ProofRecipient(Schema):
    name = fields.String(allow_none=True, required=True)
    relation = fields.String(allow_none=True, required=True)
    id_document_type = fields.String(allow_none=True, required=True)
    id_check_method = fields.String(allow_none=True, required=True)
    id_last4 = fields.String(allow_none=True, required=True)
    number_match = fields.Boolean(allow_none=True, required=True)
    name_match = fields.String(allow_none=True, required=True)


class ProofPosition(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    accuracy_m = fields.Float(allow_none=True, required=True)


class ProofAttempt(Schema):
    attempt_id = fields.String(required=True)
    envelope_code = fields.String(required=True)
    attempt_number = fields.Integer(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["delivered", "failed"]))
    reason_code = fields.String(allow_none=True, required=True)
    recipient = fields.Nested(ProofRecipient, allow_none=True, required=True)
    device_time = fields.DateTime(allow_none=True, required=True, format="iso")
    received_at = fields.DateTime(required=True, format="iso")
    position = fields.Nested(ProofPosition, allow_none=True, required=True)
    distance_m = fields.Float(allow_none=True, required=True)
    distance_flagged = fields.Boolean(required=True)
    fees_collected_vnd = fields.Integer(required=True)
    files = fields.List(fields.Nested(ProofFileOut), required=True)


class ProofBundle(Schema):
    dossier_code = fields.String(required=True)
    envelopes = fields.List(fields.Nested(EnvelopeOut), required=True)
    attempts = fields.List(fields.Nested(ProofAttempt), required=True)


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    fields = fields.Dict(required=True, metadata={"description": "Messages per field."})


class ErrorBody(Schema):
    """Every error: a stable code, a message to show, and messages per field."""

    error = fields.Nested(ErrorDetail, required=True)


DOSSIER_BATCH_IN = DossierBatchIn()
DOSSIER_QUERY = DossierQuery()
DOSSIER_OUT = DossierOut()
DOSSIER_PAGE = DossierPage()
HISTORY = HistoryEvent(many=True)
BATCH_RESULT = BatchResult()
PROOF_BUNDLE = ProofBundle()
