"""The shapes of the postman's API: the attempt's `meta` in, the receipt out."""

from __future__ import annotations

import hashlib

from flask_babel import gettext
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from backend.delivery.services import dossiers_paid
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.errors import InvalidIdNumber
from backend.domain.idnum import DOCUMENT_TYPES, validate_document_number
from backend.domain.policy import (
    FAILURE_REASON_LABELS,
    REASONS_NEEDING_NOTE,
    RELATION_LABELS,
    RESULT_TYPE_LABELS,
    FailureReason,
    IdCheckMethod,
    Relation,
    ResultType,
)
from backend.validation import INT32_MAX, Text

OUTCOMES = ("delivered", "failed")
SCAN_METHODS = ("qr", "typed")
ID_DOCUMENT_TYPES = DOCUMENT_TYPES
FILE_FIELDS = ("signature", "photo", "authorization")
MAX_NOTE_CHARS = 1000
MAX_STROKES = 200
MAX_POINTS_PER_STROKE = 2000
MAX_ATTEMPT_NUMBER = 99
# A phone's clock can be wrong, but not by centuries: outside these years it is no time at all
# (and year 1 at +14:00 is not even an instant Python can hold in UTC).
DEVICE_YEARS = (2000, 2999)

_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a SHA-256 in lower-case hex.")
_ID_NUMBER = validate.Regexp(r"^[0-9]{12}$", error="Must be 12 digits.")
_LAST4 = validate.Regexp(r"^[0-9]{4}$", error="Must be 4 digits.")
_DOCUMENT_NUMBER_ERRORS = {
    "passport": "Must be a letter and 7 digits (passport).",
    "other": "Must be 5 to 20 letters or digits.",
}


def _plausible_device_time(value) -> None:
    low, high = DEVICE_YEARS
    if not low <= value.year <= high:
        raise ValidationError("Not a plausible time on a phone's clock.")


class ScanSchema(Schema):
    """How the envelope was identified at the door."""

    method = fields.String(required=True, validate=validate.OneOf(SCAN_METHODS))
    payload = Text(load_default=None, allow_none=True, validate=validate.Length(max=128))

    @validates_schema
    def _payload_for_qr(self, data, **kwargs):
        if data["method"] == "qr" and not data.get("payload"):
            raise ValidationError("A QR scan needs its payload.", "payload")


class RecipientSchema(Schema):
    """Who took the envelope and how their identity was checked."""

    name = Text(required=True, validate=validate.Length(min=1, max=200))
    relation = fields.String(required=True, validate=validate.OneOf([r.value for r in Relation]))
    id_document_type = fields.String(
        load_default="cccd", validate=validate.OneOf(ID_DOCUMENT_TYPES)
    )
    id_check_method = fields.String(
        required=True, validate=validate.OneOf([m.value for m in IdCheckMethod])
    )
    id_number = Text(load_default=None, allow_none=True, validate=validate.Length(max=64))
    # VNeID's screen is read by eye: the postman types the last four digits it shows.
    id_last4 = Text(load_default=None, allow_none=True, validate=_LAST4)
    # The postman looked again at a weak match (a name without diacritics, a passport) and
    # confirms the person: accepted, and flagged for the supervisor.
    weak_match_confirmed = fields.Boolean(load_default=False)

    @validates_schema
    def _what_each_method_reads(self, data, **kwargs):
        """VNeID gives the last four digits and never a whole number; the others, the number."""
        vneid = data.get("id_check_method") == IdCheckMethod.vneid_shown
        if vneid and not data.get("id_last4"):
            raise ValidationError("The last four digits VNeID shows are required.", "id_last4")
        if vneid and data.get("id_number"):
            raise ValidationError("VNeID gives only the last four digits.", "id_number")
        if not vneid and data.get("id_last4"):
            raise ValidationError("Only for an ID shown on VNeID.", "id_last4")

    @validates_schema
    def _chip_and_vneid_checks_are_of_the_id_card(self, data, **kwargs):
        """Scanning the chip QR or seeing VNeID checks a citizen ID card, nothing else."""
        chip_or_app = data.get("id_check_method") in (
            IdCheckMethod.chip_qr,
            IdCheckMethod.vneid_shown,
        )
        if chip_or_app and data.get("id_document_type", "cccd") != "cccd":
            raise ValidationError("Only a citizen ID card is checked this way.", "id_document_type")

    @validates_schema
    def _number_per_document_type(self, data, **kwargs):
        """The number follows its paper's rule: 12 digits for a CCCD, see idnum for others."""
        number, doc_type = data.get("id_number"), data.get("id_document_type", "cccd")
        if number is None or doc_type not in ID_DOCUMENT_TYPES:
            return
        try:
            if doc_type == "cccd":
                _ID_NUMBER(number)
            else:
                validate_document_number(doc_type, number)
        except (ValidationError, InvalidIdNumber):
            message = _DOCUMENT_NUMBER_ERRORS.get(doc_type, _ID_NUMBER.error)
            raise ValidationError(message, "id_number") from None


