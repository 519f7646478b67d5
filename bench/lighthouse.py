"""Lighthouse (mobile) on the postman's app, logged in as a demo postman; prints and records scores.

Run: .venv/bin/python bench/lighthouse.py   (installs bench/package.json's lighthouse if needed)
Writes bench/results/lighthouse-app.json (scores and key metrics); the full report goes to /tmp.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from backend import create_app  # noqa: E402
from backend.clock import now  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.extensions import db  # noqa: E402

BENCH = ROOT / "bench"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
    "interactive",
    "total-byte-weight",
)


def serve_demo() -> tuple[str, object]:
    """The demo on a temporary SQLite database, served on a free local port."""
    config = Config()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tempfile.mkdtemp()}/lighthouse.db"
    config.WTF_CSRF_ENABLED = False  # the script logs in with a plain form post
    app = create_app(config)
    with app.app_context():
        from backend.demo.seed import seed_base, seed_day

        db.create_all()
        office = seed_base(config, now())
        seed_day(config, office, now())
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", app


def session_cookie(base: str) -> str:
    """Log in as buuta1 through the real form and return the Cookie header."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/login")
    data = urllib.parse.urlencode({"username": "buuta1", "password": "demo1234"}).encode()
    opener.open(base + "/login", data=data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def main() -> None:
    if not (BENCH / "node_modules/.bin/lighthouse").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True)
    base, _app = serve_demo()
    cookie = session_cookie(base)
    report = Path(tempfile.mkdtemp()) / "lighthouse-app.json"
    subprocess.run(
        [
            str(BENCH / "node_modules/.bin/lighthouse"),
            base + "/app",
            "--form-factor=mobile",
            "--screenEmulation.mobile",
            "--throttling-method=simulate",
            f"--chrome-flags={CHROME_FLAGS}",
            "--extra-headers=" + json.dumps({"Cookie": cookie}),
            "--only-categories=" + ",".join(CATEGORIES),
            "--output=json",
            f"--output-path={report}",
            "--quiet",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
    )
    result = json.loads(report.read_text())
    if not result.get("finalDisplayedUrl", "").endswith("/app"):
        sys.exit(f"Lighthouse did not stay logged in: ended on {result.get('finalDisplayedUrl')}")
    missing = [c for c in CATEGORIES if c not in result["categories"]]
    if missing:
        sys.exit(f"Lighthouse returned no score for: {missing}")
    summary = {
        "url": "/app (logged in as a demo postman)",
        "lighthouse": result["lighthouseVersion"],
        "fetched_at": result["fetchTime"],
        "scores": {c: round(result["categories"][c]["score"] * 100) for c in CATEGORIES},
        "metrics": {m: result["audits"][m].get("displayValue") for m in METRICS},
        "final_url": result.get("finalDisplayedUrl"),
    }
    out = BENCH / "results" / "lighthouse-app.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"full report: {report}")


if __name__ == "__main__":
    main()
