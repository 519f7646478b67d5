"""The console's outbox page: parked and failing webhooks by agency, and re-sending them."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.extensions import db
from backend.models import Role
from backend.outbox import bp
from backend.outbox.services import problem_messages, resend_message, resend_parked

STAFF = (Role.supervisor, Role.admin)


@bp.get("")
@roles_required(*STAFF)
def page():
    """Parked and failing messages of the agencies the user sees."""
    return render_template(
        "console/outbox.html",
        groups=problem_messages(current_user),
        now=clock.now(),
        format_timedelta=format_timedelta,
    )


@bp.post("/messages/<int:message_id>/resend")
@roles_required(*STAFF)
def resend_one(message_id: int):
    """Put one parked message back in line."""
    resend_message(current_user, message_id, now=clock.now())
    db.session.commit()
    flash(_("The message is queued to be sent again."), "info")
    return redirect(url_for("outbox.page"))


@bp.post("/agencies/<int:agency_id>/resend")
@roles_required(*STAFF)
def resend_agency(agency_id: int):
    """Put every parked message of one agency back in line."""
    count = resend_parked(current_user, agency_id, now=clock.now())
    db.session.commit()
    flash(
        ngettext(
            "%(num)d message is queued to be sent again.",
            "%(num)d messages are queued to be sent again.",
            count,
        ),
        "info",
    )
    return redirect(url_for("outbox.page"))
