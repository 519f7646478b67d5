"""The agencies' side: their dossiers, registered from their one-stop-shop systems."""

from flask import Blueprint

bp = Blueprint("agency_api", __name__)

from backend.agency_api import api, views  # noqa: E402,F401
