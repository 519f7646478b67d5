"""The receipt check: staff type a citizen's envelope code and verification code and see
whether they match the records (a GET form: nothing changes)."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from backend.auth.access import roles_required
from backend.console import bp
from backend.console.receipts import MAX_CODE_CHARS, check_receipt
from backend.console.services import office_scope
from backend.models import Role

STAFF = (Role.supervisor, Role.admin)


@bp.get("/receipts")
@roles_required(*STAFF)
def receipt_check():
    """The form, and the answer once both codes were typed."""
    envelope_code = request.args.get("code", "")[:MAX_CODE_CHARS]
    verification = request.args.get("verification", "")[:MAX_CODE_CHARS]
    result = None
    if envelope_code.strip() and verification.strip():
        result = check_receipt(
            envelope_code,
            verification,
            office_id=office_scope(current_user),
            key=current_app.config["RECEIPT_KEY"],
        )
    return render_template(
        "console/receipt_check.html",
        envelope_code=envelope_code,
        verification=verification,
        result=result,
    )
