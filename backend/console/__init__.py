"""The supervisor's console: receive envelopes, plan runs, watch them, print labels."""

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from backend.console import (  # noqa: E402,F401
    admin_views,
    closeout_views,
    counter_views,
    exceptions_views,
    live_views,
    office_hours_views,
    planning_views,
    receipts_views,
    receiving_views,
    reports_views,
    requests_views,
    returns_views,
    search_views,
    views,
)
