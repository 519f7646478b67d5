"""The supervisor's console: receive envelopes, plan runs, watch them, print labels."""

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from backend.console import receiving_views, search_views, views  # noqa: E402,F401

# isort: split
from backend.console import exceptions_views, live_views  # noqa: E402,F401
