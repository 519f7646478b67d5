"""Running the office: user accounts, postmen's offices and agencies, every change audited.

Administrators manage everything in every office. A supervisor sees the accounts of their own
office (read-only) and may sign one of its postmen out of every device: a lost phone is an
office's emergency at 10 a.m., and signing out costs the postman only a log-in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from backend.auth.services import end_all_sessions
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.extensions import db
from backend.models import Agency, AuditEvent, DeliveryRun, PostOffice, Role, RunState, User

USER_LIST_LIMIT = 200
WEBHOOK_SALT_BYTES = 16
OFFICE_ROLES = (Role.postman, Role.supervisor)  # they work at one post office
OPEN_RUN_STATES = (RunState.planned.value, RunState.in_progress.value)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def audit(
    kind: str,
    *,
    actor: User,
    now: datetime,
    user: User | None = None,
    agency: Agency | None = None,
    **data,
) -> None:
    """Record one change (ids and codes only, no names or phones) and log the same."""
    db.session.add(
        AuditEvent(
            kind=kind,
            actor_id=actor.id,
            user_id=user.id if user else None,
            agency_id=agency.id if agency else None,
            occurred_at=now,
            data=data,
        )
    )
    current_app.logger.info(
        "%s actor_id=%s user_id=%s agency_id=%s %s",
        kind,
        actor.id,
        user.id if user else "-",
        agency.id if agency else "-",
        " ".join(f"{k}={v}" for k, v in sorted(data.items())),
    )


# --- Who may see and change whom ------------------------------------------------------------


def _is_admin(actor: User) -> bool:
    return actor.has_role(Role.admin)


def require_admin(actor: User) -> None:
    if not _is_admin(actor):
        raise Forbidden(_("Only an administrator may do this."), code="admin_only")


def visible_user(actor: User, user_id: int) -> User:
    """The account `actor` may see: any for an administrator, their office's for a supervisor."""
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or not (_is_admin(actor) or user.post_office_id == actor.post_office_id):
        raise NotFound(_("No such user."), code="user_not_found")
    return user


def can_sign_out(actor: User, user: User) -> bool:
    """Administrators sign anyone out; a supervisor, the postmen of their own office."""
    if _is_admin(actor):
        return True
    return (
        actor.has_role(Role.supervisor)
        and user.has_role(Role.postman)
        and user.post_office_id == actor.post_office_id
    )


def office_by_id(office_id: int | None) -> PostOffice | None:
    if office_id is None:
        return None
    office = db.session.get(PostOffice, office_id) if 0 < office_id < 2**31 else None
    if office is None:
        raise Invalid(_("This post office does not exist."), code="office_not_found")
    return office


def agency_by_id(agency_id: int | None) -> Agency | None:
    if agency_id is None:
        return None
    agency = db.session.get(Agency, agency_id) if 0 < agency_id < 2**31 else None
    if agency is None:
        raise Invalid(_("This agency does not exist."), code="agency_not_found")
    return agency


# --- Users ----------------------------------------------------------------------------------


def list_users(
    actor: User, *, office_id: int | None = None, role: str | None = None, query: str = ""
) -> list[User]:
    """Accounts by office, role and name or username; a supervisor's are their office's."""
    statement = select(User).order_by(User.active.desc(), User.username).limit(USER_LIST_LIMIT)
    if not _is_admin(actor):
        office_id = actor.post_office_id
        statement = statement.where(User.post_office_id == office_id)
    elif office_id is not None:
        statement = statement.where(User.post_office_id == office_id)
    if role:
        statement = statement.where(User.role == role)
    query = " ".join(query.split())
    if query:
        pattern = _like(query)
        statement = statement.where(
            or_(
                func.lower(User.username).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    return list(db.session.scalars(statement))


def _check_placement(role: str, office: PostOffice | None, agency: Agency | None) -> None:
    """Postmen and supervisors work at an office; agency clerks belong to an agency."""
    if role in OFFICE_ROLES and office is None:
        raise Invalid(_("Choose the post office this person works at."), code="office_required")
    if role == Role.agency and agency is None:
        raise Invalid(_("Choose the agency this clerk works for."), code="agency_required")


def create_user(
    actor: User,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    office_id: int | None,
    agency_id: int | None,
    now: datetime,
    hash_method: str,
) -> User:
    """A new account with the password the administrator set (to be changed on first use)."""
    require_admin(actor)
    taken = db.session.execute(
        select(User.id).where(func.lower(User.username) == username.lower())
    ).first()
    if taken:
        raise Conflict(_("This username is already taken."), code="username_taken")
    office = office_by_id(office_id) if role != Role.agency else None
    agency = agency_by_id(agency_id) if role == Role.agency else None
    _check_placement(role, office, agency)
    user = User(
        username=username.lower(),
        full_name=full_name,
        role=role,
        post_office=office,
        agency=agency,
        active=True,
        created_at=now,
    )
    user.set_password(password, method=hash_method)
    db.session.add(user)
    db.session.flush()
    audit(
        "user.create",
        actor=actor,
        now=now,
        user=user,
        role=role,
        office_id=office.id if office else None,
        agency_id=agency.id if agency else None,
    )
    return user


def reset_password(
    actor: User, user: User, *, password: str, now: datetime, hash_method: str
) -> int:
    """Set a new password and end every log-in made with the old one; return how many ended."""
    require_admin(actor)
    user.set_password(password, method=hash_method)
    ended = end_all_sessions(user)
    audit("user.reset_password", actor=actor, now=now, user=user, sessions_ended=ended)
    return ended


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.admin, User.active)
    )


