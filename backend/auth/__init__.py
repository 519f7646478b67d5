"""Log-in, log-out, and who may see which page."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from backend.auth import views  # noqa: E402,F401  (routes register on import)
