"""Receiving from an agency: open a hand-over, scan envelopes in, finish, print the record.

The scanning page works with a USB scanner (it types the code and Enter into the focused field)
or by hand; with JavaScript each scan is sent without reloading and refusals beep, without it
the form posts and the page comes back with the answer.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.handovers import (
    announced_by_agency,
    finish_handover,
    handover_for_staff,
    receive_scan,
    recent_handovers,
    start_handover,
    waiting_from,
)
from backend.console.records import handover_pdf_response
from backend.console.services import office_scope
from backend.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from backend.extensions import db
from backend.models import Agency, Envelope, Handover, Role
from backend.validation import INT32_MAX, one_line

STAFF = (Role.supervisor, Role.admin)
RECENT_HANDOVERS = 20
MAX_COURIER_NAME = 200


def _own_office():
    office = current_user.post_office
    if office is None:
        raise Forbidden(
            _("Receiving is done by the staff of a post office."), code="no_post_office"
        )
    return office


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/receive")
@roles_required(*STAFF)
def receive_home():
    """The agencies with envelopes announced for this office, and the recent hand-overs."""
    office = _own_office()
    recent = recent_handovers(office.id, RECENT_HANDOVERS)
    return render_template(
        "console/receive.html", announced=announced_by_agency(office.id), recent=recent
    )


@bp.post("/receive")
@roles_required(*STAFF)
def receive_start():
    """Open a hand-over from the agency chosen, then scan its envelopes in."""
    office = _own_office()
    try:
        agency_id = int(request.form.get("agency_id", ""))
    except ValueError:
        raise Invalid(
            _("Choose the agency handing the envelopes over."), code="no_agency"
        ) from None
    agency = db.session.get(Agency, agency_id) if 0 < agency_id <= INT32_MAX else None
    if agency is None:
        raise NotFound(_("This agency does not exist."), code="agency_not_found")
    courier = one_line(request.form.get("courier_name"), MAX_COURIER_NAME)
    handover = start_handover(
        office, agency, actor=current_user, now=clock.now(), courier_name=courier
    )
    db.session.commit()
    return redirect(url_for("console.receive_page", handover_id=handover.id))


def _counts(handover: Handover) -> dict[str, int]:
    received = len(handover.items)
    return {
        "received": received,
        "announced": handover.announced,
        "waiting": waiting_from(handover.post_office_id, handover.agency_id),
    }


@bp.get("/receive/<int:handover_id>")
@roles_required(*STAFF)
def receive_page(handover_id: int):
    """The scanning page: a running count against what the agency announced."""
    handover = handover_for_staff(handover_id, office_scope(current_user))
    return render_template("console/receive_scan.html", handover=handover, counts=_counts(handover))


@bp.post("/receive/<int:handover_id>/scan")
@roles_required(*STAFF)
def receive_scan_view(handover_id: int):
    """Receive one envelope (its code or the QR on its label), or refuse it saying why."""
    handover = handover_for_staff(handover_id, office_scope(current_user))
    text = request.form.get("code", "")
    return answer_scan(
        lambda: receive_scan(
            handover,
            text,
            actor=current_user,
            now=clock.now(),
            qr_key=current_app.config["QR_SIGNING_KEY"],
            policy=current_app.config["DELIVERY_POLICY"],
        ),
        said=lambda envelope: _(
            "Received %(code)s — %(name)s.",
            code=envelope.code,
            name=envelope.dossier.recipient_name,
        ),
        counts=lambda: _counts(handover),
        page=url_for("console.receive_page", handover_id=handover_id),
    )


def answer_scan(
    scan: Callable[[], Envelope],
    *,
    said: Callable[[Envelope], str],
    counts: Callable[[], dict],
    page: str,
) -> Response:
    """A scan at a hand-over desk (received from an agency, or returned to one): `scan` changes
    the envelope or refuses it (AppError); a scan losing a race with another desk is a 409
    that keeps nothing. JSON for the page's script (the envelope, what to say, the counts),
    else a message and back to the page."""
    try:
        try:
            envelope = scan()
            db.session.commit()
        except (IntegrityError, StaleDataError):
            # The envelope changed under the scan (another desk scanned or handed it over).
            db.session.rollback()
            raise Conflict(
                _("This envelope changed at the same moment: look at it again."),
                code="envelope_busy",
            ) from None
    except AppError as err:
        db.session.rollback()
        if _wants_json():
            raise
        flash(err.message, "error")
        return redirect(page)
    message = said(envelope)
    if _wants_json():
        return jsonify(
            envelope={
                "code": envelope.code,
                "recipient_name": envelope.dossier.recipient_name,
                "commune_name": envelope.dossier.commune_name,
            },
            message=message,
            counts=counts(),
        )
    flash(message, "info")
    return redirect(page)


@bp.post("/receive/<int:handover_id>/finish")
@roles_required(*STAFF)
def receive_finish(handover_id: int):
    """Close the hand-over; its record is ready to print and sign."""
    handover = handover_for_staff(handover_id, office_scope(current_user))
    finish_handover(handover, now=clock.now())
    db.session.commit()
    return redirect(url_for("console.receive_page", handover_id=handover_id))


@bp.get("/receive/<int:handover_id>/record.pdf")
@roles_required(*STAFF)
def receive_record(handover_id: int):
    """The hand-over record (biên bản giao nhận), to print and sign by both sides."""
    handover = handover_for_staff(handover_id, office_scope(current_user))
    return handover_pdf_response(handover, filename=f"handover-{handover.id}.pdf")
