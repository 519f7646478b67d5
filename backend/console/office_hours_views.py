"""The office's opening hours, set by its supervisor (or an administrator, naming the office)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backend.auth.access import roles_required
from backend.console import bp
from backend.console.office_hours import MAX_OPENING_HOURS_CHARS, set_opening_hours
from backend.errors import AppError, NotFound
from backend.extensions import db
from backend.models import PostOffice, Role

STAFF = (Role.supervisor, Role.admin)


def _office() -> PostOffice:
    """The supervisor's own office; an administrator's, the one named by its code."""
    if not current_user.has_role(Role.admin):
        return db.session.get(PostOffice, current_user.post_office_id)
    code = request.values.get("office", "")[:16]
    office = db.session.scalars(select(PostOffice).where(PostOffice.code == code)).first()
    if office is None:
        raise NotFound(_("No such post office."), code="no_such_office")
    return office


@bp.get("/office")
@roles_required(*STAFF)
def office_hours():
    """The form."""
    office = _office()
    return render_template(
        "console/office_hours.html", office=office, max_chars=MAX_OPENING_HOURS_CHARS
    )


@bp.post("/office")
@roles_required(*STAFF)
def office_hours_save():
    """Save the opening hours; back to the form."""
    office = _office()
    try:
        set_opening_hours(
            office, request.form.get("opening_hours", "")[: MAX_OPENING_HOURS_CHARS * 2]
        )
    except AppError as err:
        db.session.rollback()
        flash(err.message, "error")
        return render_template(
            "console/office_hours.html", office=office, max_chars=MAX_OPENING_HOURS_CHARS
        ), err.status
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("console.office_hours", office=office.code), 303)