class PositionSchema(Schema):
    """The phone's GPS fix at the moment of the attempt."""

    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(required=True, validate=validate.Range(min=0))


class Strokes(fields.Field):
    """The signature's strokes, checked as a whole: at most MAX_STROKES strokes of at most
    MAX_POINTS_PER_STROKE points, each point three finite numbers.

    A point is sent as `[x, y, t]` (the compact form) or, by apps before it, `{"x", "y", "t"}`;
    it is kept in the compact form. One pass over plain lists: a schema object per point cost
    more than everything else in the meta.
    """

    default_error_messages = {
        "strokes": "Must be a list of at most {strokes} strokes.",
        "points": "Stroke {stroke}: must be a list of at most {points} points.",
        "point": "Stroke {stroke}, point {point}: must be [x, y, t], three finite numbers.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> list[list[list[float]]]:
        if not isinstance(value, list) or len(value) > MAX_STROKES:
            raise self.make_error("strokes", strokes=MAX_STROKES)
        strokes = []
        for i, stroke in enumerate(value):
            if not isinstance(stroke, list) or len(stroke) > MAX_POINTS_PER_STROKE:
                raise self.make_error("points", stroke=i, points=MAX_POINTS_PER_STROKE)
            points = []
            for j, point in enumerate(stroke):
                if type(point) is dict and point.keys() == _POINT_KEYS:
                    point = [point["x"], point["y"], point["t"]]
                if type(point) is not list or len(point) != 3:
                    raise self.make_error("point", stroke=i, point=j)
                x, y, t = point
                # A number (not a bool) within what a phone's JavaScript holds exactly; the
                # comparisons are False for NaN and the infinities too.
                if not (
                    type(x) in _NUMBERS
                    and type(y) in _NUMBERS
                    and type(t) in _NUMBERS
                    and -_SAFE < x < _SAFE
                    and -_SAFE < y < _SAFE
                    and -_SAFE < t < _SAFE
                ):
                    raise self.make_error("point", stroke=i, point=j)
                points.append(point)
            strokes.append(points)
        return strokes


_POINT_KEYS = {"x", "y", "t"}
_NUMBERS = frozenset({int, float})
_SAFE = 2**53  # beyond it a phone's JavaScript number is no longer exact


class FileRefSchema(Schema):
    """A file sent with the attempt, named by its form field and SHA-256."""

    field = fields.String(required=True, validate=validate.OneOf(FILE_FIELDS))
    sha256 = fields.String(required=True, validate=_SHA256)


class AttemptMetaSchema(Schema):
    """The `meta` part of POST /api/v1/attempts (docs/api-delivery.md)."""

    attempt_id = fields.UUID(required=True)
    stop_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, INT32_MAX))
    # The attempt's number as the phone counted it: a second attempt on the same run (the
    # citizen called back) must say so, and a stale one from another phone is refused.
    attempt_number = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(1, MAX_ATTEMPT_NUMBER),
    )
    envelope_code = Text(required=True, validate=validate.Length(min=1, max=13))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([r.value for r in FailureReason]),
    )
    note = Text(
        load_default="",
        allow_none=True,
        multiline=True,
        validate=validate.Length(max=MAX_NOTE_CHARS),
    )
    scan = fields.Nested(ScanSchema, required=True)
    recipient = fields.Nested(RecipientSchema, load_default=None, allow_none=True)
    position = fields.Nested(PositionSchema, load_default=None, allow_none=True)
    device_time = fields.AwareDateTime(
        required=True,
        format="iso",
        validate=lambda value: _plausible_device_time(value),
    )
    fees_collected_vnd = fields.Integer(
        required=True, strict=True, validate=validate.Range(0, INT32_MAX)
    )
    signature_strokes = Strokes(load_default=None, allow_none=True)
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


def dump_receipt(receipt) -> dict:
    """An attempt's receipt as AttemptReceiptSchema dumps it, written out by hand: the schema
    walking nine fields and a nested list cost each attempt a quarter of a millisecond. The
    schema stays the contract (the API's documentation); a test holds the two equal."""
    return {
        "attempt_id": receipt.attempt_id,
        "envelope_code": receipt.envelope_code,
        "envelope_state": receipt.envelope_state,
        "attempt_number": receipt.attempt_number,
        "outcome": receipt.outcome,
        "received_at": receipt.received_at.isoformat(),
        "distance_m": None if receipt.distance_m is None else float(receipt.distance_m),
        "distance_flagged": bool(receipt.distance_flagged),
        "files": [{"kind": f["kind"], "sha256": f["sha256"]} for f in receipt.files],
    }


# The most stops a run's order may name: a province-wide run is a few hundred.
MAX_ORDER_STOPS = 5000


class RunOrderSchema(Schema):
    """POST /api/v1/runs/<id>/order: every stop of the run, in the postman's order."""

    stop_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(1, INT32_MAX)),
        required=True,
        validate=validate.Length(1, MAX_ORDER_STOPS),
    )


