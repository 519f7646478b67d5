"""Several envelopes at one door (issue 11), on the postman's phone: one hand-over screen, each
envelope identified by its own scan, one identity check applied to each, one signature, the
photos taken once, the fees shown once per dossier; then an attempt per envelope, each with its
own outcome, synced on its own, all pointing at the same stored files.

1. A two-envelope stop with one delivered and one failed: the holder's chip ID card (for the
   holder only) and a judicial record, taken by her son with an authorisation: the card fails
   as "not the recipient", shown before signing, the record is delivered.
2. A dossier's two envelopes at one door, the holder at home: both delivered, the fees shown
   and collected once. What the phone's storage holds for the two attempts is measured.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend import clock
from backend.agency_api.services import register_dossier
from backend.console.planning import assign_envelopes
from backend.console.services import receive_envelopes
from backend.demo.seed import OFFICE, demo_person
from backend.domain.envelope_qr import sign_envelope_qr
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, Envelope, PostOffice, User
from backend.storage import get_storage
from tests.e2e.conftest import (
    PHONE,
    add_demo_postman,
    login_as,
    register_id_card,
    save_screenshot,
    serve_demo,
    wait_for_js,
)
from tests.e2e.test_pwa_flow import (
    CAMERA_ARGS,
    POSITION,
    card_qr,
    scan,
    sign,
    synced,
    take_photo,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True),
    pytest.mark.browser_context_args(**PHONE, geolocation=POSITION, permissions=["geolocation"]),
]

POSTMAN = "buucua"
FEES = {"postage_vnd": 26_000, "agency_fee_vnd": 8_000}  # 34.000 ₫ a dossier
# The son's own chip ID card: a man born in 1990 (the number agrees with the birth date).
SON = "001090129999||TRẦN VĂN BÌNH|01011990|Nam|Lạng Sơn|15042021"


def register(config, agency, code, person, *, day, registered_at, result_type, envelopes=1):
    """A dossier of `result_type` for `person` at home, with fees, and its envelopes."""
    return register_dossier(
        agency,
        {
            "code": code,
            "procedure_code": "2.000488",
            "procedure_name": "Cấp Phiếu lý lịch tư pháp"
            if result_type == "judicial_record"
            else "Cấp Giấy chứng nhận quyền sử dụng đất",
            "result_type": result_type,
            **person.recipient_fields(),
            **FEES,
            "promised_date": day + timedelta(days=1),
        },
        envelope_count=envelopes,
        now=registered_at,
        id_key=config.ID_HASH_KEY,
        code_prefix=config.ENVELOPE_CODE_PREFIX,
        recipient_id_number=person.id_number,
    )


def seed_doors(app) -> dict[str, list[str]]:
    """A postman's run of today with two doors: a chip ID card and a judicial record for one
    person; a land certificate's dossier in two envelopes for another. Their envelope codes."""
    config = app.config["TRAO_CONFIG"]
    with app.app_context():
        now = clock.now()
        office = db.session.execute(select(PostOffice).filter_by(code=OFFICE["code"])).scalar_one()
        supervisor = db.session.execute(select(User).filter_by(username="giamsat")).scalar_one()
        agency = db.session.execute(select(Agency).filter_by(code="CA-LS")).scalar_one()
        postman = add_demo_postman(config, office, POSTMAN, "Hà Văn Cửa", now)
        day = clock.local_date(now, office.timezone)
        at = {"day": day, "registered_at": now - timedelta(hours=20)}
        mother = demo_person("CUA-0001")
        card, _ = register_id_card(config, agency, "CUA-0001", person=mother, **at)
        record = register(config, agency, "CUA-0002", mother, result_type="judicial_record", **at)
        land = register(
            config,
            agency,
            "CUA-0003",
            demo_person("CUA-0003"),
            result_type="land_certificate",
            envelopes=2,
            **at,
        )
        envelopes = [*card.envelopes, *record.envelopes, *land.envelopes]
        receive_envelopes(envelopes, actor=supervisor, now=now - timedelta(hours=18))
        assign_envelopes(
            office, postman, day, envelopes, actor=supervisor, now=now - timedelta(hours=1)
        )
        db.session.commit()
        codes = {
            "card": [card.envelopes[0].code],
            "record": [record.envelopes[0].code],
            "land": [e.code for e in land.envelopes],
        }
        db.session.remove()
    return codes


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-door-handover') / 'trao.db'}"
    )
    with serve_demo(url) as live:
        live.codes = seed_doors(live.app)
        yield live


