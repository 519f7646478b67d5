"""The citizen's tracking page: its weight, and its rate beside a bare endpoint, in one run.

    .venv/bin/python bench/tracking.py [--seconds 10] [--rounds 3] [--connections 4]

Creates a PostgreSQL database (dropped at the end), migrates it, registers `--links` dossiers
(half waiting at the office, half held there), each with a tracking link. Measures what a phone
downloads for the page (HTML and CSS, as sent with gzip, br and uncompressed) before and after
the phone's digits. Then starts Trao (`wsgi:app`) and the bare endpoint (`bench.tracking:bare`:
the same look-up by the token's SHA-256, one query, a page written by an f-string) under
gunicorn with 2 sync workers each, and, round after round, drives each for `--seconds` with
`wrk` (1 thread, `--connections`) asking for the links' pages in turn (`Accept-Encoding: gzip,
br`, as a phone does), and prints the rates, p50/p99 and CPU per request. The look-up limit per
address is raised for the run (every request comes from 127.0.0.1) but still counted. The last
line is one JSON object with the medians. Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask, abort  # noqa: E402

from bench.ingest import (  # noqa: E402
    PG_ADMIN,
    VENV_BIN,
    Server,
    _admin,
    _children,
    _cpu_seconds,
    _postgres_pids,
    start_server,
)

PHONE = "0912345678"
WRK_SCRIPT = r"""
local paths, n = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  n = n + 1
  return wrk.format("GET", paths[((n - 1) % #paths) + 1],
                    {["Accept-Encoding"] = "gzip, br", ["User-Agent"] = "trao-bench"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""

# --- The bare endpoint: the least the page needs, nothing of Trao ---------------------------------

bare = Flask(__name__)
_connection = None
_BARE_QUERY = """SELECT d.procedure_name, e.state FROM tracking_link l
  JOIN envelope e ON e.id = l.envelope_id JOIN dossier d ON d.id = e.dossier_id
  WHERE l.token_hash = %s AND l.revoked_at IS NULL"""


@bare.get("/t/<token>")
def bare_page(token: str):
    """One query by the token's hash, and a page of about the same size as Trao's."""
    global _connection
    import psycopg

    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["BARE_DATABASE_URL"], autocommit=True)
    row = _connection.execute(_BARE_QUERY, (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
    if row is None:
        abort(404)
    return (
        "<!doctype html><html lang=vi><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width'><title>Trao</title>"
        f"<link rel=stylesheet href=/static/tracking/tracking.css></head><body><main><h1>{row[0]}"
        f"</h1><p>{row[1]}</p><form method=post><input name=digits><button>OK</button></form>"
        "</main></body></html>"
    )


# --- Preparing ------------------------------------------------------------------------------------


def prepare(env: dict, links: int) -> list[str]:
    """Migrate; one office and agency; `links` dossiers waiting or held, each with a link."""
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    from backend import create_app
    from backend.agency_api.services import register_dossier
    from backend.config import Config
    from backend.domain.lifecycle import Action
    from backend.envelopes.services import apply_action
    from backend.extensions import db
    from backend.models import Agency, PostOffice
    from backend.tracking.links import issue_link

    config = Config()
    app = create_app(config)
    now = datetime.now(UTC)
    tokens = []
    with app.app_context():
        office = PostOffice(
            code="249998",
            name="Bưu cục Đông Kinh",
            address="Số 51 đường Lê Lợi, phường Đông Kinh, Lạng Sơn",
            province_code=20,
            opening_hours="7:30–17:00, thứ Hai đến thứ Bảy",
        )
        db.session.add(office)
        db.session.flush()
        agency = Agency(code="CA-B", name="Công an tỉnh", province_code=20, post_office=office)
        db.session.add(agency)
        db.session.flush()
        for n in range(links):
            dossier = register_dossier(
                agency,
                {
                    "code": f"BENCH-{n:05d}",
                    "procedure_code": "1.001751",
                    "procedure_name": "Cấp thẻ Căn cước cho công dân từ đủ 14 tuổi",
                    "result_type": "citizen_id_card",
                    "applicant_name": "Nguyễn Văn An",
                    "recipient_name": "Nguyễn Văn An",
                    "recipient_phone": PHONE,
                    "address_line": "Số 5, đường Lê Lợi",
                    "commune_code": 5977,
                    "commune_name": "Phường Đông Kinh",
                    "province_code": 20,
                    "province_name": "Lạng Sơn",
                },
                envelope_count=1,
                now=now,
                id_key=config.ID_HASH_KEY,
                code_prefix="BT",
                recipient_id_number="020090123456",
            )
            envelope = dossier.envelopes[0]
            apply_action(envelope, Action.receive, now=now)
            if n % 2:
                apply_action(envelope, Action.hold, now=now)
            tokens.append(issue_link(envelope, key=config.TRACKING_KEY, now=now))
        db.session.commit()
    return tokens


def weight(env: dict, token: str) -> dict:
    """Bytes of the page and its stylesheet as sent: uncompressed, gzip and br; before and after
    the phone's digits (a held envelope: the fullest page)."""
    from backend import create_app
    from backend.config import Config

    app = create_app(Config())
    client = app.test_client()
    found: dict = {}

    def sizes(path: str) -> dict:
        out = {}
        for encoding in ("identity", "gzip", "br"):
            response = client.get(path, headers={"Accept-Encoding": encoding})
            assert response.status_code == 200, (path, response.status_code)
            out[encoding] = len(response.data)
        return out

    found["page_before_digits"] = sizes(f"/t/{token}")
    page = client.get(f"/t/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(f"/t/{token}/verify", data={"digits": PHONE[-4:], "csrf_token": csrf})
    assert answer.status_code == 303, answer.status_code
    found["page_after_digits"] = sizes(f"/t/{token}")
    found["css"] = sizes("/static/tracking/tracking.css")
    raw_css = (ROOT / "pwa/static/tracking/tracking.css").read_bytes()
    found["css_file_gzip_9"] = len(gzip.compress(raw_css, 9))
    return found


# --- Driving --------------------------------------------------------------------------------------


def drive(server: Server, paths: Path, seconds: int, connections: int, script: Path) -> dict:
    workers = [server.process.pid, *_children(server.process.pid)]
    postgres = _postgres_pids()
    app_before, db_before = _cpu_seconds(workers), _cpu_seconds(postgres)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            server.url,
            "--",
            str(paths),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = json.loads(re.search(r"WRK_JSON (\{.*\})", out).group(1))
    requests = max(found["requests"], 1)
    return {
        "server": server.name,
        "rps": round(found["requests"] / (found["duration_us"] / 1e6), 1),
        "p50_ms": round(found["p50_us"] / 1000, 2),
        "p99_ms": round(found["p99_us"] / 1000, 2),
        "errors": found["errors"],
        "app_cpu_ms": round((_cpu_seconds(workers) - app_before) * 1000 / requests, 3),
        "db_cpu_ms": round((_cpu_seconds(postgres) - db_before) * 1000 / requests, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--links", type=int, default=200)
    args = parser.parse_args()
    name = f"trao_bench_tracking_{secrets.token_hex(4)}"
    db_url = f"{PG_ADMIN}/{name}"
    work = Path(tempfile.mkdtemp(prefix="trao-bench-tracking-"))
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": secrets.token_hex(32),
        "STORAGE_URL": str(work / "proofs"),
        "TRAO_TRACKING_LOOKUP_RATE": "100000000 per minute",
        "TRAO_OUTBOX_ENQUEUE": "0",
        "BARE_DATABASE_URL": db_url,
    }
    _admin(f'CREATE DATABASE "{name}"')
    servers: list[Server] = []
    try:
        tokens = prepare(env, args.links)
        sizes = weight(env, tokens[1])
        print("weight (bytes as sent):", json.dumps(sizes), flush=True)
        paths = work / "paths.txt"
        paths.write_text("".join(f"/t/{token}\n" for token in tokens))
        script = work / "tracking.lua"
        script.write_text(WRK_SCRIPT)
        servers = [
            start_server("trao", "wsgi:app", env, 2),
            start_server("bare", "bench.tracking:bare", env, 2),
        ]
        for server in servers:  # each worker loads its templates and catalogues once
            drive(server, paths, 2, args.connections, script)
        rounds: dict[str, list[dict]] = {"trao": [], "bare": []}
        for n in range(args.rounds):
            for server in servers:
                found = drive(server, paths, args.seconds, args.connections, script)
                rounds[server.name].append(found)
                print(f"round {n + 1}: {json.dumps(found)}", flush=True)
        summary = {
            name: {
                key: statistics.median(r[key] for r in found)
                for key in ("rps", "p50_ms", "p99_ms", "app_cpu_ms", "db_cpu_ms")
            }
            for name, found in rounds.items()
        }
        summary["ratio"] = round(summary["trao"]["rps"] / summary["bare"]["rps"], 2)
        summary["weight"] = sizes
        summary["load_average"] = os.getloadavg()
        print(json.dumps(summary))
    finally:
        for server in servers:
            server.stop()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
