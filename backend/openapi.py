"""The OpenAPI document of Trao's JSON API, made from the marshmallow schemas that validate and
dump it (apispec), served at /api/v1/openapi.json with a readable page at /api/v1/docs.

Each operation is described here, next to the schemas it names: the agencies' API (Bearer key)
and the postman's (session cookie). The views keep their own error contract (backend/errors.py);
the document says which statuses each can answer, all with `ErrorBody`.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, render_template

from backend import __version__
from backend.agency_api import schemas as agency
from backend.agency_api.intake import DossierIn
from backend.delivery.schemas import AttemptMetaSchema, AttemptReceiptSchema, RunOrderSchema

bp = Blueprint("api_docs", __name__)

OPENAPI_VERSION = "3.1.0"
_ERROR_TEXT = {
    400: "The request could not be understood (for a session: the CSRF token is missing).",
    401: "No valid credentials: a Bearer API key (agencies) or a log-in (postmen).",
    403: "Not allowed for this role.",
    404: "Not found, or not yours (another agency's dossier answers exactly like a missing one).",
    409: "Conflict; `error.code` says which.",
    410: "The link has expired.",
    413: "The request is too large.",
    422: "Invalid; `error.fields` holds the messages per field.",
    429: "Too many requests for this API key; wait for `Retry-After` seconds.",
}
AGENCY = [{"agencyKey": []}]
POSTMAN = [{"session": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    answers = {}
    for status in statuses:
        answer = _json(_ref("ErrorBody"), _ERROR_TEXT[status])
        if status == 401:
            answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 429:
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        answers[str(status)] = answer
    return answers


_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "The agency's own dossier code, as registered (a `/` in it is sent as is).",
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"},
}
_AGENCY_ERRORS = (401, 429)


def _operations() -> dict[str, dict[str, Any]]:
    """Every path and its operations."""
    return {
        "/api/v1/dossiers": {
            "post": {
                "tags": ["agency"],
                "summary": "Register one dossier, or a batch of them",
                "description": (
                    "Idempotent on the agency's own dossier code: the same dossier sent again "
                    "answers 200 with what is kept; the same code with other content is a 409 "
                    "(`dossier_code_taken`, the fields that differ). A batch "
                    '(`{"dossiers": [...]}`) answers 200 with each item\'s result.'
                ),
                "security": AGENCY,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"oneOf": [_ref("DossierIn"), _ref("DossierBatchIn")]}
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        _ref("DossierDetail"),
                        "Registered now: the receipt, with each envelope's tracking link.",
                    ),
                    "200": _json(
                        {"oneOf": [_ref("DossierDetail"), _ref("BatchResult")]},
                        "Registered before (one dossier), or each item's result (a batch).",
                    ),
                    **_errors(409, 413, 422, *_AGENCY_ERRORS),
                },
            },
            "get": {
                "tags": ["agency"],
                "summary": "The agency's dossiers, newest first, a page at a time",
                "security": AGENCY,
                "parameters": [{"in": "query", "schema": agency.DossierQuery}],
                "responses": {
                    "200": _json(_ref("DossierPage"), "A page of dossiers."),
                    **_errors(422, *_AGENCY_ERRORS),
                },
            },
        },
        "/api/v1/dossiers/{code}": {
            "get": {
                "tags": ["agency"],
                "summary": "A dossier's envelopes, their states, and its history",
                "security": AGENCY,
                "parameters": [_CODE],
                "responses": {
                    "200": _json(_ref("DossierDetail"), "The dossier."),
                    **_errors(404, *_AGENCY_ERRORS),
                },
            },
        },
        "/api/v1/dossiers/{code}/proof": {
            "get": {
                "tags": ["agency"],
                "summary": "The proof bundle: attempt records, file hashes, expiring file links",
                "security": AGENCY,
                "parameters": [_CODE],
                "responses": {
                    "200": _json(_ref("ProofBundle"), "The proof."),
                    **_errors(404, *_AGENCY_ERRORS),
                },
            },
        },
        "/api/v1/dossiers/{code}/cancel": {
            "post": {
                "tags": ["agency"],
                "summary": "Cancel a dossier before the post office receives it",
                "description": "Only while every envelope is `registered`; otherwise 409 "
                "(`dossier_not_cancellable`). Cancelling a cancelled dossier changes nothing.",
                "security": AGENCY,
                "parameters": [_CODE],
                "responses": {
                    "200": _json(_ref("DossierDetail"), "Cancelled."),
                    **_errors(404, 409, *_AGENCY_ERRORS),
                },
            },
        },
        "/api/v1/proof-files/{token}": {
            "get": {
                "tags": ["agency"],
                "summary": "A proof file (signature PNG, photo JPEG), by an expiring link",
                "description": "The link from the proof bundle is the permission; no key.",
                "security": [],
                "parameters": [
                    {
                        "name": "token",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The file as the phone made it.",
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_errors(404, 410),
                },
            },
        },
        "/api/v1/session": {
            "get": {
                "tags": ["postman"],
                "summary": "Who is logged in, a fresh CSRF token, the server's clock",
                "security": POSTMAN,
                "responses": {
                    "200": _json(_ref("Session"), "The session."),
                    **_errors(401),
                },
            },
        },
        "/api/v1/runs/today": {
            "get": {
                "tags": ["postman"],
                "summary": "The postman's open runs of today, with all a run needs offline",
                "description": "Shapes in docs/api-delivery.md. Sent with an ETag; "
                "`If-None-Match` holding it answers 304.",
                "security": POSTMAN,
                "responses": {
                    "200": _json(_ref("RunsToday"), "Today's runs."),
                    "304": {"description": "Unchanged since the ETag sent."},
                    **_errors(401, 403),
                },
            },
        },
        "/api/v1/runs/{run_id}/order": {
            "post": {
                "tags": ["postman"],
                "summary": "The postman's own order of the run's doors",
                "security": POSTMAN,
                "parameters": [
                    {
                        "name": "run_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RunOrder")}},
                },
                "responses": {
                    "200": _json(_ref("RunOrderResult"), "The doors in their new order."),
                    **_errors(400, 401, 403, 404, 409, 413, 422),
                },
            },
        },
        "/api/v1/attempts": {
            "post": {
                "tags": ["postman"],
                "summary": "One delivery attempt: its record and its files",
                "description": "201 on first receipt, 200 with the same body on a replay of the "
                "same `attempt_id`; the same id with other content is a 409.",
                "security": POSTMAN,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["meta"],
                                "properties": {
                                    "meta": _ref("AttemptMeta"),
                                    "signature": {"type": "string", "format": "binary"},
                                    "photo": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    },
                                    "authorization": {"type": "string", "format": "binary"},
                                },
                            },
                            "encoding": {"meta": {"contentType": "application/json"}},
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("AttemptReceipt"), "Recorded now."),
                    "200": _json(_ref("AttemptReceipt"), "Recorded before (a replay)."),
                    **_errors(400, 401, 403, 404, 409, 413, 422),
                },
            },
        },
    }


_SESSION = {
    "type": "object",
    "required": ["user", "csrf_token", "server_time", "app_version"],
    "properties": {
        "user": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "username": {"type": "string"},
                "full_name": {"type": "string"},
                "role": {"type": "string"},
            },
        },
        "csrf_token": {"type": "string"},
        "server_time": {"type": "string", "format": "date-time"},
        "app_version": {"type": "string"},
    },
}
_RUNS_TODAY = {
    "type": "object",
    "required": ["date", "server_time", "settings", "reasons", "relations", "runs"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "server_time": {"type": "string", "format": "date-time"},
        "settings": {"type": "object"},
        "reasons": {"type": "array", "items": {"type": "object"}},
        "relations": {"type": "array", "items": {"type": "object"}},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "state": {"type": "string"},
                    "date": {"type": "string", "format": "date"},
                    "doors": {"type": "array", "items": {"type": "array"}},
                    "stops": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}
_RUN_ORDER_RESULT = {
    "type": "object",
    "properties": {
        "run_id": {"type": "integer"},
        "state": {"type": "string"},
        "doors": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
    },
}


def build_spec() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    spec = APISpec(
        title="Trao API",
        version=__version__,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Agencies register dossiers and follow them (Bearer API key; "
            "docs/api-agency.md); the postman's app receives runs and sends attempts (session "
            "cookie and X-CSRFToken; docs/api-delivery.md). Errors: "
            '`{"error": {"code", "message", "fields"}}`.'
        },
    )
    spec.components.security_scheme("agencyKey", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    for name, schema in (
        ("ErrorBody", agency.ErrorBody),
        ("DossierIn", DossierIn),
        ("DossierBatchIn", agency.DossierBatchIn),
        ("Envelope", agency.EnvelopeOut),
        ("Dossier", agency.DossierOut),
        ("DossierPage", agency.DossierPage),
        ("HistoryEvent", agency.HistoryEvent),
        ("DossierDetail", agency.DossierDetail),
        ("BatchItemResult", agency.BatchItemResult),
        ("BatchResult", agency.BatchResult),
        ("ProofFile", agency.ProofFileOut),
        ("ProofAttempt", agency.ProofAttempt),
        ("ProofBundle", agency.ProofBundle),
        ("AttemptMeta", AttemptMetaSchema),
        ("AttemptReceipt", AttemptReceiptSchema),
        ("RunOrder", RunOrderSchema),
    ):
        spec.components.schema(name, schema=schema)
    spec.components.schema("Session", _SESSION)
    spec.components.schema("RunsToday", _RUNS_TODAY)
    spec.components.schema("RunOrderResult", _RUN_ORDER_RESULT)
    for path, operations in _operations().items():
        spec.path(path=path, operations=operations)
    return _portable_patterns(spec.to_dict())


_PYTHON_END = re.compile(r"\\Z$")


def _portable_patterns(value: Any) -> Any:
    """Patterns as JSON Schema reads them (ECMA 262): marshmallow's Regexp matches from the
    start (anchored here with ^) and Python's end anchor \\Z is $."""
    if isinstance(value, dict):
        out = {key: _portable_patterns(item) for key, item in value.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str):
            pattern = _PYTHON_END.sub("$", pattern)
            out["pattern"] = pattern if pattern.startswith("^") else "^" + pattern
        return out
    if isinstance(value, list):
        return [_portable_patterns(item) for item in value]
    return value


@bp.get("/api/v1/openapi.json")
def openapi_document():
    """The OpenAPI document (made once per process)."""
    extension = current_app.extensions
    if "trao_openapi" not in extension:
        extension["trao_openapi"] = build_spec()
    response = jsonify(extension["trao_openapi"])
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/api/v1/docs")
def docs_page():
    """The document, readable (Swagger UI, served from the app: no inline script or style)."""
    response = current_app.make_response(render_template("api_docs.html"))
    response.headers["Cache-Control"] = "public, max-age=300"
    # Swagger UI draws its icons from data: URIs; this page alone allows them as images.
    policy = current_app.config["TRAO_CSP"].replace("img-src 'self'", "img-src 'self' data:", 1)
    response.headers["Content-Security-Policy"] = policy
    return response
