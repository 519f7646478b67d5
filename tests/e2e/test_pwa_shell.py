"""The postman's app as an installable, offline app: manifest, icons, service worker, updates."""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from backend.delivery import pwa
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    CspWatch,
    OffsiteGuard,
    login_as,
    save_screenshot,
    wait_for_js,
)

pytestmark = pytest.mark.e2e


def open_app(page: Page) -> None:
    """Log in as a postman and wait until the service worker controls the app and the run shows."""
    login_as(page, "buuta1")
    expect(page).to_have_url(re.compile(r"/app$"))
    wait_for_js(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("ol.stops > li").first).to_be_visible()


def test_manifest_and_icons_are_served(page: Page):
    response = page.request.get("/manifest.webmanifest")
    assert response.ok
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "Trao — Bưu tá"
    assert manifest["short_name"] == "Trao"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/app",
        "/",
        "standalone",
    )
    assert manifest["theme_color"].startswith("#")
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        image = page.request.get(icon["src"])
        assert image.ok and image.headers["content-type"] == "image/png"
        assert image.body()[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(image.body()[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]


def test_the_service_worker_is_served_from_the_root_and_precaches_the_whole_shell(page: Page):
    """The shell and all it needs offline; the QR decoder is a list of its own (test_pwa_ready)."""
    response = page.request.get("/sw.js")
    assert response.ok
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    assert "javascript" in response.headers["content-type"]
    body = response.text()
    version = re.search(r'const VERSION = "([^"]+)"', body).group(1)
    assert version == pwa.cache_version()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    for url in (
        "/app",
        "/manifest.webmanifest",
        "/static/css/app.css",
        "/static/js/app.js",
        "/static/js/lang.js",
        "/static/js/outbox.js",
        "/static/vendor/signature_pad.js",
        "/static/vendor/idb/index.js",
        "/icons/icon-192.png",
    ):
        assert url in precache, url
    decoder = json.loads(re.search(r"const DECODER = (\[.*?\]);", body).group(1))
    assert decoder == ["/static/vendor/barcode-detector.js", "/static/vendor/zxing_reader.wasm"]


def test_the_cache_name_changes_when_an_asset_changes(tmp_path, monkeypatch):
    asset = tmp_path / "extra.js"
    asset.write_text("export const a = 1;\n")
    monkeypatch.setattr(pwa, "SOURCE_FILES", (*pwa.SOURCE_FILES, asset))
    before = pwa.assets_hash()
    asset.write_text("export const a = 2;\n")
    assert pwa.assets_hash() != before


@pytest.mark.browser_context_args(**PHONE)
def test_the_run_opens_offline_from_the_service_worker_and_indexeddb(
    page: Page, context: BrowserContext
):
    open_app(page)
    names = page.locator("ol.stops > li .stop-name").all_inner_texts()
    assert len(names) >= 20
    expect(page.get_by_test_id("postman-name")).not_to_be_empty()

    context.set_offline(True)
    page.reload()
    expect(page.locator("ol.stops > li").first).to_be_visible()
    assert page.locator("ol.stops > li .stop-name").all_inner_texts() == names
    expect(page.get_by_test_id("network-state")).to_have_text("Mất mạng")
    # The search box works offline too, ignoring diacritics.
    first = names[0].split(". ", 1)[1]
    folded = page.evaluate(
        "s => s.normalize('NFD').replace(/\\p{M}/gu, '').replace(/đ/g,'d').replace(/Đ/g,'D')", first
    )
    page.get_by_test_id("search").fill(folded.lower())
    expect(page.locator("ol.stops > li .stop-name").first).to_contain_text(first)
    save_screenshot(page, "pwa-offline")
    context.set_offline(False)


def test_the_app_shell_holds_no_personal_data(page: Page, live_server):
    login_as(page, "buuta1")
    html = page.request.get("/app").text()
    user = page.evaluate("fetch('/api/v1/session').then(r => r.json())")["user"]
    assert user["full_name"] not in html
    assert 'name="csrf_token" value=""' in html


def test_a_logged_out_visit_to_the_cached_app_goes_to_the_login_page(page: Page, live_server):
    open_app(page)
    page.locator(".topbar form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/app")
    expect(page).to_have_url(re.compile(r"/login\?next=/app$"))


@pytest.fixture
def persistent_context(playwright: Playwright, tmp_path, live_server):
    """A persistent (not incognito) profile: Chromium reports installability only there."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=list(CHROMIUM_ARGS),
        base_url=live_server.url,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    guard = OffsiteGuard()
    context.route("**/*", guard)
    watch = CspWatch().attach(context)
    yield context
    context.close()
    assert not guard.blocked, guard.blocked
    assert not watch.violations, watch.violations


def test_the_app_is_installable(persistent_context: BrowserContext):
    page = (
        persistent_context.pages[0] if persistent_context.pages else persistent_context.new_page()
    )
    open_app(page)
    cdp = persistent_context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest.get("errors")


class ByteCounter:
    """WSGI middleware counting the bytes of every response body the server sends."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.by_path: dict[str, int] = defaultdict(int)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        for chunk in self.app(environ, start_response):
            with self.lock:
                self.by_path[path] += len(chunk)
            yield chunk

    def take(self) -> dict[str, int]:
        with self.lock:
            taken, self.by_path = dict(self.by_path), defaultdict(int)
        return taken


def test_transfer_sizes_of_a_first_and_a_repeat_load(page: Page, live_server, capsys):
    counter = ByteCounter(live_server.app.wsgi_app)
    live_server.app.wsgi_app = counter
    try:
        open_app(page)
        wait_for_js(page, "navigator.serviceWorker.ready.then(r => r.active.state === 'activated')")
        page.wait_for_timeout(500)
        first = counter.take()
        page.reload()
        expect(page.locator("ol.stops > li").first).to_be_visible()
        page.wait_for_timeout(500)
        repeat = counter.take()
    finally:
        live_server.app.wsgi_app = counter.app
    first_total, repeat_total = sum(first.values()), sum(repeat.values())
    with capsys.disabled():
        print(
            f"\n[pwa] first load: {first_total / 1024:.0f} KiB in {len(first)} URLs; "
            f"repeat load: {repeat_total / 1024:.1f} KiB: {sorted(repeat)}"
        )
    # A repeat load takes the shell and its assets from the cache: only the API goes out.
    assert all(p.startswith("/api/") or p == "/sw.js" for p in repeat), repeat
    assert repeat_total < 64 * 1024
    assert first_total < 2.5 * 1024 * 1024


def test_a_new_version_is_offered_and_taken_on_reload_and_the_outbox_survives(
    page: Page, context: BrowserContext, monkeypatch
):
    open_app(page)
    old = page.evaluate("caches.keys()")
    # An attempt waits in the outbox: saved offline, then the session expires.
    context.set_offline(True)
    page.locator("ol.stops > li[data-stop-id]").filter(
        has=page.locator("[data-status=open]")
    ).first.get_by_test_id("stop-open").click()
    code = page.get_by_test_id("screen-stop").get_by_test_id("stop-code").inner_text()
    page.get_by_test_id("stop-code-input").fill(code)
    page.get_by_test_id("stop-code-submit").click()
    page.get_by_test_id("fail").click()
    page.get_by_test_id("reason-not_home").check()
    page.get_by_test_id("confirm-failure").click()
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")
    context.clear_cookies()
    context.set_offline(False)
    expect(page.get_by_test_id("login-again")).to_be_visible(timeout=15000)

    monkeypatch.setattr(pwa, "cache_version", lambda: "9.9.9-test")
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    banner = page.get_by_test_id("update-banner")
    expect(banner).to_be_visible(timeout=20000)
    expect(banner).to_contain_text("Có phiên bản mới")
    with page.expect_event("load"):
        page.get_by_test_id("update-reload").click()
    expect(page.locator("ol.stops > li").first).to_be_visible()
    wait_for_js(page, "caches.keys().then(k => k.length === 1 && k[0].endsWith('9.9.9-test'))")
    assert old != page.evaluate("caches.keys()")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("login-again")).to_be_visible()


@pytest.mark.parametrize("chromium_args", [("--use-fake-device-for-media-stream",)], indirect=True)
@pytest.mark.browser_context_args(**PHONE)
def test_a_refused_camera_is_explained_and_the_code_can_be_typed(page: Page):
    open_app(page)  # no camera permission granted and no fake-UI flag: getUserMedia is refused
    page.get_by_test_id("scan-envelope").click()
    message = page.get_by_test_id("scan-message")
    expect(message).to_contain_text("Không được phép dùng máy ảnh")
    expect(page.get_by_test_id("camera")).to_be_hidden()
    expect(page.get_by_test_id("code-input")).to_be_focused()
