"""Offline-ready at once (issue 9, item 2): the service worker precaches what works offline, the
QR decoder only on phones without a native BarcodeDetector, and the app says when it is ready.

Desktop Chromium has no native BarcodeDetector (Android's Chrome has one): a phone with one is
simulated by a class injected before the app's scripts, which says it reads "qr_code".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from backend.delivery import pwa
from backend.domain.envelope_qr import sign_envelope_qr
from tests.e2e.conftest import PHONE, login_as, wait_for_js
from tests.e2e.qrcam import write_qr_y4m

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(**PHONE)]

FAKE_NATIVE_DETECTOR = """
globalThis.BarcodeDetector = class BarcodeDetector {
  static async getSupportedFormats() { return ["qr_code"]; }
  async detect() { return []; }
};
"""
CACHED_PATHS = """(async () => {
  const out = {};
  for (const name of await caches.keys()) {
    out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
  }
  return out;
})()"""
DECODER = {"/static/vendor/barcode-detector.js", "/static/vendor/zxing_reader.wasm"}
CAMERA = Path(tempfile.gettempdir()) / f"trao-pwa-ready-{os.getpid()}.y4m"
write_qr_y4m(CAMERA, "no code yet")
CAMERA_ARGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    f"--use-file-for-fake-video-capture={CAMERA}",
)
READY_TIMEOUT = 60000  # the machine is shared with other browser tests: be patient


def wait_until_ready(page: Page) -> None:
    indicator = page.get_by_test_id("offline-ready")
    expect(indicator).to_have_attribute("data-state", "ready", timeout=READY_TIMEOUT)
    expect(indicator).to_be_visible()
    wait_for_js(page, "navigator.serviceWorker.controller !== null")


def open_stops(page: Page) -> list[dict]:
    data = page.evaluate("fetch('/api/v1/runs/today').then(r => r.json())")
    return [s for r in data["runs"] for s in r["stops"] if s["state"] == "out_for_delivery"]


def test_with_a_native_detector_the_app_is_ready_offline_without_the_decoder(
    page: Page, context: BrowserContext
):
    context.add_init_script(FAKE_NATIVE_DETECTOR)
    login_as(page, "buuta1")
    wait_until_ready(page)
    expect(page.get_by_test_id("offline-ready")).to_have_text("Sẵn sàng làm việc khi mất mạng")
    caches = page.evaluate(CACHED_PATHS)
    assert list(caches) == [f"trao-shell-{pwa.cache_version()}"]
    (cached,) = caches.values()
    assert {"/app", "/static/js/app.js", "/static/js/qr.js", "/static/css/app.css"} <= set(cached)
    assert {"/static/vendor/idb/index.js", "/static/vendor/signature_pad.js"} <= set(cached)
    assert not DECODER & set(cached), "a phone with a native detector never needs the decoder"

    # A repeat load asks for the run with the ETag of the one it holds: unchanged, a 304.
    with page.expect_response(lambda r: r.url.endswith("/api/v1/runs/today")) as answer:
        page.reload()
    assert answer.value.status == 304
    expect(page.locator("ol.stops > li").first).to_be_visible()

    context.set_offline(True)
    page.reload()
    expect(page.locator("ol.stops > li").first).to_be_visible()
    expect(page.get_by_test_id("network-state")).to_have_text("Mất mạng")
    expect(page.get_by_test_id("offline-ready")).to_have_attribute("data-state", "ready")
    assert not DECODER & {p for paths in page.evaluate(CACHED_PATHS).values() for p in paths}
    context.set_offline(False)


@pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True)
def test_without_a_native_detector_the_decoder_is_cached_kept_across_an_update_and_scans_offline(
    page: Page, context: BrowserContext, live_server, monkeypatch
):
    login_as(page, "buuta1")
    wait_until_ready(page)
    stops = open_stops(page)
    cached = page.evaluate(CACHED_PATHS)[f"trao-shell-{pwa.cache_version()}"]
    assert set(cached) >= DECODER and "/app" in cached

    # A new version: its service worker carries the decoder into its own cache.
    monkeypatch.setattr(pwa, "cache_version", lambda: "9.9.9-ready")
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    expect(page.get_by_test_id("update-banner")).to_be_visible(timeout=READY_TIMEOUT)
    with page.expect_event("load"):
        page.get_by_test_id("update-reload").click()
    wait_for_js(page, "caches.keys().then(k => k.length === 1 && k[0].endsWith('9.9.9-ready'))")
    wait_until_ready(page)
    (cached,) = page.evaluate(CACHED_PATHS).values()
    assert set(cached) >= DECODER

    context.set_offline(True)
    page.reload()
    expect(page.locator("ol.stops > li").first).to_be_visible()
    stop = stops[0]
    key = live_server.app.config["QR_SIGNING_KEY"]
    write_qr_y4m(CAMERA, sign_envelope_qr(stop["envelope_code"], key))
    page.get_by_test_id("scan-envelope").click()
    expect(page.get_by_test_id("envelope-identified")).to_be_visible(timeout=20000)
    expect(page.get_by_test_id("stop-title")).to_have_text(stop["recipient"]["name"])
    context.set_offline(False)
