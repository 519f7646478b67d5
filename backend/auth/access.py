"""Role checks for views: each role sees only its own pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask_babel import gettext as _
from flask_login import current_user, login_required

from backend.errors import Forbidden
from backend.models import Role

# Where each role lands after logging in.
LANDING = {
    Role.postman: "delivery.app_shell",
    Role.supervisor: "console.home",
    Role.admin: "console.home",
    Role.agency: "agency_api.home",
}


def roles_required(*roles: Role) -> Callable:
    """Allow a view only to logged-in users holding one of `roles` (401 / 403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                raise Forbidden(_("This page is not for your role."))
            return view(*args, **kwargs)

        return wrapped

    return decorator
