"""The postman's first log-in on a slow mobile link: time to a usable run and to offline-ready.

    .venv/bin/python bench/slow_link.py [--rtt-ms 400] [--kbps 400] [--rounds 1] [--verbose]

Serves a seeded demo (SQLite in a temp folder, werkzeug, threaded) behind a throttling TCP proxy
(asyncio: each chunk is delayed by half the round trip plus its size over the bandwidth, in each
direction, one shared link per direction as on a phone; 400 ms round trip and 400 kbit/s
reproduce issue 9's figures before its work: a list in 6.1 s, offline-ready in 23 s), and
drives Chromium through the proxy:
Chrome's own network emulation does not slow the service worker's fetches (BROWSER-TESTING.md).

For a phone with a native `BarcodeDetector` (simulated by an injected class that says it reads
"qr_code") and one without (desktop Chromium has none): log in as a demo postman and measure,
from the press on "log in", the time until the run list shows and until the app is offline-ready
(the `offline-ready` indicator says "ready"; on code without it, the service worker is active and
controls the page, i.e. its precache is complete); then the bytes that crossed the link on that
first load (log-in page included) and on a repeat load (a reload), with the repeat load's
requests. Prints a table; nothing is asserted. Figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# What Android Chrome has and desktop Chromium lacks: a QR-capable BarcodeDetector.
FAKE_NATIVE_DETECTOR = """
globalThis.BarcodeDetector = class BarcodeDetector {
  static async getSupportedFormats() { return ["qr_code"]; }
  constructor(options) { this.options = options; }
  async detect() { return []; }
};
"""
# Polled in the page: is the run list shown, is the app ready to work without signal?
PROBE = """async () => {
  const list = !!document.querySelector("ol.stops > li");
  const indicator = document.querySelector("[data-testid=offline-ready]");
  let ready = false;
  let state = null;
  if (indicator) {
    state = indicator.dataset.state ?? null;
    ready = state === "ready";
  } else if (navigator.serviceWorker?.controller) {
    const reg = await navigator.serviceWorker.getRegistration();
    ready = reg?.active?.state === "activated";
  }
  return { list, ready, state };
}"""
REQUEST_LINE = re.compile(rb"^(GET|POST|HEAD|PUT|DELETE) (\S+) HTTP/1\.[01]\r\n", re.M)
CHUNK = 16 * 1024


# --- The slow link ---------------------------------------------------------------------------


class Direction:
    """One direction of the link: a shared pipe of `bps` bytes/s with `latency` s of delay."""

    def __init__(self, latency: float, bps: float) -> None:
        self.latency = latency
        self.bps = bps
        self.free_at = 0.0
        self.bytes = 0

    def arrival(self, now: float, size: int) -> float:
        """When a chunk of `size` bytes sent now arrives at the other end."""
        start = max(now, self.free_at)
        self.free_at = start + size / self.bps
        self.bytes += size
        return self.free_at + self.latency


class SlowLink:
    """A TCP proxy in front of `upstream` that slows both directions; counts bytes by request."""

    def __init__(self, upstream_port: int, latency: float, kbps: float) -> None:
        self.upstream_port = upstream_port
        self.up = Direction(latency, kbps * 1000 / 8)
        self.down = Direction(latency, kbps * 1000 / 8)
        self.by_path: dict[str, int] = defaultdict(int)
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    @property
    def total(self) -> int:
        return self.up.bytes + self.down.bytes

    def take(self) -> tuple[int, dict[str, int], list[tuple[float, str]]]:
        """Bytes both ways since the last take, bytes per request path, and the requests."""
        total, by_path, requests = self.total, dict(self.by_path), list(self.requests)
        self.up.bytes = self.down.bytes = 0
        self.by_path.clear()
        self.requests.clear()
        return total, by_path, requests

    async def _connection(self, client_r, client_w) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        current = ["?"]  # HTTP/1.1 answers in order: the bytes down belong to the last request

        def note_up(data: bytes) -> None:
            for match in REQUEST_LINE.finditer(data):
                path = match.group(2).decode(errors="replace").split("?")[0]
                current[0] = path
                self.requests.append((time.monotonic(), f"{match.group(1).decode()} {path}"))
            self.by_path[current[0]] += len(data)

        def note_down(data: bytes) -> None:
            self.by_path[current[0]] += len(data)

        await asyncio.gather(
            self._pipe(client_r, server_w, self.up, note_up),
            self._pipe(server_r, client_w, self.down, note_down),
            return_exceptions=True,
        )

    async def _pipe(self, reader, writer, direction: Direction, note) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                at, data = item
                await asyncio.sleep(max(0.0, at - self.loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        delivering = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(CHUNK):
                note(data)
                await queue.put((direction.arrival(self.loop.time(), len(data)), data))
        except ConnectionError:
            pass
        finally:
            await queue.put(None)
            with contextlib.suppress(ConnectionError):
                await delivering


# --- The server ------------------------------------------------------------------------------


def serve_demo(folder: str) -> int:
    """Seed today's demo into a SQLite file and serve it on a free port; return the port."""
    from werkzeug.serving import make_server

    from backend import create_app
    from backend.clock import now
    from backend.config import Config
    from backend.demo.seed import seed_base, seed_day
    from backend.extensions import db

    config = Config()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{folder}/slow_link.db"
    config.RATELIMIT_ENABLED = False  # several log-ins in a row; not what is measured
    app = create_app(config)
    with app.app_context():
        db.create_all()
        office = seed_base(config, now())
        seed_day(config, office, now())
        db.session.commit()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_port


