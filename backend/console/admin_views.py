"""Pages for running the office: users, postmen's offices, agencies (see backend/console/admin.py).

Forms post and come back: a refused form is shown again with what was wrong, and nothing
changed; every change redirects to the page showing its result.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from backend import clock
from backend.agency_api import keys
from backend.auth.access import roles_required
from backend.console import admin, bp
from backend.console.admin_schemas import (
    MIN_PASSWORD_CHARS,
    AgencySchema,
    ApiKeySchema,
    MoveSchema,
    NewAgencySchema,
    NewUserSchema,
    PasswordSchema,
    UserFilterSchema,
)
from backend.errors import AppError
from backend.extensions import db
from backend.models import Agency, PostOffice, Role

STAFF = (Role.supervisor, Role.admin)
ADMIN = (Role.admin,)


def _offices() -> list[PostOffice]:
    return admin.offices_for(current_user)


def _agencies() -> list[Agency]:
    return admin.all_agencies()


def _form_errors(err: ValidationError) -> dict[str, str]:
    messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    return {name: " ".join(_(str(e)) for e in errs) for name, errs in messages.items()}


def _refused(err: AppError) -> None:
    """Undo whatever the refused request began, and tell the user why."""
    db.session.rollback()
    flash(err.message, "error")


def _settings():
    return {"now": clock.now(), "hash_method": current_app.config["PASSWORD_HASH_METHOD"]}


# --- Users ----------------------------------------------------------------------------------


@bp.get("/users")
@roles_required(*STAFF)
def users():
    """Accounts by office, role, name or username (a supervisor: their office's, read-only)."""
    try:
        filters = UserFilterSchema().load(request.args.to_dict())
        found = admin.list_users(
            current_user, office_id=filters["office_id"], role=filters["role"], query=filters["q"]
        )
        errors = {}
    except ValidationError as err:
        filters, found, errors = {"q": ""}, [], _form_errors(err)
    return render_template(
        "console/admin_users.html",
        users=found,
        filters=filters,
        errors=errors,
        offices=_offices(),
        roles=list(Role),
        limit=admin.USER_LIST_LIMIT,
    )


def _new_user_page(form: dict, errors: dict, status: int):
    return (
        render_template(
            "console/admin_user_new.html",
            form=form,
            errors=errors,
            offices=_offices(),
            agencies=_agencies(),
            roles=list(Role),
            min_password=MIN_PASSWORD_CHARS,
        ),
        status,
    )


@bp.get("/users/new")
@roles_required(*ADMIN)
def user_new():
    return _new_user_page({}, {}, 200)


@bp.post("/users/new")
@roles_required(*ADMIN)
def user_create():
    """Create an account with the password the administrator gives it."""
    form = request.form.to_dict()
    form.pop("password", None)  # never echoed back into the page
    try:
        data = NewUserSchema().load(request.form.to_dict())
        user = admin.create_user(current_user, **data, **_settings())
        db.session.commit()
    except ValidationError as err:
        return _new_user_page(form, _form_errors(err), 422)
    except AppError as err:
        db.session.rollback()
        return _new_user_page(form, {"_schema": err.message}, err.status)
    flash(_("Account %(username)s created.", username=user.username), "info")
    return redirect(url_for("console.user_page", user_id=user.id), 303)


def _user_page(user, status: int = 200, errors: dict | None = None):
    return (
        render_template(
            "console/admin_user.html",
            user=user,
            is_admin=current_user.has_role(Role.admin),
            can_sign_out=admin.can_sign_out(current_user, user),
            open_runs=admin.open_runs_of(user) if user.has_role(Role.postman) else [],
            history=admin.user_history(user),
            offices=_offices(),
            errors=errors or {},
            min_password=MIN_PASSWORD_CHARS,
        ),
        status,
    )


@bp.get("/users/<int:user_id>")
@roles_required(*STAFF)
def user_page(user_id: int):
    """One account: who, where, its state, what was done to it, and the actions allowed."""
    return _user_page(admin.visible_user(current_user, user_id))


def _user_action(user_id: int, act, done: str):
    """Run one action on an account; on refusal show the page again with the reason."""
    user = admin.visible_user(current_user, user_id)
    try:
        act(user)
        db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        return _user_page(admin.visible_user(current_user, user_id), 422, _form_errors(err))
    except AppError as err:
        _refused(err)
        return _user_page(admin.visible_user(current_user, user_id), err.status)
    flash(done, "info")
    return redirect(url_for("console.user_page", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/password")
@roles_required(*ADMIN)
def user_password(user_id: int):
    """Set a new password; every device logged in with the old one is signed out."""

    def act(user):
        data = PasswordSchema().load(request.form.to_dict())
        admin.reset_password(current_user, user, password=data["password"], **_settings())

    return _user_action(user_id, act, _("Password changed; every log-in of the account ended."))


@bp.post("/users/<int:user_id>/deactivate")
@roles_required(*ADMIN)
def user_deactivate(user_id: int):
    return _user_action(
        user_id,
        lambda user: admin.deactivate(current_user, user, now=clock.now()),
        _("Account deactivated; every log-in of it ended."),
    )


@bp.post("/users/<int:user_id>/reactivate")
@roles_required(*ADMIN)
def user_reactivate(user_id: int):
    return _user_action(
        user_id,
        lambda user: admin.reactivate(current_user, user, now=clock.now()),
        _("Account active again."),
    )


@bp.post("/users/<int:user_id>/sign-out")
@roles_required(*STAFF)
def user_sign_out(user_id: int):
    """Sign the account out of every device (a lost or stolen phone)."""
    return _user_action(
        user_id,
        lambda user: admin.sign_out_everywhere(current_user, user, now=clock.now()),
        _("Signed out of every device."),
    )


@bp.post("/users/<int:user_id>/office")
@roles_required(*ADMIN)
def user_move(user_id: int):
    """Assign a postman to another office (refused while one of their runs is open)."""

    def act(user):
        data = MoveSchema().load(request.form.to_dict())
        admin.move_postman(current_user, user, office_id=data["office_id"], now=clock.now())

    return _user_action(user_id, act, _("The postman now works at the office chosen."))


# --- Agencies -------------------------------------------------------------------------------


@bp.get("/agencies")
@roles_required(*ADMIN)
def agencies():
    return render_template(
        "console/admin_agencies.html", agencies=admin.list_agencies(current_user)
    )


def _agency_page(
    agency,
    form: dict,
    errors: dict,
    status: int = 200,
    secret: str | None = None,
    new_key: str | None = None,
    key_errors: dict | None = None,
):
    response = current_app.make_response(
        (
            render_template(
                "console/admin_agency.html",
                agency=agency,
                form=form,
                errors=errors,
                offices=_offices(),
                secret=secret,
                api_keys=keys.agency_keys(agency) if agency else [],
                new_key=new_key,
                key_errors=key_errors or {},
            ),
            status,
        )
    )
    if secret or new_key:  # shown this once: no copy in the browser's cache or history
        response.headers["Cache-Control"] = "no-store"
    return response


def _agency_form(agency: Agency) -> dict:
    return {
        "code": agency.code,
        "office_id": agency.post_office_id,
        **{name: getattr(agency, name) or "" for name in admin.AGENCY_FIELDS},
    }


@bp.get("/agencies/new")
@roles_required(*ADMIN)
def agency_new():
    return _agency_page(None, {}, {})


@bp.post("/agencies/new")
@roles_required(*ADMIN)
def agency_create():
    form = request.form.to_dict()
    try:
        data = NewAgencySchema().load(form)
        agency = admin.create_agency(current_user, now=clock.now(), **data)
        db.session.commit()
    except ValidationError as err:
        return _agency_page(None, form, _form_errors(err), 422)
    except AppError as err:
        db.session.rollback()
        return _agency_page(None, form, {"_schema": err.message}, err.status)
    flash(_("Agency created."), "info")
    return redirect(url_for("console.agency_page", agency_id=agency.id), 303)


@bp.get("/agencies/<int:agency_id>")
@roles_required(*ADMIN)
def agency_page(agency_id: int):
    agency = admin.agency_for_admin(current_user, agency_id)
    return _agency_page(agency, _agency_form(agency), {})


@bp.post("/agencies/<int:agency_id>")
@roles_required(*ADMIN)
def agency_update(agency_id: int):
    agency = admin.agency_for_admin(current_user, agency_id)
    form = request.form.to_dict()
    try:
        data = AgencySchema().load(form)
        admin.update_agency(current_user, agency, now=clock.now(), **data)
        db.session.commit()
    except ValidationError as err:
        return _agency_page(agency, {**form, "code": agency.code}, _form_errors(err), 422)
    except AppError as err:
        db.session.rollback()
        agency = admin.agency_for_admin(current_user, agency_id)
        return _agency_page(
            agency, {**form, "code": agency.code}, {"_schema": err.message}, err.status
        )
    flash(_("Agency saved."), "info")
    return redirect(url_for("console.agency_page", agency_id=agency.id), 303)


@bp.post("/agencies/<int:agency_id>/webhook-secret")
@roles_required(*ADMIN)
def agency_webhook_secret(agency_id: int):
    """A new webhook secret, shown on this answer only (the old one stops working)."""
    agency = admin.agency_for_admin(current_user, agency_id)
    made = admin.new_webhook_secret(
        current_user, agency, key=current_app.config["WEBHOOK_KEY"], now=clock.now()
    )
    db.session.commit()
    return _agency_page(agency, _agency_form(agency), {}, secret=made.secret)


@bp.post("/agencies/<int:agency_id>/api-keys")
@roles_required(*ADMIN)
def agency_api_key_create(agency_id: int):
    """A new API key beside the agency's others, shown on this answer only."""
    agency = admin.agency_for_admin(current_user, agency_id)
    try:
        data = ApiKeySchema().load(request.form.to_dict())
    except ValidationError as err:
        return _agency_page(agency, _agency_form(agency), {}, 422, key_errors=_form_errors(err))
    issued = keys.issue_api_key(current_user, agency, label=data["label"], now=clock.now())
    db.session.commit()
    return _agency_page(agency, _agency_form(agency), {}, new_key=issued.secret)


@bp.post("/agencies/<int:agency_id>/api-keys/<int:key_id>/revoke")
@roles_required(*ADMIN)
def agency_api_key_revoke(agency_id: int, key_id: int):
    """The key stops working at once."""
    agency = admin.agency_for_admin(current_user, agency_id)
    keys.revoke_api_key(current_user, agency, key_id, now=clock.now())
    db.session.commit()
    flash(_("The key is revoked: it no longer works."), "info")
    return redirect(url_for("console.agency_page", agency_id=agency.id), 303)
