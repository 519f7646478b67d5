"""Held envelopes and the counter: the list with deadlines and reminders, and the hand-over of a
held envelope at the counter (scan, identity, signature on the tablet's screen, proof record).

The counter page works with a USB scanner (it types the label's QR payload or code, and the ID
card's QR text, then Enter) or by hand; the signature is drawn on the screen (signature_pad).
"""

from __future__ import annotations

import uuid

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.counter import (
    attempt_id_of,
    collect_at_counter,
    counter_digest,
    envelope_for_staff,
    find_counter_replay,
    find_held,
    held_envelopes,
    record_reminder,
)
from backend.console.services import office_scope
from backend.delivery.proof_files import ProofSettings, Upload
from backend.delivery.receiving import dossier_fees_paid
from backend.domain.codes import is_valid_envelope_code
from backend.domain.lifecycle import State
from backend.domain.policy import RESULT_TYPE_LABELS, Relation, ResultType
from backend.errors import AppError, Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import Role
from backend.storage import get_storage

STAFF = (Role.supervisor, Role.admin)
MAX_SCAN_TEXT = 128


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _today():
    office = current_user.post_office
    return clock.today_in(office.timezone if office else current_app.config["TIMEZONE"])


def _envelope(code: str):
    if not is_valid_envelope_code(code):
        raise NotFound(_("No held envelope has this code here."), code="envelope_not_found")
    return envelope_for_staff(code, office_scope(current_user))


def _result_label(result_type: str) -> str:
    try:
        return _(RESULT_TYPE_LABELS[ResultType(result_type)])
    except ValueError:
        return result_type


@bp.get("/held")
@roles_required(*STAFF)
def held_list():
    """The office's held envelopes, soonest deadline first; reminders due today."""
    today = _today()
    rows = held_envelopes(office_scope(current_user), today, current_app.config["DELIVERY_POLICY"])
    return render_template(
        "console/held.html",
        rows=rows,
        today=today,
        due_reminders=[row for row in rows if row.reminder_due_now],
    )


@bp.post("/held/<code>/remind")
@roles_required(*STAFF)
def held_remind(code: str):
    """The clerk called the citizen to remind them: recorded, the envelope leaves the list."""
    envelope = _envelope(code)
    try:
        record_reminder(
            envelope,
            actor=current_user,
            now=clock.now(),
            channel=request.form.get("channel", "phone"),
        )
    except AppError as err:
        db.session.rollback()
        if _wants_json():
            raise
        flash(err.message, "error")
        return redirect(url_for("console.held_list"))
    db.session.commit()
    flash(_("Reminder recorded for %(code)s.", code=envelope.code), "info")
    return redirect(url_for("console.held_list"))


@bp.get("/counter")
@roles_required(*STAFF)
def counter_home():
    """Scan a held envelope (or type its code) to hand it over."""
    text = request.args.get("scan", "")
    if text:
        try:
            envelope = find_held(
                text[:MAX_SCAN_TEXT],
                office_scope(current_user),
                current_app.config["QR_SIGNING_KEY"],
            )
        except AppError as err:
            flash(err.message, "error")
            return render_template("console/counter.html", scan=text[:MAX_SCAN_TEXT]), err.status
        return redirect(
            url_for("console.counter_envelope", code=envelope.code, scan=text[:MAX_SCAN_TEXT])
        )
    return render_template("console/counter.html", scan="")


@bp.get("/counter/<code>")
@roles_required(*STAFF)
def counter_envelope(code: str):
    """The hand-over of one held envelope: who collects it, their ID, their signature."""
    envelope = _envelope(code)
    if envelope.state is not State.held_at_office:
        flash(_("Envelope %(code)s is not held at the office.", code=envelope.code), "error")
        return redirect(url_for("console.counter_home"))
    dossier = envelope.dossier
    policy = current_app.config["DELIVERY_POLICY"]
    holder_only = not policy.allows_recipient(
        dossier.result_type, Relation.representative, dossier.holder_only
    )
    paid = dossier.fees_due_vnd and dossier_fees_paid(envelope.id)
    return render_template(
        "console/counter_collect.html",
        envelope=envelope,
        dossier=dossier,
        fees_due=0 if paid else dossier.fees_due_vnd,
        holder_only=holder_only,
        result_label=_result_label(dossier.result_type),
        attempt_id=str(uuid.uuid4()),
        scan=request.args.get("scan", "")[:MAX_SCAN_TEXT],
    )


@bp.post("/counter/<code>/collect")
@roles_required(*STAFF)
def counter_collect(code: str):
    """Record the hand-over at the counter: 201 the first time, 200 with the same answer again."""
    envelope = _envelope(code)
    if request.mimetype != "multipart/form-data":
        raise Invalid(_("A hand-over is sent as multipart/form-data."), code="multipart_required")
    form = request.form.to_dict(flat=True)
    uploads = [Upload(field, part.read()) for field, part in request.files.items(multi=True)]
    attempt_id = attempt_id_of(form)
    config = current_app.config
    digest = counter_digest(form, uploads, config["ID_HASH_KEY"])
    clerk = current_user._get_current_object()
    receipt = find_counter_replay(attempt_id, clerk=clerk, digest=digest, envelope=envelope)
    if receipt is None:
        storage = get_storage()
        staging = storage.stage()
        office = envelope.dossier.post_office
        try:
            receipt = collect_at_counter(
                envelope,
                form,
                uploads,
                attempt_id=attempt_id,
                digest=digest,
                clerk=clerk,
                now=clock.now(),
                today=clock.today_in(office.timezone),
                settings=ProofSettings.from_config(config),
                staging=staging,
                policy=config["DELIVERY_POLICY"],
                timezone=office.timezone,
            )
            staging.seal()
            db.session.commit()
        except (IntegrityError, StaleDataError):
            # The same hand-over sent twice at once (answered as a replay), or the envelope
            # changed under it.
            db.session.rollback()
            staging.discard()
            receipt = find_counter_replay(attempt_id, clerk=clerk, digest=digest, envelope=envelope)
            if receipt is None:
                raise Conflict(
                    _("This envelope changed at the same moment: look at it again."),
                    code="envelope_busy",
                ) from None
        except BaseException:
            db.session.rollback()
            staging.discard()
            raise
        else:
            try:
                staging.publish()
            except OSError:
                current_app.logger.exception("publishing counter hand-over files failed")
    return jsonify(
        attempt_id=receipt.attempt_id,
        envelope_code=receipt.envelope_code,
        replay=receipt.replay,
        message=_("Envelope %(code)s was handed over.", code=receipt.envelope_code),
        envelope_url=url_for("console.envelope_page", code=receipt.envelope_code),
    ), (200 if receipt.replay else 201)
