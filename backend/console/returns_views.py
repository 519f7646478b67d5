"""Returning to the agency: the envelopes past their hold by agency, a return hand-over scanned
out envelope by envelope, and its record (PDF) signed by both sides.

The scanning page is the receiving page's twin (the same script: a USB scanner types the code
and Enter; without JavaScript the form posts and the page comes back with the answer).
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.handovers import finish_handover, handover_for_staff, recent_handovers
from backend.console.receiving_views import answer_scan
from backend.console.records import handover_pdf_response
from backend.console.returns import (
    RETURN,
    due_back_by_agency,
    due_back_from,
    return_scan,
    start_return,
)
from backend.console.services import office_scope
from backend.errors import Forbidden, Invalid, NotFound
from backend.extensions import db
from backend.models import Agency, Handover, Role
from backend.validation import INT32_MAX, one_line

STAFF = (Role.supervisor, Role.admin)
RECENT_RETURNS = 20
MAX_OFFICER_NAME = 200
MAX_SCAN_TEXT = 128


def _own_office():
    office = current_user.post_office
    if office is None:
        raise Forbidden(_("Returns are made by the staff of a post office."), code="no_post_office")
    return office


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _today(handover: Handover | None = None):
    office = handover.post_office if handover else current_user.post_office
    return clock.today_in(office.timezone if office else current_app.config["TIMEZONE"])


@bp.get("/returns")
@roles_required(*STAFF)
def returns_home():
    """The agencies with envelopes past their hold, and the recent returns."""
    office = _own_office()
    return render_template(
        "console/returns.html",
        due=due_back_by_agency(office.id, _today()),
        recent=recent_handovers(office.id, RECENT_RETURNS, kind=RETURN),
    )


@bp.post("/returns")
@roles_required(*STAFF)
def returns_start():
    """Open a return to the agency chosen, then scan its envelopes out."""
    office = _own_office()
    try:
        agency_id = int(request.form.get("agency_id", ""))
    except ValueError:
        raise Invalid(_("Choose the agency the envelopes go back to."), code="no_agency") from None
    agency = db.session.get(Agency, agency_id) if 0 < agency_id <= INT32_MAX else None
    if agency is None:
        raise NotFound(_("This agency does not exist."), code="agency_not_found")
    officer = one_line(request.form.get("officer_name"), MAX_OFFICER_NAME)
    handover = start_return(
        office, agency, actor=current_user, now=clock.now(), today=_today(), officer_name=officer
    )
    db.session.commit()
    return redirect(url_for("console.return_page", handover_id=handover.id))


def _counts(handover: Handover) -> dict[str, int]:
    """In the receiving page's words (its script shows them): returned, due at the start, and
    still due back now."""
    return {
        "received": len(handover.items),
        "announced": handover.announced,
        "waiting": due_back_from(handover.post_office_id, handover.agency_id, _today(handover)),
    }


@bp.get("/returns/<int:handover_id>")
@roles_required(*STAFF)
def return_page(handover_id: int):
    """The scanning page: a running count against what was due back."""
    handover = handover_for_staff(handover_id, office_scope(current_user), kind=RETURN)
    return render_template("console/return_scan.html", handover=handover, counts=_counts(handover))


@bp.post("/returns/<int:handover_id>/scan")
@roles_required(*STAFF)
def return_scan_view(handover_id: int):
    """Return one envelope (its code or its label's QR), or refuse it saying why."""
    handover = handover_for_staff(handover_id, office_scope(current_user), kind=RETURN)
    text = request.form.get("code", "")[: MAX_SCAN_TEXT + 1]
    return answer_scan(
        lambda: return_scan(
            handover,
            text,
            actor=current_user,
            now=clock.now(),
            today=_today(handover),
            qr_key=current_app.config["QR_SIGNING_KEY"],
            override_note=request.form.get("override_note"),
            policy=current_app.config["DELIVERY_POLICY"],
        ),
        said=lambda envelope: _(
            "Returned %(code)s — %(name)s.",
            code=envelope.code,
            name=envelope.dossier.recipient_name,
        ),
        counts=lambda: _counts(handover),
        page=url_for("console.return_page", handover_id=handover_id),
    )


@bp.post("/returns/<int:handover_id>/finish")
@roles_required(*STAFF)
def return_finish(handover_id: int):
    """Close the return; its record is ready to print and sign."""
    handover = handover_for_staff(handover_id, office_scope(current_user), kind=RETURN)
    finish_handover(handover, now=clock.now())
    db.session.commit()
    return redirect(url_for("console.return_page", handover_id=handover_id))


@bp.get("/returns/<int:handover_id>/record.pdf")
@roles_required(*STAFF)
def return_record(handover_id: int):
    """The record of results returned (biên bản trả kết quả cho cơ quan), to sign by both sides."""
    handover = handover_for_staff(handover_id, office_scope(current_user), kind=RETURN)
    return handover_pdf_response(handover, filename=f"return-{handover.id}.pdf")
