"""Log-in and log-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from backend import clock
from backend.auth import bp
from backend.auth.access import LANDING
from backend.auth.schemas import LoginSchema
from backend.auth.services import (
    SESSION_ID_KEY,
    AccountDeactivated,
    authenticate,
    end_session,
    start_session,
)
from backend.extensions import db, limiter
from backend.models import Role
from backend.security import client_address_key, failed_login, login_account_key


def _landing_url(user) -> str:
    return url_for(LANDING[Role(user.role)])


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths, so a crafted link cannot send the user elsewhere after log-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(_landing_url(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN"],
    methods=["POST"],
    key_func=client_address_key,
    deduct_when=failed_login,
)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"],
    methods=["POST"],
    key_func=login_account_key,
    deduct_when=failed_login,
)
def login():
    if request.method != "POST":  # GET, and the HEAD Flask answers with it
        if current_user.is_authenticated:
            return redirect(_landing_url(current_user))
        return render_template("auth/login.html", next=request.args.get("next", ""))
    try:
        form = LoginSchema().load(request.form.to_dict())
    except ValidationError:
        flash(_("Enter your username and password."), "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 422
    config = current_app.config["TRAO_CONFIG"]
    at = clock.now()
    try:
        user = authenticate(
            form["username"],
            form["password"],
            now=at,
            demo_allowed=config.demo_logins_allowed,
            hash_method=config.PASSWORD_HASH_METHOD,
        )
    except AccountDeactivated:
        user = None
        flash(_("This account has been deactivated. Ask your administrator."), "error")
    else:
        if user is None:
            flash(_("Wrong username or password."), "error")
    if user is None:
        return (
            render_template("auth/login.html", next=form["next"] or "", username=form["username"]),
            401,
        )
    previous = session.pop(SESSION_ID_KEY, None)
    if previous:  # a log-in over a log-in replaces it: copies of the old cookie end with it
        end_session(previous)
    session_id = start_session(user, now=at, lifetime=current_app.permanent_session_lifetime)
    db.session.commit()
    login_user(user)
    session[SESSION_ID_KEY] = session_id
    # A cookie with Expires survives Android killing the app and the phone restarting: the
    # postman stays logged in for the session's hours without needing signal to log in again.
    session.permanent = True
    current_app.logger.info("login user_id=%s role=%s", user.id, user.role)
    target = _safe_next(form["next"])
    return redirect(target or _landing_url(user))


@bp.post("/logout")
def logout():
    session_id = session.pop(SESSION_ID_KEY, None)
    if session_id:
        end_session(session_id)
        db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
