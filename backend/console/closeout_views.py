"""Closing a run: scan back what was not delivered, count the money, close (issue 11).

The scanning works as receiving does (receiving_views.py): a USB scanner types the label's QR
payload or its printed code and Enter; with JavaScript each scan is sent without reloading and
refusals beep, without it the form posts and the page comes back with the answer. Closing is a
form: a refusal (a difference without a note, attempts the phone said were waiting, not
confirmed) comes back as the page with the reason and its status (422 / 409).
"""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.closeout import (
    MAX_NOTE_CHARS,
    OUTCOME_LABELS,
    close_run,
    closeout_of,
    expected_vnd,
    missing_envelopes,
    outstanding,
    parse_vnd,
    phone_waiting,
    returns,
    run_for_closeout,
    scan_back,
)
from backend.console.services import office_scope
from backend.domain.errors import DomainError
from backend.errors import AppError, Conflict
from backend.extensions import db
from backend.models import DeliveryRun, Role

STAFF = (Role.supervisor, Role.admin)
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def vnd(amount: int) -> str:
    """An amount of đồng as the office reads it: 150.000 đ."""
    return f"{format_decimal(amount)} đ"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _timezone(run: DeliveryRun) -> str:
    return run.post_office.timezone if run.post_office else DEFAULT_TIMEZONE


def _counts(run: DeliveryRun) -> dict[str, int]:
    back = len(returns(run))
    left = len(outstanding(run))
    return {"back": back, "expected": back + left, "left": left}


def _page(run: DeliveryRun, *, error: AppError | None = None, form=None, status: int = 200):
    record = closeout_of(run)
    return (
        render_template(
            "console/closeout.html",
            run=run,
            record=record,
            missing=missing_envelopes(record) if record else [],
            returned=returns(run),
            outstanding=[] if record else outstanding(run),
            counts=_counts(run),
            expected_vnd=record.expected_vnd if record else expected_vnd(run),
            phone=None if record else phone_waiting(run),
            outcome_labels=OUTCOME_LABELS,
            error=error,
            form=form or {},
            max_note=MAX_NOTE_CHARS,
            vnd=vnd,
        ),
        status,
    )


@bp.get("/runs/<int:run_id>/close")
@roles_required(*STAFF)
def closeout_page(run_id: int):
    """The run's close-out: what should come back, what did, the money; or its record."""
    run = run_for_closeout(run_id, office_scope(current_user))
    return _page(run)


@bp.post("/runs/<int:run_id>/close/scan")
@roles_required(*STAFF)
def closeout_scan(run_id: int):
    """Take one envelope back from the run (its code or the QR on its label), or say why not."""
    run = run_for_closeout(run_id, office_scope(current_user))
    text = request.form.get("code", "")
    try:
        item = scan_back(
            run,
            text,
            actor=current_user,
            now=clock.now(),
            qr_key=current_app.config["QR_SIGNING_KEY"],
            policy=current_app.config["DELIVERY_POLICY"],
            timezone=_timezone(run),
        )
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        err = Conflict(
            _("This envelope was being changed at the same moment. Scan it again."),
            code="envelope_busy",
        )
        return _refused(err, run_id)
    except (AppError, DomainError) as err:
        db.session.rollback()
        return _refused(err, run_id)
    envelope = item.envelope
    outcome = _(OUTCOME_LABELS[item.outcome])
    message = _(
        "%(code)s is back — %(name)s: %(outcome)s.",
        code=envelope.code,
        name=envelope.dossier.recipient_name,
        outcome=outcome,
    )
    if _wants_json():
        return jsonify(
            envelope={
                "code": envelope.code,
                "recipient_name": envelope.dossier.recipient_name,
                "outcome": item.outcome,
                "outcome_label": outcome,
            },
            message=message,
            counts=_counts(run),
        )
    flash(message, "info")
    return redirect(url_for("console.closeout_page", run_id=run_id))


def _refused(err, run_id: int):
    if _wants_json() or not isinstance(err, AppError):
        raise err
    flash(err.message, "error")
    return redirect(url_for("console.closeout_page", run_id=run_id))


@bp.post("/runs/<int:run_id>/close")
@roles_required(*STAFF)
def closeout_close(run_id: int):
    """Close the run with the money handed over; the record follows."""
    run = run_for_closeout(run_id, office_scope(current_user))
    form = {
        "received_vnd": request.form.get("received_vnd", "")[:40],
        "note": request.form.get("note", "")[:MAX_NOTE_CHARS],
    }
    try:
        close_run(
            run,
            received_vnd=parse_vnd(form["received_vnd"]),
            note=form["note"],
            confirm_waiting=request.form.get("confirm_waiting") == "yes",
            actor=current_user,
            now=clock.now(),
        )
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        err = Conflict(_("This run was closed at the same moment."), code="run_closed")
        return _close_refused(err, run_id, form)
    except AppError as err:
        db.session.rollback()
        return _close_refused(err, run_id, form)
    if _wants_json():
        return jsonify(closeout=_dump(closeout_of(run)))
    flash(_("The run is closed."), "info")
    return redirect(url_for("console.closeout_page", run_id=run_id))


def _close_refused(err: AppError, run_id: int, form: dict):
    if _wants_json():
        raise err
    run = run_for_closeout(run_id, office_scope(current_user))
    return _page(run, error=err, form=form, status=err.status)


def _dump(record) -> dict:
    return {
        "run_id": record.run_id,
        "expected_vnd": record.expected_vnd,
        "received_vnd": record.received_vnd,
        "difference_vnd": record.difference_vnd,
        "expected_back": record.expected_back,
        "scanned_back": record.scanned_back,
        "missing_envelope_ids": record.missing_envelope_ids,
        "phone_waiting": record.phone_waiting,
        "closed_at": record.closed_at.isoformat(),
    }
