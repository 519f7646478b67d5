"""A supervisor watches a run while a postman, in another browser, records an attempt: the change
appears on the supervisor's page without a reload; then the supervisor opens the exception it
raised, sees its proof, and resolves it with a note."""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend import clock
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import DeliveryRun, User
from tests.e2e.conftest import login_as, serve_demo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The demo served with a short poll, so the test sees the page update within seconds."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-live') / 'trao.db'}"
    )
    with serve_demo(url, TRAO_LIVE_POLL_SECONDS=3) as live:
        yield live


def _open_stop(live_server, username: str) -> dict:
    """The postman's run and its first stop still out for delivery."""
    with live_server.app.app_context():
        postman = db.session.scalars(select(User).where(User.username == username)).one()
        run = db.session.scalars(
            select(DeliveryRun).where(
                DeliveryRun.postman_id == postman.id,
                DeliveryRun.run_date == clock.today_in("Asia/Ho_Chi_Minh"),
            )
        ).first()
        stop = next(s for s in run.stops if s.envelope.state is State.out_for_delivery)
        found = {
            "run_id": run.id,
            "stop_id": stop.id,
            "code": stop.envelope.code,
            "attempt_number": stop.envelope.attempts_made + 1,
            "failed": sum(
                s.envelope.state in (State.attempt_failed, State.held_at_office) for s in run.stops
            ),
        }
        db.session.remove()
    return found


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 200)).save(out, format="JPEG", quality=85)
    return out.getvalue()


def test_a_supervisor_watches_a_run_then_resolves_its_exception(
    page: Page, live_server, open_context
):
    stop = _open_stop(live_server, "buuta1")
    login_as(page, "giamsat")
    page.get_by_test_id("nav-live").click()
    row = page.locator(f'tr[data-run="{stop["run_id"]}"]')
    expect(row.locator('[data-field="failed"]')).to_have_text(str(stop["failed"]))
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")

    # The postman, on another browser: a failed attempt (nobody home), with a photo, synced
    # through the app's own API as the phone's outbox sends it.
    phone = open_context()
    try:
        postman = phone.new_page()
        login_as(postman, "buuta1")
        session = postman.request.get("/api/v1/session").json()
        photo = _photo()
        now = clock.now().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        meta = {
            "attempt_id": str(uuid.uuid4()),
            "stop_id": stop["stop_id"],
            "envelope_code": stop["code"],
            "attempt_number": stop["attempt_number"],
            "outcome": "failed",
            "reason_code": "not_home",
            "note": "",
            "scan": {
                "method": "qr",
                "payload": sign_envelope_qr(stop["code"], live_server.app.config["QR_SIGNING_KEY"]),
            },
            "recipient": None,
            # Far from any address of the demo: flagged as well.
            "position": {"lat": 21.95, "lon": 106.90, "accuracy_m": 15.0},
            "device_time": (now - timedelta(seconds=30)).isoformat(),
            "fees_collected_vnd": 0,
            "signature_strokes": None,
            "files": [{"field": "photo", "sha256": hashlib.sha256(photo).hexdigest()}],
        }
        response = postman.request.post(
            "/api/v1/attempts",
            multipart={
                "meta": json.dumps(meta),
                "photo": {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo},
            },
            headers={"X-CSRFToken": session["csrf_token"]},
        )
        assert response.status == 201, response.text()
    finally:
        phone.close()

    # The supervisor's page changes by itself.
    expect(row.locator('[data-field="failed"]')).to_have_text(
        str(stop["failed"] + 1), timeout=15000
    )
    # (The demo seed stamps its attempts a minute after they were made, so the seed's last one
    # may still be the last received; the server tests check last sync and position exactly.)
    expect(row.locator('[data-field="last_sync"]')).not_to_be_empty()
    # The server stops answering: the page says so plainly, with the time of its last update.
    page.route("**/console/live.json", lambda route: route.abort())
    status = page.get_by_test_id("live-status")
    expect(status).to_have_attribute("data-state", "stale", timeout=10000)
    expect(status).to_contain_text("Cập nhật lần cuối lúc")
    expect(status).to_contain_text("mất kết nối")
    page.unroute("**/console/live.json")

    # The exception: open it, see its proof, resolve it with a note.
    page.goto("/console/exceptions")
    item = page.locator(f'[data-testid="exception"]:has(code:text-is("{stop["code"]}"))').first
    item.get_by_test_id("exception-open").click()
    expect(page.get_by_test_id("envelope-exceptions")).to_be_visible()
    proof = page.get_by_test_id("attempt").last
    expect(proof.locator("img")).to_have_count(1)
    expect(proof.get_by_test_id("attempt-position")).to_contain_text("21.95000")
    expect(proof.get_by_test_id("proof-map").locator(".leaflet-interactive")).not_to_have_count(0)
    note = "Đã gọi điện, hẹn giao lại chiều mai."
    form = page.get_by_test_id("envelope-exceptions").get_by_test_id("resolve-form").first
    form.get_by_test_id("resolve-note").fill(note)
    form.get_by_test_id("resolve-submit").click()
    expect(page.get_by_test_id("resolution-note")).to_have_text(note)
    expect(page.get_by_test_id("envelope-exceptions")).to_have_count(0)
    assert not live_server.errors
