"""Receiving proofs, side by side with the stack's ceiling, in one run.

    .venv/bin/python bench/ingest.py [--seconds 15] [--rounds 6] [--connections 4]

Creates a PostgreSQL database (dropped at the end), migrates it and prepares enough open stops
on one postman's run; starts Trao (`wsgi:app`) and the bare endpoint (`bench/bare_app.py`: the
same multipart, SHA-256, write + fsync, one row) under gunicorn with 2 sync workers each; then,
round after round, drives each for `--seconds` with `wrk` (1 thread, `--connections`) sending
distinct uploads — a meta with 240 signature stroke points, a ~17 KB signature PNG and a ~150 KB
1280×960 photo, each file unique — and prints per round the rates, p50/p99, CPU per upload (the
server's workers, PostgreSQL, and the driver itself) and the ratio. Afterwards it checks that
Trao stored exactly the attempts and files it acknowledged. The last line is one JSON object
with the medians over the rounds. Needs `wrk` (Debian: apt-get install wrk) and PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOLDER_NAME, HOLDER_ID = "Nguyễn Văn An", "020090123456"
PASSWORD = "bench-password-1234"
CLK_TCK = os.sysconf("SC_CLK_TCK")
USER_AGENT = "Mozilla/5.0 (Linux; Android 12) trao-bench"
WRK_SCRIPT = r"""
local bodies, index, path, headers = nil, {}, nil, nil
local n = 0
function init(args)
  bodies = io.open(args[1], "rb")
  for line in io.lines(args[2]) do
    local offset, length = line:match("(%d+) (%d+)")
    index[#index + 1] = {tonumber(offset), tonumber(length)}
  end
  path = args[3]
  headers = {["Content-Type"] = "multipart/form-data; boundary=" .. args[4],
             ["User-Agent"] = args[7]}
  if args[5] ~= "" then headers["Cookie"] = args[5] end
  if args[6] ~= "" then headers["X-CSRFToken"] = args[6] end
end
function request()
  n = n + 1
  local entry = index[((n - 1) % #index) + 1]
  bodies:seek("set", entry[1])
  if headers["Cookie"] then  -- Trao: the phone's clock as it sends, as the app's outbox does
    headers["X-Trao-Sent-At"] = os.date("!%Y-%m-%dT%H:%M:%S+00:00")
  end
  return wrk.format("POST", path, headers, bodies:read(entry[2]))
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


# --- Uploads ------------------------------------------------------------------------------------


def _photo() -> bytes:
    """A 1280×960 JPEG of about 150 KB, like a phone's photo of a hand-over."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(7)
    image = Image.new("RGB", (1280, 960), (180, 170, 150))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(1280), rng.randrange(960)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 150)), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((1280, 960), 18).convert("RGB")
    image = Image.blend(image, noise, 0.22)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)  # the app's TRAO_PHOTO_QUALITY
    return out.getvalue()


def _signature_and_strokes() -> tuple[bytes, list]:
    """A signature drawn on the pad at a phone's pixel ratio of 2 (a 680×440 RGBA PNG with
    smoothed edges, ~17 KB) and its 240 stroke points, as the app sends them."""
    from PIL import Image, ImageDraw

    rng = random.Random(11)
    scale = 4  # drawn large and shrunk: the smooth edges a canvas draws
    image = Image.new("RGBA", (680 * scale, 440 * scale), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    strokes, t = [], 1_700_000_000_000
    for s in range(4):
        x, y = 30 + s * 75, 120
        points = []
        for _ in range(60):
            x += rng.uniform(-2, 4.5)
            y += rng.uniform(-3, 3)
            t += 16
            points.append([round(x, 1), round(y, 1), t])  # [x, y, t], as the app sends them
        line = [(px * 2 * scale, py * 2 * scale) for px, py, _ in points]
        draw.line(line, fill=(0, 0, 0, 255), width=2 * scale, joint="curve")
        strokes.append(points)
    image = image.resize((680, 440), Image.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), strokes


def _unique_jpeg(base: bytes, tag: bytes) -> bytes:
    """The same picture with a comment segment that makes the bytes (and hash) unique."""
    return base[:2] + b"\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag + base[2:]


def _unique_png(base: bytes, tag: bytes) -> bytes:
    """The same picture with a tEXt chunk after the header that makes the bytes unique."""
    data = b"bench\x00" + tag
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(chunk[4:]) & 0xFFFFFFFF)
    return base[:33] + chunk + base[33:]


@dataclass
class Stop:
    stop_id: int
    envelope_code: str
    qr_payload: str


def _multipart(boundary: str, meta: dict, files: list[tuple[str, str, bytes, str]]) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n'.encode()
        + json.dumps(meta).encode()
        + b"\r\n"
    ]
    for field, filename, data, content_type in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


class Uploads:
    """Distinct uploads written to one file with an index, for wrk to read back in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.photo = _photo()
        self.signature, self.strokes = _signature_and_strokes()
        self.boundary = "----trao-bench-" + secrets.token_hex(8)
        self.serial = 0

    def write(self, name: str, stops: list[Stop]) -> tuple[Path, Path]:
        bodies, index = self.folder / f"{name}.bin", self.folder / f"{name}.idx"
        offset = 0
        with open(bodies, "wb") as out, open(index, "w") as idx:
            for stop in stops:
                self.serial += 1
                tag = f"{self.serial}".encode()
                photo = _unique_jpeg(self.photo, tag)
                signature = _unique_png(self.signature, tag)
                meta = {
                    "attempt_id": str(uuid.uuid4()),
                    "stop_id": stop.stop_id,
                    "envelope_code": stop.envelope_code,
                    "attempt_number": 1,
                    "outcome": "delivered",
                    "reason_code": None,
                    "note": "",
                    "scan": {"method": "qr", "payload": stop.qr_payload},
                    "recipient": {
                        "name": HOLDER_NAME,
                        "relation": "holder",
                        "id_document_type": "cccd",
                        "id_check_method": "chip_qr",
                        "id_number": HOLDER_ID,
                    },
                    "position": {"lat": 21.8453, "lon": 106.7613, "accuracy_m": 12.0},
                    "device_time": datetime.now(TZ).isoformat(),
                    "fees_collected_vnd": 0,
                    "signature_strokes": self.strokes,
                    "files": [
                        {"field": "signature", "sha256": hashlib.sha256(signature).hexdigest()},
                        {"field": "photo", "sha256": hashlib.sha256(photo).hexdigest()},
                    ],
                }
                body = _multipart(
                    self.boundary,
                    meta,
                    [
                        ("signature", "signature.png", signature, "image/png"),
                        ("photo", "photo-1.jpg", photo, "image/jpeg"),
                    ],
                )
                out.write(body)
                idx.write(f"{offset} {len(body)}\n")
                offset += len(body)
        return bodies, index


# --- The database and the stops ----------------------------------------------------------------


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def prepare_database(url: str, env: dict, stops_needed: int) -> tuple[list[Stop], str]:
    """Migrate, then one office, one postman, one run with `stops_needed` envelopes out."""
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    from sqlalchemy import insert

    from backend import create_app
    from backend.config import Config
    from backend.domain.codes import make_envelope_code
    from backend.domain.envelope_qr import sign_envelope_qr
    from backend.domain.idnum import hash_id_number
    from backend.extensions import db
    from backend.models import (
        Agency,
        DeliveryRun,
        Dossier,
        Envelope,
        PostOffice,
        Role,
        RunStop,
        User,
    )

    config = Config()
    app = create_app(config)
    now = datetime.now(UTC)
    with app.app_context():
        office = PostOffice(
            code="249999",
            name="Bưu cục đo",
            address="Lạng Sơn",
            province_code=20,
            latitude=21.8486,
            longitude=106.7610,
        )
        agency = Agency(code="BENCH", name="Cơ quan đo", province_code=20, post_office=office)
        postman = User(
            username="bench", full_name="Bưu tá đo", role=Role.postman.value, post_office=office
        )
        postman.set_password(PASSWORD, method="pbkdf2:sha256:1000")
        run = DeliveryRun(post_office=office, postman=postman, run_date=now.astimezone(TZ).date())
        db.session.add_all([office, agency, postman, run])
        db.session.flush()
        id_hash = hash_id_number(HOLDER_ID, config.ID_HASH_KEY)
        common = {
            "agency_id": agency.id,
            "post_office_id": office.id,
            "procedure_code": "1.001751",
            "procedure_name": "Cấp thẻ Căn cước",
            "result_type": "citizen_id_card",
            "applicant_name": HOLDER_NAME,
            "recipient_name": HOLDER_NAME,
            "recipient_phone": "0912345678",
            "recipient_id_hash": id_hash,
            "recipient_id_last4": HOLDER_ID[-4:],
            "address_line": "Số 5, đường Lê Lợi",
            "commune_code": 5977,
            "commune_name": "Phường Đông Kinh",
            "province_code": 20,
            "province_name": "Lạng Sơn",
            "latitude": 21.8452,
            "longitude": 106.7612,
            "postage_vnd": 0,
            "agency_fee_vnd": 0,
            "created_at": now,
        }
        dossier_ids = (
            db.session.execute(
                insert(Dossier).returning(Dossier.id, sort_by_parameter_order=True),
                [{**common, "code": f"BENCH-{i:06d}"} for i in range(stops_needed)],
            )
            .scalars()
            .all()
        )
        codes = [make_envelope_code(90_000_000 + i, prefix="BH") for i in range(stops_needed)]
        envelope_ids = (
            db.session.execute(
                insert(Envelope).returning(Envelope.id, sort_by_parameter_order=True),
                [
                    {
                        "code": code,
                        "dossier_id": dossier_id,
                        "_state": "out_for_delivery",
                        "attempts_made": 0,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for code, dossier_id in zip(codes, dossier_ids, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        stop_ids = (
            db.session.execute(
                insert(RunStop).returning(RunStop.id, sort_by_parameter_order=True),
                [
                    {"run_id": run.id, "envelope_id": envelope_id, "position": i + 1}
                    for i, envelope_id in enumerate(envelope_ids)
                ],
            )
            .scalars()
            .all()
        )
        db.session.commit()
        key = config.QR_SIGNING_KEY
        stops = [
            Stop(stop_id, code, sign_envelope_qr(code, key))
            for stop_id, code in zip(stop_ids, codes, strict=True)
        ]
        db.session.remove()
        db.engine.dispose()
    return stops, "bench"


# --- Servers --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(name: str, app: str, env: dict, workers: int) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Server(name, process, url)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start")


def log_in(url: str, username: str) -> tuple[str, str]:
    """The session cookie header and a CSRF token for the postman, through the real form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # The phone logs in and sends its attempts with one browser's User-Agent; so does the bench
    # (Flask-Login ties the session to it: another one marks the session changed every time).
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(url + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token})
    opener.open(url + "/login", data=form.encode())
    session = json.loads(opener.open(url + "/api/v1/session").read())
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, session["csrf_token"]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


@dataclass
class Round:
    server: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    app_cpu_ms: float
    db_cpu_ms: float
    driver_cpu_ms: float


def drive(
    server: Server,
    path: str,
    bodies: Path,
    index: Path,
    boundary: str,
    cookie: str,
    csrf: str,
    seconds: int,
    connections: int,
    script: Path,
    profile: Path | None = None,
) -> Round:
    workers = [server.process.pid, *_children(server.process.pid)]
    postgres = _postgres_pids()
    app_before, db_before = _cpu_seconds(workers), _cpu_seconds(postgres)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        server.url + path,
        "--",
        str(bodies),
        str(index),
        path,
        boundary,
        cookie,
        csrf,
        USER_AGENT,
    ]
    spies = [
        subprocess.Popen(
            [
                str(VENV_BIN / "py-spy"),
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "100",
                "-f",
                "raw",
                "--nonblocking",
                "--gil",
                "-o",
                str(profile / f"{server.name}-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in (workers[1:] if profile else [])
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    for spy in spies:
        spy.wait()
    out = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    app_cpu = _cpu_seconds(workers) - app_before
    db_cpu = _cpu_seconds(_postgres_pids()) - db_before
    line = next((s for s in out.splitlines() if s.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out}\n{process.stderr.read()}")
    result = json.loads(line.removeprefix("WRK_JSON "))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = max(result["requests"], 1)
    return Round(
        server=server.name,
        rps=result["requests"] / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=result["errors"] + (int(non_2xx.group(1)) if non_2xx else 0),
        requests=result["requests"],
        app_cpu_ms=app_cpu * 1000 / requests,
        db_cpu_ms=db_cpu * 1000 / requests,
        driver_cpu_ms=(usage.ru_utime + usage.ru_stime) * 1000 / requests,
    )


# --- The run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="per round and server")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-rate", type=int, default=400, help="uploads/s prepared per round")
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample Trao's workers with py-spy during its rounds; folded stacks to this folder "
        "(summed by bench/profile_summary.py). Sampling costs the workers a little.",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/ingest.py needs wrk (Debian: apt-get install wrk)")
    if args.profile:
        if not (VENV_BIN / "py-spy").exists():
            sys.exit("--profile needs py-spy (.venv/bin/pip install py-spy)")
        args.profile.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="trao-ingest-"))
    name = f"trao_ingest_{os.getpid()}"
    db_url = f"{PG_ADMIN}/{name}"
    per_round = args.seconds * args.max_rate
    secret = secrets.token_hex(32)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "STORAGE_URL": str(work / "proofs"),
        "SECRET_KEY": secret,
        "TRAO_QR_KEY": secrets.token_hex(16),
        "TRAO_ID_HASH_KEY": secrets.token_hex(16),
        "BARE_DATABASE_URL": db_url,
        "BARE_STORAGE": str(work / "bare"),
    }
    _admin(f'CREATE DATABASE "{name}"')
    servers: list[Server] = []
    try:
        print(f"preparing {per_round * args.rounds} stops and the uploads…", flush=True)
        stops, username = prepare_database(db_url, env, per_round * args.rounds)
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as conn:
            from bench.bare_app import SCHEMA

            conn.execute(SCHEMA)
        uploads = Uploads(work)
        script = work / "upload.lua"
        script.write_text(WRK_SCRIPT)
        trao = start_server("trao", "wsgi:app", env, args.workers)
        bare = start_server("bare", "bench.bare_app:app", env, args.workers)
        servers = [trao, bare]
        cookie, csrf = log_in(trao.url, username)
        print(
            f"uploads of {len(uploads.photo) // 1024} KB photo + {len(uploads.signature) // 1024}"
            f" KB signature + 240 stroke points; wrk -t1 -c{args.connections}; "
            f"{args.workers} sync workers each; PostgreSQL",
            flush=True,
        )
        print(
            f"{'round':>5} {'server':>6} {'rps':>7} {'p50':>7} {'p99':>7} {'errors':>6} "
            f"{'app ms':>7} {'db ms':>6} {'wrk ms':>6} {'ratio':>6}"
        )
        rounds: list[tuple[Round, Round]] = []
        acknowledged = 0
        for number in range(1, args.rounds + 1):
            round_stops = stops[(number - 1) * per_round : number * per_round]
            results = {}
            order = [bare, trao] if number % 2 else [trao, bare]
            for server in order:
                # Bare gets uploads of the same shape (its own copies: nothing is sent twice).
                bodies, index = uploads.write(f"{server.name}-{number}", round_stops)
                path = "/api/v1/attempts" if server is trao else "/upload"
                results[server.name] = drive(
                    server,
                    path,
                    bodies,
                    index,
                    uploads.boundary,
                    cookie if server is trao else "",
                    csrf if server is trao else "",
                    args.seconds,
                    args.connections,
                    script,
                    profile=args.profile if server is trao else None,
                )
                if results[server.name].requests >= per_round:
                    print(f"warning: {server.name} used every prepared upload; raise --max-rate")
                bodies.unlink()
            t, b = results["trao"], results["bare"]
            acknowledged += t.requests - t.errors
            rounds.append((t, b))
            for r in (b, t):
                ratio = f"{t.rps / b.rps:6.2f}" if r is t else ""
                print(
                    f"{number:>5} {r.server:>6} {r.rps:7.1f} {r.p50_ms:6.1f}ms {r.p99_ms:6.1f}ms "
                    f"{r.errors:>6} {r.app_cpu_ms:7.1f} {r.db_cpu_ms:6.1f} {r.driver_cpu_ms:6.2f} "
                    f"{ratio}",
                    flush=True,
                )
        stored = _check_stored(db_url, work / "proofs")
        med = statistics.median
        summary = {
            "bare_rps": round(med(b.rps for _, b in rounds), 1),
            "trao_rps": round(med(t.rps for t, _ in rounds), 1),
            "ratio": round(med(t.rps / b.rps for t, b in rounds), 2),
            "trao_p50_ms": round(med(t.p50_ms for t, _ in rounds), 1),
            "trao_p99_ms": round(med(t.p99_ms for t, _ in rounds), 1),
            "trao_app_cpu_ms": round(med(t.app_cpu_ms for t, _ in rounds), 1),
            "bare_app_cpu_ms": round(med(b.app_cpu_ms for _, b in rounds), 1),
            "errors": sum(t.errors + b.errors for t, b in rounds),
            "stored_attempts": stored["attempts"],
            # wrk counts the answers it read; up to --connections requests per round were still
            # in flight when it stopped, and were stored all the same.
            "acknowledged": acknowledged,
            "stored_as_acknowledged": 0
            <= stored["attempts"] - acknowledged
            <= args.connections * args.rounds,
            "files_ok": stored["files_ok"],
        }
        print(json.dumps(summary))
    finally:
        for server in servers:
            server.stop()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def _check_stored(db_url: str, proofs: Path) -> dict:
    """Every attempt Trao stored has its two files, each under its SHA-256."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        attempts = conn.execute("SELECT count(*) FROM delivery_attempt").fetchone()[0]
        rows = conn.execute("SELECT sha256 FROM proof_file").fetchall()
    files_ok = len(rows) == 2 * attempts
    for (sha,) in rows[:: max(1, len(rows) // 200)]:  # a sample of 200, re-hashed
        path = proofs / sha[:2] / sha[2:4] / sha
        files_ok = (
            files_ok and path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha
        )
    return {"attempts": attempts, "files_ok": files_ok}


if __name__ == "__main__":
    main()
