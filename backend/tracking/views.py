"""The citizen's tracking page `/t/<token>`: no JavaScript, a few kilobytes, forms with CSRF.

Every route counts against one limit of look-ups per client address; wrong phone digits count
against a second one per address (Flask-Limiter) and against the envelope (in the database).
"""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from backend import clock
from backend.console.requests import REQUEST_LABELS, RequestKind
from backend.errors import AppError
from backend.extensions import db, limiter
from backend.security import client_address_key
from backend.tracking import bp
from backend.tracking.receipt import render_receipt_pdf
from backend.tracking.schemas import DigitsSchema, RequestSchema
from backend.tracking.services import (
    Guess,
    Tracked,
    build_story,
    check_phone_digits,
    delivery_receipt,
    is_verified,
    open_link,
    remember_verified,
    request_delivery_change,
    require_verified,
)

# Status of a wrong guess: the one the per-address guess limit counts.
WRONG_GUESS = 403

lookups = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_TRACKING_LOOKUP"],
    scope="tracking-lookup",
    key_func=client_address_key,
)
guesses = limiter.limit(
    lambda: current_app.config["RATELIMIT_TRACKING_GUESS"],
    key_func=client_address_key,
    deduct_when=lambda response: response.status_code == WRONG_GUESS,
)


def _open(token: str) -> Tracked:
    config = current_app.config
    return open_link(token[:64], now=clock.now(), keep_days=config["TRACKING_KEEP_DAYS"])


def _today(tracked: Tracked):
    return clock.local_date(clock.now(), tracked.office.timezone or current_app.config["TIMEZONE"])


def _page(tracked: Tracked, token: str, *, status: int = 200, message: str = "", **extra):
    """The page for this link: the stage always, the rest once the digits were given."""
    config = current_app.config
    verified = is_verified(session, tracked.link, now=clock.now())
    story = None
    if verified:
        story = build_story(
            tracked,
            today=_today(tracked),
            policy=config["DELIVERY_POLICY"],
            request_days=config["TRAO_TRACKING_REQUEST_DAYS"],
        )
    return (
        render_template(
            "tracking/page.html",
            tracked=tracked,
            token=token,
            verified=verified,
            story=story,
            message=message,
            request_labels=REQUEST_LABELS,
            **extra,
        ),
        status,
    )


@bp.get("/<token>")
@lookups
def page(token: str):
    """What the link opens."""
    return _page(_open(token), token)


@bp.post("/<token>/verify")
@lookups
@guesses
def verify(token: str):
    """The last four digits of the recipient's phone: right opens the details for a while."""
    tracked = _open(token)
    try:
        form = DigitsSchema().load(request.form.to_dict())
    except ValidationError:
        return _page(tracked, token, status=422, message=_("Enter exactly four digits."))
    config = current_app.config
    now = clock.now()
    result = check_phone_digits(
        tracked,
        form["digits"],
        now=now,
        max_guesses=config["TRAO_TRACKING_MAX_GUESSES"],
        lock_hours=config["TRAO_TRACKING_LOCK_HOURS"],
    )
    db.session.commit()  # a wrong guess counts even though the answer is a refusal
    if result.outcome is Guess.right:
        remember_verified(
            session, tracked.link, now=now, minutes=config["TRAO_TRACKING_VERIFIED_MINUTES"]
        )
        return redirect(url_for("tracking.page", token=token), 303)
    if result.outcome is Guess.wrong:
        message = _("These digits are not right. %(n)s tries left.", n=result.remaining)
        return _page(tracked, token, status=WRONG_GUESS, message=message)
    if result.outcome is Guess.locked:
        return _page(tracked, token, status=429, locked_until=result.locked_until)
    return _page(
        tracked,
        token,
        status=409,
        message=_("No phone number was given for this result. Please ask the post office."),
    )


@bp.post("/<token>/request")
@lookups
def ask(token: str):
    """Another delivery day, or collecting it at the post office (once the digits were given)."""
    tracked = _open(token)
    config = current_app.config
    now = clock.now()
    require_verified(is_verified(session, tracked.link, now=now))
    try:
        form = RequestSchema().load(request.form.to_dict())
    except ValidationError:
        return _page(tracked, token, status=422, message=_("Choose one of the days offered."))
    try:
        request_delivery_change(
            tracked,
            form["kind"],
            form["day"],
            now=now,
            today=_today(tracked),
            policy=config["DELIVERY_POLICY"],
            request_days=config["TRAO_TRACKING_REQUEST_DAYS"],
        )
    except AppError as err:
        db.session.rollback()
        return _page(tracked, token, status=err.status, message=err.message)
    db.session.commit()
    flash(_("Done: %(what)s.", what=_(REQUEST_LABELS[RequestKind(form["kind"])])), "success")
    return redirect(url_for("tracking.page", token=token), 303)


@bp.get("/<token>/receipt.pdf")
@lookups
def receipt(token: str):
    """The delivery receipt, once the result was handed over and the digits were given."""
    tracked = _open(token)
    require_verified(is_verified(session, tracked.link, now=clock.now()))
    found = delivery_receipt(tracked, key=current_app.config["RECEIPT_KEY"])
    return Response(
        render_receipt_pdf(found),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="bien-nhan-{found.envelope_code}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@bp.errorhandler(AppError)
def _refused(err: AppError):
    """The same small not-found page for every token that opens nothing; other refusals in the
    page's own plain style."""
    if err.status == 404:
        return render_template("tracking/not_found.html"), 404
    return render_template("tracking/message.html", message=err.message), err.status


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    status = err.code or 500
    if status == 404:
        return render_template("tracking/not_found.html"), 404
    messages = {
        429: _("Too many tries from your connection. Please wait a while and try again."),
        400: _("The form expired. Go back, reload the page and try again."),
    }
    message = messages.get(status, _("This cannot be done."))
    return render_template("tracking/message.html", message=message), status