# --- The browser -----------------------------------------------------------------------------


def probe(page) -> dict:
    from playwright.sync_api import Error

    try:
        return page.evaluate(PROBE)
    except Error:  # a navigation replaced the page: ask the next one
        return {"list": False, "ready": False, "state": None}


def wait_quiet(link: SlowLink, quiet: float = 2.0, limit: float = 120.0) -> None:
    """Wait until nothing has crossed the link for `quiet` seconds."""
    deadline = time.monotonic() + limit
    last, since = link.total, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if link.total != last:
            last, since = link.total, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def one_phone(browser, link: SlowLink, username: str, native: bool, limit: float) -> dict:
    """Log in through the slow link; time the list and offline-ready; bytes first and repeat."""
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{link.port}",
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        **PHONE,
    )
    if native:
        context.add_init_script(FAKE_NATIVE_DETECTOR)
    page = context.new_page()
    link.take()
    page.goto("/login", timeout=limit * 1000)
    page.fill("#username", username)
    page.fill("#password", "demo1234")
    start = time.monotonic()
    page.click("main form button[type=submit]", no_wait_after=True)
    listed = ready = None
    states: dict[str, float] = {}
    while time.monotonic() - start < limit and (listed is None or ready is None):
        seen = probe(page)
        now = time.monotonic() - start
        if seen["state"] and seen["state"] not in states:
            states[seen["state"]] = now
        if listed is None and seen["list"]:
            listed = now
        if ready is None and seen["ready"]:
            ready = now
        time.sleep(0.05)
    wait_quiet(link)
    first, first_paths, first_requests = link.take()

    page.reload()
    page.wait_for_selector("ol.stops > li", timeout=limit * 1000)
    wait_quiet(link)
    repeat, repeat_paths, repeat_requests = link.take()
    context.close()
    return {
        "listed": listed,
        "ready": ready,
        "states": states,
        "first": first,
        "first_paths": first_paths,
        "first_requests": [(at - start, request) for at, request in first_requests],
        "repeat": repeat,
        "repeat_paths": repeat_paths,
        "repeat_requests": repeat_requests,
    }


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rtt-ms", type=float, default=400, help="round-trip latency (half each way, per chunk)"
    )
    parser.add_argument("--kbps", type=float, default=400, help="kbit/s, each way")
    parser.add_argument("--rounds", type=int, default=1, help="log-ins per kind of phone")
    parser.add_argument("--limit", type=float, default=120, help="give up after (s)")
    parser.add_argument("--verbose", action="store_true", help="bytes by URL on each load")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    folder = tempfile.mkdtemp(prefix="trao-slow-link-")
    link = SlowLink(serve_demo(folder), args.rtt_ms / 2000, args.kbps)
    print(
        f"link: {args.rtt_ms:.0f} ms round trip, {args.kbps:.0f} kbit/s each way; "
        f"proxy :{link.port}"
    )
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        users = iter(["buuta1", "buuta2", "buuta3"] * args.rounds * 2)
        for _ in range(args.rounds):
            for native in (True, False):
                result = one_phone(browser, link, next(users), native, args.limit)
                rows.append((native, result))
                if args.verbose:
                    for name in ("first_paths", "repeat_paths"):
                        print(name, sorted(result[name].items(), key=lambda kv: -kv[1]))
                    print(" ".join(f"{at:.1f}:{req}" for at, req in result["first_requests"]))
        browser.close()

    print()
    print(
        "| phone | run list usable | offline-ready | states seen | first load | repeat load |"
        " repeat load's requests |"
    )
    print("|---|---|---|---|---|---|---|")
    for native, r in rows:
        states = ", ".join(f"{k} {v:.1f} s" for k, v in r["states"].items()) or "—"
        requests = ", ".join(
            f"{path} {size / 1024:.1f} KB"
            for path, size in sorted(r["repeat_paths"].items(), key=lambda kv: -kv[1])
        )
        print(
            f"| {'native detector' if native else 'no native detector'} | {seconds(r['listed'])} "
            f"| {seconds(r['ready'])} | {states} | {r['first'] / 1024:.0f} KB "
            f"| {r['repeat'] / 1024:.1f} KB | {requests} |"
        )


if __name__ == "__main__":
    main()
