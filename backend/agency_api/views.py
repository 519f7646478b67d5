"""The agency clerk's pages: the dossiers, registering one by form, importing a file of them, and
one dossier's story with its proof.

Forms post and come back: a refused form is shown again with what was wrong, and nothing
changed; a registration or an import redirects to the page showing its result.
"""

from __future__ import annotations

import re

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from backend import clock
from backend.agency_api import bp
from backend.agency_api.clerk import (
    ImportCheck,
    check_sheet,
    dossier_story,
    field_errors,
    import_sheet,
    proof_file_for_agency,
    register_from_form,
)
from backend.agency_api.forms import COLUMN_BY_NAME, COLUMNS, communes_of
from backend.agency_api.imports import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    ImportRefused,
    read_sheet,
    template_csv,
    template_xlsx,
)
from backend.agency_api.intake import MAX_ENVELOPES, Outcome
from backend.agency_api.services import agency_dossiers
from backend.auth.access import roles_required
from backend.console.proof_serving import display_copy_response, proof_file_response
from backend.console.timeline import EVENT_LABELS, OUTCOME_LABELS
from backend.domain.policy import (
    FAILURE_REASON_LABELS,
    ID_CHECK_METHOD_LABELS,
    RELATION_LABELS,
    ResultType,
)
from backend.errors import AppError, NotFound
from backend.extensions import db
from backend.models import Role
from backend.tracking.services import tracking_urls

