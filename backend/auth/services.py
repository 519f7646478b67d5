"""Checking a log-in, and the server-side sessions that make log-out final."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, delete, func, select
from werkzeug.security import generate_password_hash

from backend.extensions import db
from backend.models import AuthSession, User

SESSION_ID_BYTES = 16  # 128 bits: unguessable, and only its hash is stored
SESSION_ID_KEY = "sid"  # where the signed Flask session keeps this log-in's id


class AccountDeactivated(Exception):
    """The password is right but an administrator deactivated the account."""


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


def authenticate(
    username: str, password: str, *, now: datetime, demo_allowed: bool, hash_method: str
) -> User | None:
    """The active user with these credentials, or None. Demo accounts only outside production.

    Raises AccountDeactivated for a deactivated account's right password: the person is told
    to see an administrator rather than to retype it (only whoever knows the password learns it).
    """
    user = db.session.execute(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        # Spend the same time as a real check, so timing does not reveal which usernames exist.
        User(password_hash=_dummy_hash(hash_method)).check_password(password)
        return None
    if not user.check_password(password):
        return None
    if not user.active:
        raise AccountDeactivated
    if user.is_demo and not demo_allowed:
        return None
    user.last_login_at = now
    return user


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(user: User, *, now: datetime, lifetime: timedelta) -> str:
    """Open a session for `user` until now + lifetime; return its id, for the signed cookie only.

    The user's expired sessions are swept here, so the table stays as small as the live log-ins.
    """
    db.session.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= now)
    )
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    db.session.add(
        AuthSession(
            id_hash=hash_session_id(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return session_id


# Every request runs it: built once (building and keying a statement costs more than its run).
_SESSION_USER = (
    select(User)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        AuthSession.id_hash == bindparam("id_hash"),
        AuthSession.expires_at > bindparam("now"),
        User.id == bindparam("user_id"),
        User.active.is_(True),
    )
)


def session_user(user_id: int, session_id: str | None, *, now: datetime) -> User | None:
    """The active user this unexpired session belongs to (one query), or None if it has ended."""
    if not session_id:
        return None
    params = {"id_hash": hash_session_id(session_id), "now": now, "user_id": user_id}
    return db.session.execute(_SESSION_USER, params).scalar_one_or_none()


def end_session(session_id: str) -> None:
    """End one log-in (this device's): every copy of its cookie is refused from now on."""
    db.session.execute(
        delete(AuthSession).where(AuthSession.id_hash == hash_session_id(session_id))
    )
    db.session.flush()


def end_all_sessions(user: User) -> int:
    """Sign `user` out on every device (a lost phone); return how many log-ins were ended."""
    ended = db.session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    db.session.flush()
    return ended.rowcount


def deactivate_user(user: User) -> int:
    """Refuse `user`'s log-ins from now on and end the ones open; return how many were ended."""
    user.active = False
    return end_all_sessions(user)
