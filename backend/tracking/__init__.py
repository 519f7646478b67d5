"""The citizen's side: following an envelope through a tracking link."""

from flask import Blueprint

bp = Blueprint("tracking", __name__, url_prefix="/t")

from backend.tracking import views  # noqa: E402,F401
