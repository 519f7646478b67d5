"""The OpenAPI document: valid, made from the schemas that validate, describing the agencies' and
the postman's endpoints; and the API fuzzed from it (schemathesis), bounded in time: no 5xx, and
every answer within what the document promises."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.extensions import db
from backend.openapi import build_spec
from tests.agency.test_api import GOOD
from tests.conftest import NOW, Factory, login, running_app
from tests.delivery.helpers import delivered_meta, jpeg, make_run, png, post_attempt

KEY = "trao_schemathesis-key-0123456789abcdefghijklmnop"
# Per operation: the whole fuzz (every operation) stays well under a minute.
MAX_EXAMPLES = 25
# The WSGI transport does not decompress: ask for answers as they are.
HEADERS = {"Authorization": f"Bearer {KEY}", "Accept-Encoding": "identity"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_document_is_valid_and_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    paths = document["paths"]
    assert {
        "/api/v1/dossiers",
        "/api/v1/dossiers/{code}",
        "/api/v1/dossiers/{code}/proof",
        "/api/v1/dossiers/{code}/cancel",
        "/api/v1/proof-files/{token}",
        # The postman's.
        "/api/v1/session",
        "/api/v1/runs/today",
        "/api/v1/runs/{run_id}/order",
        "/api/v1/attempts",
    } <= set(paths)
    assert set(paths["/api/v1/dossiers"]) == {"get", "post"}
    for operations in paths.values():
        for operation in operations.values():
            assert "200" in operation["responses"] or "201" in operation["responses"]


def test_the_dossier_schema_is_the_one_that_validates():
    """A field added to DossierIn shows in the document without anyone writing it twice."""
    from backend.agency_api.intake import DossierIn

    schema = build_spec()["components"]["schemas"]["DossierIn"]
    assert set(schema["properties"]) == set(DossierIn().fields)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["envelopes"]["maximum"] == 20


def test_the_docs_page_loads_swagger_ui_from_the_app(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "<script>" not in page.text and "style=" not in page.text
    assert client.get("/static/api-docs/init.js").status_code == 200
    # Swagger UI's icons are data: images; nothing else is loosened, on this page alone.
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' blob: data:" in policy or "img-src 'self' data: blob:" in policy
    assert "script-src 'self' 'wasm-unsafe-eval';" in policy and "unsafe-inline" not in policy
    assert "data:" not in client.get("/login").headers["Content-Security-Policy"]


OPERATIONS = [
    (path, method) for path, operations in build_spec()["paths"].items() for method in operations
]


@pytest.fixture(scope="module")
def fuzzed_app():
    """One app for every operation, with an agency, its key and a dossier delivered with proof
    (the fuzz also asks for it by name, so the answers with data are checked too)."""
    with pytest.MonkeyPatch.context() as patch, running_app() as app:
        patch.setattr("backend.clock.now", lambda: NOW)
        factory = Factory()
        agency = factory.agency()
        agency.set_api_key(KEY)
        postman, run = make_run(factory, agency=agency, post_office=agency.post_office)
        phone = app.test_client()
        login(phone, postman)
        files = [("signature", png()), ("photo", jpeg())]
        assert post_attempt(phone, delivered_meta(run.stops[0], files), files).status_code == 201
        db.session.commit()
        code = run.stops[0].envelope.dossier.code
        proof = app.test_client().get(f"/api/v1/dossiers/{code}/proof", headers=HEADERS)
        token = proof.get_json()["attempts"][0]["files"][0]["url"].rsplit("/", 1)[1]
        app.config["FUZZ_KNOWN"] = {"code": code, "token": token}
        yield app


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_api_keeps_its_document(fuzzed_app, path, method):
    """Every operation, with a real agency key: no 5xx, every answer as documented."""
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )
    known = {
        name: value
        for name, value in fuzzed_app.config["FUZZ_KNOWN"].items()
        if f"{{{name}}}" in path
    }
    if known:  # a dossier and a file that exist, beside the codes the fuzz makes up
        cases = cases | operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
    if path == "/api/v1/dossiers" and method == "post":
        cases = cases | st.sampled_from(
            [GOOD, {"dossiers": [GOOD, {**GOOD, "code": "X-2"}]}]
        ).flatmap(lambda body: operation.as_strategy(GenerationMode.POSITIVE, body=body))

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case):
        seen.add(case.call_and_validate(headers=HEADERS, checks=CHECKS).status_code)

    seen: set[int] = set()
    fuzz()
    if known:  # the fuzz reached the existing dossier or file, not only missing ones
        assert seen - {404}, seen
