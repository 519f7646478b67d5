"""What makes the app offline-ready at once and its repeat loads cheap (issue 9, item 2):
the service worker's lists (precached vs the QR decoder on demand), ETags on /sw.js and the run."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from backend.delivery import pwa
from tests.conftest import login
from tests.delivery.helpers import failed_meta, make_run, post_attempt

DECODER = ["/static/vendor/barcode-detector.js", "/static/vendor/zxing_reader.wasm"]


def sw_constant(body: str, name: str):
    return json.loads(re.search(rf"const {name} = (.*?);\n", body).group(1))


@pytest.fixture
def vendor_present():
    missing = [p for p in pwa.DECODER_FILES + pwa.VENDOR_FILES if not (pwa.STATIC / p).exists()]
    if missing:
        pytest.skip(f"vendor files not copied (make vendor): {missing}")


def test_the_precache_holds_what_works_offline_and_not_the_decoder(app, vendor_present):
    with app.test_request_context():
        precache, decoder = pwa.precache_urls(), pwa.decoder_urls()
    assert decoder == DECODER
    assert not set(decoder) & set(precache)
    for url in (
        "/app",
        "/manifest.webmanifest",
        "/static/css/app.css",
        "/static/js/app.js",
        "/static/js/qr.js",
        "/static/js/ui/offline-ready.js",
        "/static/vendor/signature_pad.js",
        "/static/vendor/idb/index.js",
        "/icons/icon-192.png",
    ):
        assert url in precache, url


def test_the_service_worker_carries_both_lists_and_each_file_digest(app, client, vendor_present):
    body = client.get("/sw.js").get_data(as_text=True)
    with app.test_request_context():
        assert sw_constant(body, "PRECACHE") == pwa.precache_urls()
    assert sw_constant(body, "DECODER") == DECODER
    digests = sw_constant(body, "DIGESTS")
    for url in DECODER + ["/static/js/app.js", "/static/vendor/idb/index.js"]:
        data = (pwa.STATIC / url.removeprefix("/static/")).read_bytes()
        assert hashlib.sha256(data).hexdigest().startswith(digests[url]), url


def test_the_decoder_changes_the_cache_version(tmp_path, monkeypatch):
    """A new decoder must reach the phones that cached the old one: it is part of the version."""
    wasm = tmp_path / "vendor" / "zxing_reader.wasm"
    wasm.parent.mkdir()
    wasm.write_bytes(b"\0asm one")
    monkeypatch.setattr(pwa, "STATIC", tmp_path)
    monkeypatch.setattr(pwa, "DECODER_FILES", ("vendor/zxing_reader.wasm",))
    before = pwa.assets_hash()
    wasm.write_bytes(b"\0asm two")
    assert pwa.assets_hash() != before


@pytest.mark.parametrize("encoding", ["identity", "br", "gzip"])
def test_sw_js_answers_304_when_unchanged(client, encoding):
    first = client.get("/sw.js", headers={"Accept-Encoding": encoding})
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(
        "/sw.js", headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "no-cache"
    assert again.headers["Service-Worker-Allowed"] == "/"
    stale = client.get("/sw.js", headers={"If-None-Match": '"an-older-version"'})
    assert stale.status_code == 200 and b"const PRECACHE" in stale.data


def test_sw_js_etag_follows_its_contents(client, monkeypatch):
    first = client.get("/sw.js").headers["ETag"]
    monkeypatch.setattr(pwa, "cache_version", lambda: "9.9.9-test")
    response = client.get("/sw.js", headers={"If-None-Match": first})
    assert response.status_code == 200 and response.headers["ETag"] != first


def test_runs_today_answers_304_until_the_run_changes(app, client, factory):
    postman, run = make_run(factory, count=2)
    login(client, postman)
    first = client.get("/api/v1/runs/today", headers={"Accept-Encoding": "br"})
    assert first.status_code == 200 and first.headers["ETag"].endswith(':br"')
    assert first.headers["Cache-Control"] == "no-store", "personal data: not in the HTTP cache"
    tag = first.headers["ETag"]

    again = client.get(
        "/api/v1/runs/today", headers={"Accept-Encoding": "br", "If-None-Match": tag}
    )
    assert again.status_code == 304 and again.data == b""
    plain = client.get("/api/v1/runs/today", headers={"If-None-Match": tag})
    assert plain.status_code == 304, "the same run, whatever the encoding the client holds"

    stop = run.stops[0]
    assert post_attempt(client, failed_meta(stop), []).status_code == 201
    changed = client.get("/api/v1/runs/today", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    stops = {s["stop_id"]: s for r in changed.get_json()["runs"] for s in r["stops"]}
    assert stops[stop.id]["last_attempt"]["outcome"] == "failed"


def test_runs_today_etag_is_the_postmans_own(app, client, factory):
    """Two postmen on one phone: the second never gets a 304 for the first one's run."""
    first_postman, _ = make_run(factory)
    login(client, first_postman)
    tag = client.get("/api/v1/runs/today").headers["ETag"]
    other, _ = make_run(factory)
    login(client, other)
    response = client.get("/api/v1/runs/today", headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["ETag"] != tag
