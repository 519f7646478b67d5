"""A whole day without signal: a few hundred attempts queued offline through the app's own
outbox, with photos and signatures of a phone's sizes, kept across a restart of the browser, and
sent once signal returns, every one exactly once, the count on screen falling as they go.

The attempts are made in the page with the app's own modules (attempts.js buildMeta, outbox.js
makeEntry and Outbox, store.js), as saveAttempt makes them, from one photo and one signature made
here and varied in the page (a JPEG comment, a PNG text chunk) so every file has its own hash.
Driving the camera and the signature pad 250 times would test the screens, which the flow tests
already do, and take minutes.
"""

from __future__ import annotations

import base64
import io
import os
import random
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, Playwright, expect
from sqlalchemy import func, select

from backend import clock
from backend.console.services import plan_run, receive_envelopes
from backend.demo.seed import OFFICE
from backend.domain.envelope_qr import sign_envelope_qr
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, Envelope, PostOffice, ProofFile, User
from tests.e2e.conftest import add_demo_postman, login_as, register_id_card, serve_demo, wait_for_js
from tests.e2e.test_pwa_flow import record_failure
from tests.e2e.test_pwa_restart import Phone

pytestmark = pytest.mark.e2e

# 250 attempts: every fifth one failed (nobody home, no files), the others delivered with a
# signature and a photo, ~175 KB each. A few hundred, and well under a minute on two busy cores.
ATTEMPTS = int(os.environ.get("TRAO_DAY_ATTEMPTS", "250"))
FAILED_EVERY = 5
POSTMAN = "buutadai"


# --- A run of a few hundred stops -------------------------------------------------------------