def open_run(page: Page) -> dict[str, dict]:
    """Log in as the postman, wait for the worker and the run; the stops by envelope code."""
    login_as(page, POSTMAN)
    wait_for_js(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("[data-testid=stops] > li[data-door]").first).to_be_visible()
    data = page.evaluate("fetch('/api/v1/runs/today').then(r => r.json())")
    return {s["envelope_code"]: s for r in data["runs"] for s in r["stops"]}


def stand_at(context: BrowserContext, stop: dict) -> None:
    loc = stop["location"]
    context.set_geolocation({"latitude": loc["lat"], "longitude": loc["lon"], "accuracy": 10})


def type_code(page: Page, code: str) -> None:
    page.get_by_test_id("code-input").fill(code)
    page.get_by_test_id("code-submit").click()
    expect(page.get_by_test_id("envelope-identified")).to_be_visible()


def server_attempts(live_server, codes: list[str]) -> dict[str, DeliveryAttempt]:
    with live_server.app.app_context():
        rows = db.session.execute(
            select(DeliveryAttempt)
            .join(Envelope, DeliveryAttempt.envelope_id == Envelope.id)
            .where(Envelope.code.in_(codes))
            .options(selectinload(DeliveryAttempt.files), selectinload(DeliveryAttempt.envelope))
        ).scalars()
        attempts = {a.envelope.code: a for a in rows}
        db.session.expunge_all()
        return attempts


def stored_copies(live_server, sha256: str) -> int:
    """How many files the proof store holds for this hash (staging aside)."""
    with live_server.app.app_context():
        root = get_storage().root
        return sum(1 for p in root.rglob(sha256) if p.is_file() and p.parent.parent.parent == root)


def storage_used(page: Page) -> int:
    return page.evaluate("navigator.storage.estimate().then(e => e.usage)")


def test_a_two_envelope_stop_with_one_delivered_and_one_failed(
    page: Page, context: BrowserContext, live_server
):
    stops = open_run(page)
    card = stops[live_server.codes["card"][0]]
    record = stops[live_server.codes["record"][0]]
    assert card["door"] == record["door"] and not card["representative_allowed"]
    assert record["representative_allowed"] and record["fees_due_vnd"] == 34_000
    key = live_server.app.config["QR_SIGNING_KEY"]
    stand_at(context, card)

    # The card's code typed on the run: its stop says the door has another envelope.
    type_code(page, card["envelope_code"])
    expect(page.get_by_test_id("door-others")).to_contain_text("còn 1 bưu gửi khác")
    page.get_by_test_id("deliver").click()
    expect(page.get_by_test_id("screen-deliver")).to_be_visible()
    door = page.get_by_test_id("door-envelopes")
    expect(door).to_contain_text("2 bưu gửi tại cửa này")
    card_row = door.get_by_test_id(f"door-envelope-{card['envelope_code']}")
    record_row = door.get_by_test_id(f"door-envelope-{record['envelope_code']}")
    expect(card_row).to_have_attribute("data-identified", "yes")
    expect(record_row).to_have_attribute("data-identified", "no")

    # The other envelope's own label scanned: the proof it is the one handed over.
    scan(page, "door-scan", sign_envelope_qr(record["envelope_code"], key))
    expect(record_row).to_have_attribute("data-identified", "yes")
    expect(page.get_by_test_id("door-message")).to_contain_text("Đã quét")
    expect(page.get_by_test_id("door-scan")).to_have_count(0)  # nothing left to identify

    # Her son, with her authorisation: his own chip card read, the paper photographed.
    page.get_by_test_id("relation-representative").check()
    expect(card_row).to_have_attribute("data-outcome", "failed")
    expect(card_row.get_by_test_id("door-verdict")).to_contain_text("chỉ trao tận tay chính chủ")
    scan(page, "id-scan", SON)
    expect(page.get_by_test_id("id-name")).to_have_value("TRẦN VĂN BÌNH")
    page.get_by_test_id("rep-relation").fill("Con trai")
    take_photo(page, "auth-photo-take")
    expect(record_row).to_have_attribute("data-outcome", "delivered")
    expect(card_row).to_have_attribute("data-outcome", "failed")
    expect(card_row.get_by_test_id("door-verdict")).to_contain_text("Không phát được")

    # One signature, photos once, the record's fees once (the card is not handed over).
    sign(page)
    take_photo(page)
    expect(page.get_by_test_id("fees-due")).to_have_text("34.000 ₫")
    expect(page.get_by_test_id("position")).to_have_attribute("data-state", "ok")
    confirm = page.get_by_test_id("confirm-delivery")
    expect(confirm).to_have_text("✔ Xác nhận: phát 1, không phát được 1")
    expect(confirm).to_be_enabled()
    door.evaluate("el => el.scrollIntoView({block: 'start'})")
    save_screenshot(page, "pwa-door-handover")
    confirm.click()

    # Each envelope its own attempt, synced on its own.
    expect(page.get_by_test_id("screen-run")).to_be_visible()
    synced(page, record, "delivered")
    synced(page, card, "failed")
    attempts = server_attempts(live_server, [card["envelope_code"], record["envelope_code"]])
    given, failed = attempts[record["envelope_code"]], attempts[card["envelope_code"]]
    assert (given.outcome, given.relation, given.fees_collected_vnd) == (
        "delivered",
        "representative",
        34_000,
    )
    assert (failed.outcome, failed.reason_code, failed.fees_collected_vnd) == (
        "failed",
        "not_the_recipient",
        0,
    )
    assert failed.note == given.note and given.note.endswith(": Con trai")
    kinds = lambda a: sorted((f.kind, f.sha256) for f in a.files)  # noqa: E731
    assert [k for k, _ in kinds(given)] == ["authorization", "photo", "signature"]
    assert [k for k, _ in kinds(failed)] == ["authorization", "photo"]  # no signature for it
    assert set(kinds(failed)) < set(kinds(given))  # the same photos, the same files
    for _kind, sha in kinds(given):
        assert stored_copies(live_server, sha) == 1
    assert not live_server.errors