CLERK = (Role.agency,)
SHOWN_PROBLEMS = 500  # a preview lists this many row errors; the count says how many more
IMPORT_ACTIONS = {"check", "import_all", "import_clean"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _settings() -> dict:
    config = current_app.config
    return {
        "now": clock.now(),
        "id_key": config["ID_HASH_KEY"],
        "code_prefix": config["ENVELOPE_CODE_PREFIX"],
    }


@bp.get("/agency")
@roles_required(*CLERK)
def home():
    """The agency's latest dossiers and where their envelopes are."""
    return render_template("agency/home.html", dossiers=agency_dossiers(current_user.agency_id))


# --- Registering by form -----------------------------------------------------------------------


def _register_page(form: dict, errors: dict, status: int, conflict: str | None = None):
    return (
        render_template(
            "agency/register.html",
            form=form,
            errors=errors,
            conflict=conflict,
            columns={c.name: c for c in COLUMNS},
            communes=communes_of(current_user.agency.province_code),
            result_types=list(ResultType),
            max_envelopes=MAX_ENVELOPES,
        ),
        status,
    )


@bp.get("/agency/register")
@roles_required(*CLERK)
def register_form():
    return _register_page({"envelopes": "1"}, {}, 200)


@bp.post("/agency/register")
@roles_required(*CLERK)
def register():
    """Register one dossier typed by the clerk; the same dossier again changes nothing."""
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        result = register_from_form(current_user.agency, form, **_settings())
    except ValidationError as err:
        db.session.rollback()
        errors = {k: " ".join(v) for k, v in field_errors(err).items()}
        return _register_page(form, errors, 422)
    if result.outcome is Outcome.conflict:
        db.session.rollback()
        differs = ", ".join(
            _(COLUMN_BY_NAME[n].label) if n in COLUMN_BY_NAME else n for n in result.differs
        )
        message = _(
            "A dossier with the code %(code)s is already registered with other content "
            "(%(fields)s). Nothing was changed: check the code, or open the registered dossier.",
            code=result.dossier.code,
            fields=differs,
        )
        return _register_page(form, {}, 409, conflict=message)
    db.session.commit()
    if result.outcome is Outcome.created:
        flash(_("Dossier %(code)s registered.", code=result.dossier.code), "info")
    else:
        flash(_("This dossier was already registered; nothing changed."), "info")
    return redirect(url_for("agency_api.dossier_page", code=result.dossier.code), 303)


# --- Importing a file --------------------------------------------------------------------------


def _import_page(status: int = 200, *, check: ImportCheck | None = None, error: str | None = None):
    problems = check.problems if check else []
    return (
        render_template(
            "agency/import.html",
            check=check,
            error=error,
            problems=problems[:SHOWN_PROBLEMS],
            more_problems=max(0, len(problems) - SHOWN_PROBLEMS),
            columns=COLUMNS,
            max_mb=MAX_FILE_BYTES // 2**20,
            max_rows=MAX_ROWS,
        ),
        status,
    )


@bp.get("/agency/import")
@roles_required(*CLERK)
def import_form():
    return _import_page()


@bp.post("/agency/import")
@roles_required(*CLERK)
def import_file():
    """Check a file (`action=check`) or import it: all rows when all are clean
    (`import_all`), or only the clean ones (`import_clean`). The file is read again each time
    and nothing of it is kept between the check and the import."""
    action = request.form.get("action", "check")
    upload = request.files.get("file")
    if action not in IMPORT_ACTIONS:
        return _import_page(422, error=_("Unknown choice."))
    if upload is None or not upload.filename:
        return _import_page(422, error=_("Choose a file (CSV or XLSX)."))
    agency = current_user.agency
    settings = _settings()
    try:
        sheet = read_sheet(upload.filename, upload.stream.read(MAX_FILE_BYTES + 1))
        check = check_sheet(agency, sheet, id_key=settings["id_key"])
    except ImportRefused as err:
        return _import_page(err.status, error=err.message)
    if action == "check":
        return _import_page(check=check)
    try:
        result = import_sheet(agency, check, only_clean=action == "import_clean", **settings)
        db.session.commit()
    except AppError as err:
        db.session.rollback()
        return _import_page(err.status, check=check, error=err.message)
    flash(
        _(
            "Imported: %(created)s dossiers registered, %(before)s already registered, "
            "%(skipped)s rows with errors left out.",
            created=result.created,
            before=result.registered_before,
            skipped=result.skipped,
        ),
        "info",
    )
    return redirect(url_for("agency_api.home"), 303)


def _download(data: bytes, mimetype: str, name: str) -> Response:
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/agency/import/template.csv")
@roles_required(*CLERK)
def import_template_csv():
    """The import file's columns, as a CSV to fill in."""
    return _download(template_csv(), "text/csv", "trao-ho-so.csv")


@bp.get("/agency/import/template.xlsx")
@roles_required(*CLERK)
def import_template_xlsx():
    """The import file's columns, as an XLSX to fill in."""
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(template_xlsx(), xlsx, "trao-ho-so.xlsx")


# --- A dossier's story and its proof ----------------------------------------------------------


@bp.get("/agency/dossiers/<path:code>")
@roles_required(*CLERK)
def dossier_page(code: str):
    """One dossier: its envelopes, each with its events in words and its attempts' proof."""
    dossier, stories = dossier_story(current_user.agency_id, code)
    config = current_app.config
    links = tracking_urls(
        [story.envelope for story in stories],
        key=config["TRACKING_KEY"],
        public_url=config["PUBLIC_URL"],
        now=clock.now(),
    )
    db.session.commit()  # links made for envelopes that had none
    return render_template(
        "agency/dossier.html",
        dossier=dossier,
        stories=stories,
        tracking_urls=links,
        event_labels=EVENT_LABELS,
        outcome_labels=OUTCOME_LABELS,
        reason_labels={k.value: v for k, v in FAILURE_REASON_LABELS.items()},
        relation_labels={k.value: v for k, v in RELATION_LABELS.items()},
        id_check_labels={k.value: v for k, v in ID_CHECK_METHOD_LABELS.items()},
    )


def _proof_file(sha256: str):
    if not _SHA256.fullmatch(sha256):
        raise NotFound(_("No such proof file."), code="no_such_proof_file")
    return proof_file_for_agency(sha256, current_user.agency_id)


@bp.get("/agency/proof-files/<sha256>")
@roles_required(*CLERK)
def proof_file(sha256: str):
    """A proof file of one of the agency's dossiers, byte for byte as the phone made it."""
    return proof_file_response(_proof_file(sha256))


@bp.get("/agency/proof-files/<sha256>/display.jpg")
@roles_required(*CLERK)
def proof_display_copy(sha256: str):
    """A photo's display copy (made the first time anyone asks for it)."""
    return display_copy_response(_proof_file(sha256))
