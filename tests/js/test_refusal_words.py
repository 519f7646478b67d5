"""Every error code the server can answer for an attempt has words in the app, in vi and en.

The codes are read from the server itself (the delivery feature's `code="…"`, the error classes,
the proof's gaps, the HTTP errors met before the view), so a new code without words fails here.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from werkzeug.exceptions import BadRequest, Forbidden, NotFound, RequestEntityTooLarge

from backend import errors
from backend.domain import errors as domain_errors
from backend.domain.proof import ProofGap

ROOT = Path(__file__).resolve().parents[2]
# What the outbox sends again by itself: never shown as a refusal (js/outbox.js RETRY_CODES, 5xx).
RETRIED = {"envelope_busy", "csrf_failed", "server_error"}


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def attempt_error_codes() -> set[str]:
    """The codes POST /api/v1/attempts can answer with a refusal."""
    codes = set()
    for path in (ROOT / "backend" / "delivery").glob("*.py"):
        codes |= set(re.findall(r'code="([a-z0-9_]+)"', path.read_text(encoding="utf-8")))
    # The shared error classes, and those of the delivery feature (other features' own, such as
    # the agency API's, never answer an attempt).
    shared = {errors.AppError, *_subclasses(errors.AppError)}
    codes |= {
        cls.code
        for cls in shared
        if cls.__module__ == errors.__name__ or cls.__module__.startswith("backend.delivery")
    }
    codes |= {cls.code for cls in _subclasses(domain_errors.DomainError)}
    codes |= {gap.value for gap in ProofGap}
    # backend/errors.py names an HTTP error after werkzeug's name: "Request Entity Too Large" …
    http = (BadRequest, Forbidden, NotFound, RequestEntityTooLarge)
    codes |= {exc().name.lower().replace(" ", "_") for exc in http}
    return codes - RETRIED


def app_messages() -> dict[str, list[str]]:
    script = (
        "import { MESSAGES } from './pwa/static/js/i18n.js';"
        "console.log(JSON.stringify(Object.fromEntries("
        "Object.entries(MESSAGES).map(([lang, m]) => [lang, Object.keys(m)]))));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_every_attempt_error_code_has_words_in_vietnamese_and_english():
    codes = attempt_error_codes()
    assert {
        "transition_not_allowed",
        "invalid",
        "fees_mismatch",
        "request_entity_too_large",
    } <= codes
    messages = app_messages()
    for lang in ("vi", "en"):
        missing = sorted(code for code in codes if f"err_{code}" not in messages[lang])
        assert not missing, f"no {lang} words for: {missing}"
