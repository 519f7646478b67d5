"""Checking a log-in."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from backend.extensions import db
from backend.models import User


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


def authenticate(
    username: str, password: str, *, now: datetime, demo_allowed: bool, hash_method: str
) -> User | None:
    """The active user with these credentials, or None. Demo accounts only outside production."""
    user = db.session.execute(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        # Spend the same time as a real check, so timing does not reveal which usernames exist.
        User(password_hash=_dummy_hash(hash_method)).check_password(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    if user.is_demo and not demo_allowed:
        return None
    user.last_login_at = now
    return user