def run_doors(stops) -> list[list[int]]:
    """The run's doors in order, each the ids of its stops in order (stops sorted by position).

    A door is named on the phone by its first stop's id: stable while the postman reorders."""
    doors: dict[int, list[int]] = {}
    for stop in sorted(stops, key=lambda s: s.position):
        doors.setdefault(stop.visit, []).append(stop.id)
    return list(doors.values())


def dump_stop(
    stop,
    last_attempt,
    *,
    qr_key: bytes,
    policy,
    door: int | None = None,
    paid_dossiers: frozenset[int] = frozenset(),
) -> dict:
    """One stop of today's run, as the phone needs it offline (docs/api-delivery.md).

    `paid_dossiers`: the dossiers whose fees an envelope on the postman's runs collected
    already; the fees are collected once per dossier."""
    envelope, dossier = stop.envelope, stop.envelope.dossier
    payload = sign_envelope_qr(envelope.code, qr_key)
    has_location = dossier.latitude is not None and dossier.longitude is not None
    return {
        "stop_id": stop.id,
        "position": stop.position,
        # Stops with the same visit are one door: the same recipient at the same address.
        "visit": stop.visit,
        # The door's key: the id of its first stop (the visit number changes with the order).
        "door": stop.id if door is None else door,
        "envelope_code": envelope.code,
        "qr_digest": hashlib.sha256(payload.encode("ascii")).hexdigest(),
        "state": envelope.state.value,
        "attempts_made": envelope.attempts_made,
        "attempt_number": envelope.attempts_made + 1,
        "attempts_left": max(0, policy.max_home_attempts - envelope.attempts_made),
        "dossier_code": dossier.code,
        "procedure_name": dossier.procedure_name,
        "result_type": dossier.result_type,
        "result_type_label": result_type_label(dossier.result_type),
        "representative_allowed": _representative_allowed(dossier, policy),
        "recipient": {
            "name": dossier.recipient_name,
            "phone": dossier.recipient_phone,
            "id_last4": dossier.recipient_id_last4,
        },
        "address": {
            "line": dossier.address_line,
            "hamlet": dossier.hamlet,
            "commune": dossier.commune_name,
            "province": dossier.province_name,
            "full": dossier.full_address,
        },
        "location": {"lat": dossier.latitude, "lon": dossier.longitude} if has_location else None,
        "fees_due_vnd": dossier.fees_due_vnd,
        "fees_collected_on_dossier": dossier.id in paid_dossiers,
        "last_attempt": None
        if last_attempt is None
        else {
            "attempt_id": last_attempt.id,
            "outcome": last_attempt.outcome,
            "reason_code": last_attempt.reason_code,
            "fees_collected_vnd": last_attempt.fees_collected_vnd,
            "at": (last_attempt.device_time or last_attempt.received_at).isoformat(),
        },
    }


def _representative_allowed(dossier, policy) -> bool:
    try:
        return policy.allows_recipient(
            dossier.result_type, Relation.representative, dossier.holder_only
        )
    except ValueError:  # a result type this version does not know: only the flag decides
        return dossier.holder_only is not True


def result_type_label(result_type: str) -> str:
    """The result type's name in the user's language (the code itself if unknown)."""
    try:
        return gettext(RESULT_TYPE_LABELS[ResultType(result_type)])
    except ValueError:
        return result_type


def dump_runs_today(runs, attempts, *, day, now, settings: dict, qr_key: bytes, policy) -> dict:
    """GET /api/v1/runs/today: the runs, their stops, and the lists the app shows offline."""
    paid = paid_dossiers(runs)
    return {
        "date": day.isoformat(),
        "server_time": now.isoformat(),
        "settings": settings,
        "reasons": [
            {
                "code": reason.value,
                "label": gettext(label),
                "needs_note": reason in REASONS_NEEDING_NOTE,
            }
            for reason, label in FAILURE_REASON_LABELS.items()
        ],
        "relations": [
            {"code": relation.value, "label": gettext(label)}
            for relation, label in RELATION_LABELS.items()
        ],
        "runs": [
            dump_run(run, attempts, qr_key=qr_key, policy=policy, paid_dossiers=paid)
            for run in runs
        ],
    }


def paid_dossiers(runs) -> frozenset[int]:
    """The dossiers of these runs whose fees a delivered envelope collected already (on any
    run): the others of their envelopes collect nothing."""
    return frozenset(dossiers_paid(stop.envelope.dossier_id for run in runs for stop in run.stops))


def dump_run(run, attempts, *, qr_key: bytes, policy, paid_dossiers=frozenset()) -> dict:
    """One run of the day: its stops in order, and its doors (stop ids) in order."""
    doors = run_doors(run.stops)
    door_of = {stop_id: door[0] for door in doors for stop_id in door}
    return {
        "id": run.id,
        "state": run.state,
        "date": run.run_date.isoformat(),
        "doors": doors,
        "stops": [
            dump_stop(
                stop,
                attempts.get(stop.envelope_id),
                qr_key=qr_key,
                policy=policy,
                door=door_of[stop.id],
                paid_dossiers=paid_dossiers,
            )
            for stop in run.stops
        ],
    }
