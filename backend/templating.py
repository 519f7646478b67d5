"""Filters and helpers the templates use: dates and translated labels."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_datetime, gettext

from backend.domain.lifecycle import STATE_LABELS, State
from backend.domain.policy import (
    RESULT_TYPE_LABELS,
    ResultType,
)


def state_label(state: State | str) -> str:
    return gettext(STATE_LABELS[State(state)])


def result_type_label(result_type: ResultType | str) -> str:
    return gettext(RESULT_TYPE_LABELS[ResultType(result_type)])


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(format_date, "format_date")
    app.add_template_filter(format_datetime, "format_datetime")
    app.add_template_global(state_label)
    app.add_template_global(result_type_label)