def seed_long_run(app, count: int) -> dict[str, dict]:
    """A postman with one run of today of `count` stops; per envelope code what the phone reads
    at the door: the envelope's QR payload and the recipient's ID card number."""
    config = app.config["TRAO_CONFIG"]
    with app.app_context():
        now = clock.now()
        office = db.session.execute(select(PostOffice).filter_by(code=OFFICE["code"])).scalar_one()
        supervisor = db.session.execute(select(User).filter_by(username="giamsat")).scalar_one()
        agency = db.session.execute(select(Agency).filter_by(code="CA-LS")).scalar_one()
        postman = add_demo_postman(config, office, POSTMAN, "Hứa Văn Đại", now)
        day = clock.local_date(now, office.timezone)
        people, envelopes = {}, []
        for n in range(count):
            code = f"NGAY-{day:%y%m%d}-{n + 1:04d}"
            dossier, person = register_id_card(
                config, agency, code, day=day, registered_at=now - timedelta(hours=20)
            )
            envelope = dossier.envelopes[0]
            envelopes.append(envelope)
            people[envelope.code] = {
                "payload": sign_envelope_qr(envelope.code, config.QR_SIGNING_KEY),
                "id_number": person.id_number,
            }
        policy = config.DELIVERY_POLICY
        receive_envelopes(envelopes, actor=supervisor, now=now - timedelta(hours=18), policy=policy)
        plan_run(
            office=office,
            postman=postman,
            run_date=day,
            envelopes=envelopes,
            actor=supervisor,
            now=now - timedelta(hours=1),
            policy=policy,
        )
        db.session.commit()
        db.session.remove()
    return people


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    """The demo, plus one postman whose run of today has ATTEMPTS stops."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('e2e-day') / 'trao.db'}"
    )
    with serve_demo(url) as live:
        live.people = seed_long_run(live.app, ATTEMPTS + 1)  # one more, done during the sync
        yield live


@pytest.fixture
def phone(playwright: Playwright, tmp_path: Path, live_server) -> Iterator[Phone]:
    phone = Phone(playwright, tmp_path / "profile", live_server.url)
    errors_before = len(live_server.errors)
    yield phone
    phone.switch_off()
    blocked = [url for guard in phone.guards for url in guard.blocked]
    assert not blocked, f"The app must never need the internet; it requested: {blocked}"
    assert live_server.errors[errors_before:] == []
    assert not phone.csp.violations, phone.csp.violations


# --- A phone's files ----------------------------------------------------------------------------


def photo_jpeg() -> bytes:
    """A 1280×960 JPEG of about 150 KB at the app's quality: a phone's photo of a hand-over."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(7)
    image = Image.new("RGB", (1280, 960), (180, 170, 150))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(1280), rng.randrange(960)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 150)), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    image = Image.blend(image, Image.effect_noise((1280, 960), 18).convert("RGB"), 0.22)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def signature_png() -> tuple[bytes, list]:
    """A signature as the pad makes it at a pixel ratio of 2 (680×440, ~15 KB) and its strokes."""
    from PIL import Image, ImageDraw

    rng = random.Random(11)
    scale = 4  # drawn large and shrunk: the smooth edges a canvas draws
    image = Image.new("RGBA", (680 * scale, 440 * scale), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    strokes, t = [], 1_700_000_000_000
    for s in range(4):
        x, y, points = 30 + s * 75, 120, []
        for _ in range(60):
            x += rng.uniform(-2, 4.5)
            y += rng.uniform(-3, 3)
            t += 16
            points.append([round(x, 1), round(y, 1), t])
        draw.line(
            [(p[0] * 2 * scale, p[1] * 2 * scale) for p in points],
            fill=(0, 0, 0, 255),
            width=2 * scale,
            joint="curve",
        )
        strokes.append(points)
    out = io.BytesIO()
    image.resize((680, 440), Image.BILINEAR).save(out, format="PNG", optimize=True)
    return out.getvalue(), strokes


# The page's side: the day's attempts made as saveAttempt makes them and written to the outbox.
QUEUE_ATTEMPTS = """
async ({ photo, signature, strokes, people, failedEvery, userId, spare }) => {
  const { buildMeta } = await import("/static/js/attempts.js");
  const { Outbox, makeEntry } = await import("/static/js/outbox.js");
  const { sha256Hex } = await import("/static/js/format.js");
  const store = await import("/static/js/store.js");
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const jpeg = bytes(photo);
  const png = bytes(signature);
  const tag = (n) => new TextEncoder().encode(`day ${n}`);
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (data) => {
    let c = 0xffffffff;
    for (const b of data) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const be = (n, width) => Array.from({ length: width }, (_, i) => (n >>> (8 * (width - 1 - i))) & 0xff);
  // The same picture with a comment segment after SOI: other bytes, another hash.
  const photoBlob = (n) => {
    const t = tag(n);
    return new Blob([jpeg.subarray(0, 2), new Uint8Array([0xff, 0xfe, ...be(t.length + 2, 2)]), t, jpeg.subarray(2)], { type: "image/jpeg" });
  };
  // The same signature with a tEXt chunk after IHDR.
  const signatureBlob = (n) => {
    const body = new Uint8Array([...new TextEncoder().encode("tEXt"), ...new TextEncoder().encode("day\\0"), ...tag(n)]);
    const chunk = new Uint8Array([...be(body.length - 4, 4), ...body, ...be(crc32(body), 4)]);
    return new Blob([png.subarray(0, 33), chunk, png.subarray(33)], { type: "image/png" });
  };
  const run = await store.loadRun(userId);
  const stops = run.data.runs.flatMap((r) => r.stops).filter((s) => s.state === "out_for_delivery" && s.envelope_code !== spare);
  const outbox = new Outbox({ store: store.outboxStore, fetch: () => Promise.reject(new TypeError("offline")) });
  const started = performance.now();
  const ids = [];
  for (const [i, stop] of stops.entries()) {
    const person = people[stop.envelope_code];
    const failed = i % failedEvery === failedEvery - 1;
    const position = { lat: stop.location.lat, lon: stop.location.lon, accuracy_m: 9 };
    const meta = buildMeta({
      stop, scan: { method: "qr", payload: person.payload }, outcome: failed ? "failed" : "delivered",
      attemptNumber: stop.attempt_number, position, fees: stop.fees_due_vnd,
      strokes: failed ? null : strokes.map((s) => s.map(([x, y, t]) => [x, y, t + i * 60000])),
      reasonCode: failed ? "not_home" : null,
      recipient: failed ? null : {
        name: stop.recipient.name.toUpperCase(), relation: "holder", id_document_type: "cccd",
        id_check_method: "chip_qr", id_number: person.id_number, id_last4: null, weak_match_confirmed: false,
      },
    });
    const files = failed ? [] : [
      { field: "signature", blob: signatureBlob(i), filename: "signature.png" },
      { field: "photo", blob: photoBlob(i), filename: "photo-1.jpg" },
    ];
    for (const file of files) file.sha256 = await sha256Hex(file.blob);
    await outbox.add(makeEntry({ userId, meta, files, now: Date.now() + i }));
    ids.push(meta.attempt_id);
  }
  const estimate = await navigator.storage.estimate();
  return { ids, ms: performance.now() - started, usage: estimate.usage };
}
"""

# Every change of the sync bar, as the postman would have seen it, kept in the page.
WATCH_SYNC_BAR = """
() => {
  const bar = document.getElementById("syncbar");
  window.__syncBar = [];
  const note = () => {
    const count = bar.querySelector("[data-testid=pending-count]");
    const progress = bar.querySelector("[role=progressbar]");
    const last = window.__syncBar.at(-1);
    const seen = {
      count: count ? Number(count.dataset.count) : null,
      text: count?.textContent ?? "",
      value: progress ? Number(progress.getAttribute("aria-valuenow")) : null,
      at: performance.now(),
    };
    if (!last || last.count !== seen.count || last.text !== seen.text || last.value !== seen.value) window.__syncBar.push(seen);
  };
  note();
  new MutationObserver(note).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
}
"""


def pending_shown(page: Page) -> int:
    return int(page.get_by_test_id("pending-count").get_attribute("data-count"))


def server_attempts(live_server) -> tuple[dict[str, int], int, int]:
    """The postman's attempts on the server: {attempt_id: attempt_number}, files, envelopes tried."""
    with live_server.app.app_context():
        postman = db.session.execute(select(User).filter_by(username=POSTMAN)).scalar_one()
        rows = db.session.execute(
            select(DeliveryAttempt.id, DeliveryAttempt.attempt_number).filter_by(
                postman_id=postman.id
            )
        ).all()
        files = db.session.execute(
            select(func.count(ProofFile.id))
            .join(DeliveryAttempt, ProofFile.attempt_id == DeliveryAttempt.id)
            .filter(DeliveryAttempt.postman_id == postman.id)
        ).scalar_one()
        tried = db.session.execute(
            select(func.count(Envelope.id)).filter(
                Envelope.code.in_(list(live_server.people)), Envelope.attempts_made == 1
            )
        ).scalar_one()
        db.session.remove()
    return {row.id: row.attempt_number for row in rows}, files, tried


def test_a_day_of_attempts_offline_survives_a_restart_and_lands_once_counting_down(
    phone: Phone, live_server
):
    started = time.monotonic()
    figures: dict[str, float] = {}
    photo = photo_jpeg()
    signature, strokes = signature_png()
    assert 120_000 < len(photo) < 200_000 and 8_000 < len(signature) < 30_000
    spare = sorted(live_server.people)[-1]  # recorded by hand while the others are sent

    # Morning, with signal: log in, the run is kept on the phone.
    page = phone.switch_on()
    login_as(page, POSTMAN)
    expect(page).to_have_url(re.compile(r"/app$"))
    wait_for_js(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("ol.stops > li")).to_have_count(ATTEMPTS + 1)
    user_id = page.evaluate("fetch('/api/v1/session').then(r => r.json()).then(s => s.user.id)")

    # The day, with none: every attempt written whole to the outbox.
    phone.context.set_offline(True)
    queued = page.evaluate(
        QUEUE_ATTEMPTS,
        {
            "photo": base64.b64encode(photo).decode(),
            "signature": base64.b64encode(signature).decode(),
            "strokes": strokes,
            "people": live_server.people,
            "failedEvery": FAILED_EVERY,
            "userId": user_id,
            "spare": spare,
        },
    )
    ids = queued["ids"]
    assert len(ids) == ATTEMPTS
    figures["queue_s"] = queued["ms"] / 1000
    figures["storage_mb"] = queued["usage"] / 1e6
    phone.switch_off()

    # Evening, the phone restarted, still no signal: the run and all the attempts are there.
    reopened = time.monotonic()
    page = phone.switch_on(offline=True)
    page.goto("/app")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", str(ATTEMPTS))
    figures["reopen_s"] = time.monotonic() - reopened
    expect(page.get_by_test_id("network-state")).to_have_text("Mất mạng")
    expect(page.get_by_test_id("pending-count")).to_contain_text(" MB")  # what waits, weighed
    assert server_attempts(live_server)[0] == {}

    # Signal: the outbox goes, the count falling as each attempt is acknowledged; meanwhile the
    # postman records one more attempt, by hand, which goes in the same sync.
    page.evaluate(WATCH_SYNC_BAR)
    online = time.monotonic()
    phone.context.set_offline(False)
    samples: list[int] = []
    recorded_at = None
    deadline = online + 120
    while time.monotonic() < deadline:
        samples.append(pending_shown(page))
        if samples[-1] == 0:
            break
        if recorded_at is None and samples[-1] < ATTEMPTS - 10:
            record_failure(page, {"envelope_code": spare}, "not_home")
            recorded_at = len(samples)
        page.wait_for_timeout(250)
    assert recorded_at is not None, f"the sync ended before the postman could work: {samples}"
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0", timeout=5000)
    figures["sync_s"] = time.monotonic() - online
    expect(page.get_by_test_id("pending-count")).to_have_text("Đã đồng bộ hết")
    seen = page.evaluate("window.__syncBar")

    # What the postman saw: a count that fell in many steps and rose only by the attempt saved
    # meanwhile, samples of it falling, and the attempts and megabytes left.
    counts = [s["count"] for s in seen]
    assert counts[0] == ATTEMPTS and counts[-1] == 0
    rises = [(a, b) for a, b in zip(counts, counts[1:], strict=False) if b > a]
    assert len(rises) == 1 and rises[0][1] == rises[0][0] + 1, rises
    assert len(set(counts)) > ATTEMPTS // 2, f"the count fell in {len(set(counts))} steps"
    for part in (samples[:recorded_at], samples[recorded_at:]):
        assert all(b <= a for a, b in zip(part, part[1:], strict=False)), samples
    assert len(set(samples)) >= 3, f"sampled during the sync: {samples}"
    progress = [s for s in seen if s["value"] is not None]
    texts = [s["text"] for s in progress]
    assert any(re.fullmatch(rf"Đang gửi \d+/{ATTEMPTS} · còn [\d,]+ MB", t) for t in texts), texts
    assert any(re.fullmatch(rf"Đang gửi \d+/{ATTEMPTS + 1} · còn [\d,]+ MB", t) for t in texts)
    values = [s["value"] for s in progress]
    assert values[-1] >= 99 and len(set(values)) > 50

    # What the server holds: each attempt once, as the envelope's first, with its files.
    attempts, files, tried = server_attempts(live_server)
    assert set(ids) < set(attempts) and len(attempts) == ATTEMPTS + 1
    assert set(attempts.values()) == {1}
    delivered = ATTEMPTS - ATTEMPTS // FAILED_EVERY
    assert files == 2 * delivered
    assert tried == ATTEMPTS + 1
    # …and nothing left on the phone.
    left = page.evaluate(
        "import('/static/js/store.js').then((s) => s.outboxStore.all()).then((a) => a.length)"
    )
    assert left == 0

    figures["attempts_per_s"] = ATTEMPTS / figures["sync_s"]
    figures["total_s"] = time.monotonic() - started
    print(
        f"\nday test, {ATTEMPTS} attempts: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
    )
