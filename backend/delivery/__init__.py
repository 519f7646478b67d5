"""The postman's side: today's run, and the attempts made at each door."""

from flask import Blueprint

bp = Blueprint("delivery", __name__)

from backend.delivery import api, views  # noqa: E402,F401
