"""Serving a proof's files to the people allowed to see them (staff, the agency's clerks, an
agency's system through an expiring link): images, never pages, kept by no cache."""

from __future__ import annotations

from flask import Response, current_app

from backend.console.services import display_copy_of, stored_bytes
from backend.delivery.proof_files import ProofSettings
from backend.extensions import db
from backend.models import ProofFile
from backend.storage import get_storage


def image_response(data: bytes, content_type: str, name: str) -> Response:
    """An image inline with its stored type, never sniffed into a page, kept by no cache (a proof
    names a person and shows their door; a shared or lost computer must not keep it)."""
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def proof_file_response(row: ProofFile, name: str | None = None) -> Response:
    """The file byte for byte as the phone made it (the evidence)."""
    ext = "png" if row.content_type == "image/png" else "jpg"
    return image_response(
        stored_bytes(get_storage(), row.sha256), row.content_type, f"{name or row.sha256}.{ext}"
    )


def display_copy_response(row: ProofFile) -> Response:
    """A photo's display copy: made and kept the first time anyone asks for it, then served.
    Commits what it made (the request's only write)."""
    storage = get_storage()
    staging = storage.stage()
    try:
        digest = display_copy_of(
            row,
            storage=storage,
            staging=staging,
            settings=ProofSettings.from_config(current_app.config),
        )
        staging.seal()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        staging.discard()
        raise
    staging.publish()
    return image_response(stored_bytes(storage, digest), "image/jpeg", f"{row.sha256}-display.jpg")
