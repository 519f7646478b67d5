"""In Chromium: the supervisor finds a parked webhook from the console's navigation, sees how
many messages wait behind it, and re-sends it."""

from __future__ import annotations

import os
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.agency_api.services import register_dossier
from backend.extensions import db
from backend.models import Agency, OutboxMessage
from tests.e2e.conftest import login_as, serve_demo

pytestmark = [pytest.mark.e2e]


def seed_parked(config, office, now):
    """The office's first agency: a webhook that answered 503 to every try of one dossier."""
    agency = (
        db.session.execute(
            select(Agency).where(Agency.post_office_id == office.id).order_by(Agency.id)
        )
        .scalars()
        .first()
    )
    agency.webhook_url = "http://127.0.0.1:9/hooks"
    agency.webhook_secret_salt = "0123456789abcdef"
    register_dossier(
        agency,
        {
            "code": "WEBHOOK-1",
            "procedure_code": "1.001751",
            "procedure_name": "Cấp thẻ Căn cước",
            "result_type": "citizen_id_card",
            "applicant_name": "Nguyễn Văn An",
            "recipient_name": "Nguyễn Văn An",
            "recipient_phone": "0912345678",
            "address_line": "Số 5, đường Lê Lợi",
            "commune_code": 5977,
            "commune_name": "Phường Đông Kinh",
            "province_code": 20,
            "province_name": "Lạng Sơn",
            "postage_vnd": 26_000,
            "promised_date": date(2026, 11, 24),
        },
        envelope_count=2,
        now=now,
        id_key=config.ID_HASH_KEY,
        code_prefix="HC",
        recipient_id_number="020090123456",
    )
    db.session.flush()
    head = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().first()
    head.status, head.tries, head.last_error = "parked", 12, "http_503"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-outbox') / 'trao.db'}"
    )
    with serve_demo(url, seed=seed_parked) as live:
        yield live


def test_a_supervisor_re_sends_a_parked_webhook(page: Page, live_server):
    with live_server.app.app_context():
        head = db.session.execute(select(OutboxMessage).order_by("id")).scalars().first()
        waiting = db.session.query(OutboxMessage).count() - 1
    login_as(page, "giamsat")
    page.get_by_test_id("nav-outbox").click()
    row = page.get_by_test_id(f"outbox-message-{head.id}")
    expect(row).to_contain_text("http_503")
    expect(page.get_by_test_id(f"waiting-{head.id}")).to_have_text(str(waiting))
    page.get_by_test_id(f"resend-{head.id}").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.get_by_test_id("outbox-empty")).to_be_visible()
    with live_server.app.app_context():
        message = db.session.get(OutboxMessage, head.id)
        assert (message.status, message.tries) == ("pending", 0)
    assert live_server.errors == []