def deactivate(actor: User, user: User, *, now: datetime) -> int:
    """Refuse the user from now on and end their log-ins; never oneself or the last admin."""
    require_admin(actor)
    if user.id == actor.id:
        raise Conflict(_("You cannot deactivate your own account."), code="self_deactivation")
    if not user.active:
        raise Conflict(_("This account is already deactivated."), code="already_inactive")
    if user.has_role(Role.admin) and _active_admins() <= 1:
        raise Conflict(
            _("This is the last active administrator: it cannot be deactivated."),
            code="last_admin",
        )
    user.active = False
    ended = end_all_sessions(user)
    audit("user.deactivate", actor=actor, now=now, user=user, sessions_ended=ended)
    return ended


def reactivate(actor: User, user: User, *, now: datetime) -> None:
    """Let a deactivated user log in again (with the password they had)."""
    require_admin(actor)
    if user.active:
        raise Conflict(_("This account is already active."), code="already_active")
    user.active = True
    audit("user.reactivate", actor=actor, now=now, user=user)


def sign_out_everywhere(actor: User, user: User, *, now: datetime) -> int:
    """End every log-in of `user` on every device (a lost phone); return how many ended."""
    if not can_sign_out(actor, user):
        raise Forbidden(_("You may not sign this user out."), code="sign_out_not_allowed")
    ended = end_all_sessions(user)
    audit("user.sign_out_everywhere", actor=actor, now=now, user=user, sessions_ended=ended)
    return ended


def open_runs_of(postman: User) -> list[DeliveryRun]:
    return list(
        db.session.scalars(
            select(DeliveryRun)
            .where(DeliveryRun.postman_id == postman.id, DeliveryRun.state.in_(OPEN_RUN_STATES))
            .order_by(DeliveryRun.run_date)
        )
    )


def move_postman(actor: User, postman: User, *, office_id: int, now: datetime) -> None:
    """Assign a postman to another office; refused while a run of theirs is not closed.

    A run belongs to its office: moving its postman mid-run would leave envelopes of one office
    out with a postman of another. Close or reassign the run first.
    """
    require_admin(actor)
    if not postman.has_role(Role.postman):
        raise Invalid(_("Only postmen are moved between offices here."), code="not_a_postman")
    office = office_by_id(office_id)
    if office.id == postman.post_office_id:
        raise Conflict(_("The postman already works at this office."), code="same_office")
    if open_runs_of(postman):
        raise Conflict(
            _("This postman has a run that is not closed: close it or move its envelopes first."),
            code="open_run",
        )
    previous = postman.post_office_id
    postman.post_office = office
    audit(
        "user.move",
        actor=actor,
        now=now,
        user=postman,
        from_office_id=previous,
        to_office_id=office.id,
    )


def user_history(user: User, limit: int = 50) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.user_id == user.id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


# --- Agencies -------------------------------------------------------------------------------

AGENCY_FIELDS = ("name", "contact_name", "contact_phone", "contact_email", "webhook_url")


def list_agencies(actor: User) -> list[Agency]:
    require_admin(actor)
    return list(db.session.scalars(select(Agency).order_by(Agency.name)))


def agency_for_admin(actor: User, agency_id: int) -> Agency:
    require_admin(actor)
    agency = db.session.get(Agency, agency_id) if 0 < agency_id < 2**31 else None
    if agency is None:
        raise NotFound(_("This agency does not exist."), code="agency_not_found")
    return agency


def create_agency(actor: User, *, code: str, office_id: int, now: datetime, **fields) -> Agency:
    """A new agency handing over to `office_id`."""
    require_admin(actor)
    taken = db.session.execute(
        select(Agency.id).where(func.upper(Agency.code) == code.upper())
    ).first()
    if taken:
        raise Conflict(_("This agency code is already used."), code="agency_code_taken")
    office = office_by_id(office_id)
    agency = Agency(
        code=code.upper(),
        post_office=office,
        province_code=office.province_code,
        created_at=now,
        **{name: fields.get(name) for name in AGENCY_FIELDS},
    )
    db.session.add(agency)
    db.session.flush()
    audit("agency.create", actor=actor, now=now, agency=agency, office_id=office.id)
    return agency


def update_agency(actor: User, agency: Agency, *, office_id: int, now: datetime, **fields) -> None:
    """Change an agency's name, contact, office or webhook URL; the audit names what changed."""
    require_admin(actor)
    office = office_by_id(office_id)
    changed = [name for name in AGENCY_FIELDS if getattr(agency, name) != fields.get(name)]
    for name in changed:
        setattr(agency, name, fields.get(name))
    if office.id != agency.post_office_id:
        changed.append("office")
        agency.post_office = office
    if changed:
        audit("agency.update", actor=actor, now=now, agency=agency, fields=sorted(changed))


@dataclass(frozen=True)
class NewSecret:
    agency: Agency
    secret: str


def new_webhook_secret(actor: User, agency: Agency, *, key: bytes, now: datetime) -> NewSecret:
    """A fresh webhook secret (the old one stops working): shown this once, never stored."""
    require_admin(actor)
    agency.webhook_secret_salt = secrets.token_hex(WEBHOOK_SALT_BYTES)
    audit("agency.webhook_secret", actor=actor, now=now, agency=agency)
    return NewSecret(agency, agency.webhook_secret(key))


def offices_for(user: User) -> list[PostOffice]:
    """The offices a form may offer this user: every one to an administrator, else their own."""
    statement = select(PostOffice).order_by(PostOffice.name)
    if not user.has_role(Role.admin):
        statement = statement.where(PostOffice.id == user.post_office_id)
    return list(db.session.scalars(statement))


def all_agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).order_by(Agency.name)))
