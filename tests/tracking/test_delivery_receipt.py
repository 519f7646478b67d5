"""The delivery receipt: a one-page PDF for the citizen after the hand-over, with a verification
code that the office's console checks against its records."""

from __future__ import annotations

import re

import pytest
from flask import current_app

from backend.extensions import db
from backend.models import Role
from backend.tracking.services import normalise_receipt_code, receipt_code
from tests.conftest import login
from tests.tracking.conftest import make_story, verify


def delivered(story, client):
    story.receive()
    story.load()
    attempt_id = story.attempt("delivered")
    verify(client, story.token)
    return attempt_id


def test_after_delivery_the_citizen_downloads_a_one_page_pdf(client, story):
    attempt_id = delivered(story, client)
    html = client.get(f"/t/{story.token}").get_data(as_text=True)
    assert f"/t/{story.token}/receipt.pdf" in html
    response = client.get(f"/t/{story.token}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and response.data.count(b"/Type /Page\n") <= 1
    assert b"/Count 1" in response.data
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    code = receipt_code(current_app.config["RECEIPT_KEY"], attempt_id)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)


def test_no_receipt_before_the_hand_over_nor_without_the_digits(client, story):
    story.receive()
    assert client.get(f"/t/{story.token}/receipt.pdf").status_code == 403
    verify(client, story.token)
    assert client.get(f"/t/{story.token}/receipt.pdf").status_code == 404


def test_a_typed_code_is_read_whatever_its_case_and_separators():
    assert normalise_receipt_code(" abcd efgh-jklm ") == "ABCD-EFGH-JKLM"


@pytest.fixture
def supervisor_of(client, factory):
    def _login(office):
        user = factory.user(Role.supervisor, post_office=office)
        db.session.commit()
        login(client, user)
        return user

    return _login


def check(client, envelope_code, verification):
    return client.get(
        "/console/receipts",
        query_string={"code": envelope_code, "verification": verification, "lang": "en"},
    ).get_data(as_text=True)


def test_the_console_says_whether_a_receipt_matches_the_records(client, story, supervisor_of):
    attempt_id = delivered(story, client)
    code = receipt_code(current_app.config["RECEIPT_KEY"], attempt_id)
    supervisor_of(story.envelope.dossier.post_office)
    html = check(client, story.envelope.code, code.lower().replace("-", " "))
    assert "matches the records" in html and "Nguyễn Văn An" in html
    assert "does not match" in check(client, story.envelope.code, "AAAA-BBBB-CCCC")


def test_another_offices_envelope_is_not_found(client, story, supervisor_of, factory):
    attempt_id = delivered(story, client)
    code = receipt_code(current_app.config["RECEIPT_KEY"], attempt_id)
    supervisor_of(factory.office())
    html = check(client, story.envelope.code, code)
    assert "No envelope handed over" in html and "Nguyễn Văn An" not in html


def test_an_envelope_not_yet_handed_over_has_no_receipt(client, factory, supervisor_of):
    other = make_story(factory)
    other.receive()
    supervisor_of(other.envelope.dossier.post_office)
    assert "No envelope handed over" in check(client, other.envelope.code, "AAAA-BBBB-CCCC")
