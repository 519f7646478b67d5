"""The postman's pages: the app shell (the run itself comes from the API)."""

from __future__ import annotations

from flask import make_response, render_template

from backend.auth.access import roles_required
from backend.delivery import bp, pwa  # noqa: F401  (pwa: service worker, manifest, icons)
from backend.models import Role


@bp.get("/app")
@roles_required(Role.postman)
def app_shell():
    """The postman's app shell: no per-user data, so the service worker may cache it."""
    response = make_response(render_template("delivery/app.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response