def test_a_dossiers_two_envelopes_at_one_door_pay_once(
    page: Page, context: BrowserContext, live_server
):
    stops = open_run(page)
    first, second = (stops[c] for c in live_server.codes["land"])
    assert first["dossier_code"] == second["dossier_code"] and first["door"] == second["door"]
    stand_at(context, first)
    type_code(page, second["envelope_code"])
    page.get_by_test_id("deliver").click()
    door = page.get_by_test_id("door-envelopes")
    page.get_by_test_id("door-code-input").fill(first["envelope_code"])
    page.get_by_test_id("door-code-submit").click()
    row = door.get_by_test_id(f"door-envelope-{first['envelope_code']}")
    expect(row).to_have_attribute("data-identified", "yes")
    expect(row).to_contain_text("Đã nhập mã")

    # The holder herself, her chip card: both envelopes for her; the dossier's fees once.
    scan(page, "id-scan", card_qr(first))
    expect(page.get_by_test_id("id-result")).to_have_attribute("data-match", "match")
    for stop in (first, second):
        expect(door.get_by_test_id(f"door-envelope-{stop['envelope_code']}")).to_have_attribute(
            "data-outcome", "delivered"
        )
    expect(page.get_by_test_id("fees-due")).to_have_text("34.000 ₫")
    sign(page)
    take_photo(page)
    confirm = page.get_by_test_id("confirm-delivery")
    expect(confirm).to_have_text("✔ Xác nhận: phát 2, không phát được 0")

    # Saved with no signal, so the two attempts wait on the phone: what do they take there?
    context.set_offline(True)
    before = storage_used(page)
    confirm.click()
    expect(page.get_by_test_id("screen-run")).to_be_visible()
    expect(page.get_by_test_id("pending-count")).to_contain_text("2", timeout=10000)
    after = storage_used(page)
    files = page.evaluate(
        """() => new Promise((resolve) => {
          const q = indexedDB.open('trao');
          q.onsuccess = () => {
            const db = q.result;
            const all = db.transaction('outbox').objectStore('outbox').getAll();
            all.onsuccess = () => resolve(all.result.map((e) => e.files.map((f) => f.blob.size)));
          };
        })"""
    )
    blob_bytes = sum(files[0])
    print(
        f"\nIndexedDB for one door of 2 envelopes: usage {before} → {after} "
        f"(+{after - before} bytes); one attempt's files {blob_bytes} bytes, "
        f"files per entry {[len(f) for f in files]}"
    )
    assert len(files) == 2 and files[0] == files[1]

    context.set_offline(False)
    synced(page, first, "delivered")
    synced(page, second, "delivered")
    attempts = server_attempts(live_server, [first["envelope_code"], second["envelope_code"]])
    assert sorted(a.fees_collected_vnd for a in attempts.values()) == [0, 34_000]
    a, b = attempts.values()
    assert sorted(f.sha256 for f in a.files) == sorted(f.sha256 for f in b.files)
    signature = next(f.sha256 for f in a.files if f.kind == "signature")
    assert stored_copies(live_server, signature) == 1
    assert not live_server.errors
