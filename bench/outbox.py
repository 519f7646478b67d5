"""The outbox's throughput: events per second delivered to an agency's receiver on loopback,
with one worker and with two, on PostgreSQL and the Redis queue.

    .venv/bin/python bench/outbox.py [--dossiers 500] [--workers 1 2] [--batch 20]

Creates a PostgreSQL database (dropped at the end), registers `--dossiers` dossiers of two
envelopes for an agency with a webhook (each dossier gives its messages: the dossier's and
each envelope's registration), then for each worker count puts every message back to pending,
starts Huey's consumer with that many threads, wakes it once, and times until the last message
is recorded as sent. The receiver runs in its own process (HTTP/1.1, keep-alive), checks every
signature and answers 204; it counts deliveries by event id (none twice). Prints a table; the
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from datetime import date
from multiprocessing import Event, Process, Queue
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
os.environ.setdefault("TRAO_QUEUE_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("TRAO_QUEUE_NAME", f"trao-bench-{secrets.token_hex(4)}")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def receive(secret: str, port_out: Queue, stop: Event, counts: Queue) -> None:
    """The agency's server, in a process of its own."""
    from collections import Counter
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from backend.outbox.signing import (
        EVENT_ID_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        verify,
    )

    seen: Counter = Counter()
    bad = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ok = verify(
                secret,
                self.headers.get(TIMESTAMP_HEADER),
                self.headers.get(SIGNATURE_HEADER),
                body,
                now=time.time(),
            )
            if ok:
                seen[int(self.headers[EVENT_ID_HEADER])] += 1
            else:
                bad[0] += 1
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # the bench asks for the counts
            counts.put((sum(seen.values()), len(seen), max(seen.values(), default=0), bad[0]))
            seen.clear()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()


def seed(app, dossiers: int, url: str):
    from backend.agency_api.services import register_dossier
    from backend.extensions import db
    from backend.models import Agency, PostOffice

    office = PostOffice(
        code="240001",
        name="Bưu cục bench",
        address="Lạng Sơn",
        province_code=20,
        latitude=21.85,
        longitude=106.76,
    )
    agency = Agency(
        code="BENCH",
        name="Cơ quan bench",
        province_code=20,
        post_office=office,
        webhook_url=url,
        webhook_secret_salt=secrets.token_hex(8),
    )
    db.session.add_all([office, agency])
    db.session.flush()
    from backend import clock

    now = clock.now()
    for n in range(dossiers):
        register_dossier(
            agency,
            {
                "code": f"BENCH-{n:06d}",
                "procedure_code": "1.001751",
                "procedure_name": "Cấp thẻ Căn cước",
                "result_type": "citizen_id_card",
                "applicant_name": "Nguyễn Văn An",
                "recipient_name": "Nguyễn Văn An",
                "recipient_phone": "0912345678",
                "address_line": "Số 5, đường Lê Lợi",
                "commune_code": 5977,
                "commune_name": "Phường Đông Kinh",
                "province_code": 20,
                "province_name": "Lạng Sơn",
                "postage_vnd": 26_000,
                "promised_date": date(2026, 11, 24),
            },
            envelope_count=2,
            now=now,
            id_key=app.config["ID_HASH_KEY"],
            code_prefix="HC",
            recipient_id_number="020090123456",
        )
    db.session.commit()
    return agency.webhook_secret(app.config["WEBHOOK_KEY"]), agency.id


def run_once(app, huey, workers: int, total: int) -> float:
    from sqlalchemy import func, select, update

    from backend.extensions import db
    from backend.models import OutboxMessage
    from backend.outbox import tasks

    db.session.execute(
        update(OutboxMessage).values(
            status="pending", tries=0, sent_at=None, claimed_until=None, claim_token=None
        )
    )
    db.session.commit()
    huey.flush()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.01,
        max_delay=0.05,
        check_worker_health=False,
    )
    consumer.start()
    started = time.perf_counter()
    tasks.kick()
    sent = 0
    while sent < total:
        time.sleep(0.02)
        db.session.rollback()
        sent = db.session.execute(
            select(func.count()).where(OutboxMessage.status == "sent")
        ).scalar()
    elapsed = time.perf_counter() - started
    consumer.stop(graceful=True)
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()

    from urllib.request import urlopen

    from sqlalchemy import func, select

    from backend import create_app
    from backend.config import Config
    from backend.extensions import db
    from backend.models import OutboxMessage
    from backend.outbox import tasks

    name = f"trao_bench_outbox_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    port_q: Queue = Queue()
    counts_q: Queue = Queue()
    stop = Event()
    receiver = None
    try:
        config = Config()
        config.SQLALCHEMY_DATABASE_URI = (
            f"{PG_ADMIN.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
        )
        config.TRAO_OUTBOX_ENQUEUE = False  # the bench wakes the workers itself, once a round
        config.TRAO_WEBHOOK_BATCH = args.batch
        app = create_app(config)
        tasks.use_app(app)
        results = []
        with app.app_context():
            db.create_all()
            # The secret is known once the agency exists: start the receiver after seeding on
            # a placeholder URL, then point the agency at it.
            secret, agency_id = seed(app, args.dossiers, "http://127.0.0.1:9/")
            receiver = Process(target=receive, args=(secret, port_q, stop, counts_q), daemon=True)
            receiver.start()
            port = port_q.get(timeout=10)
            from backend.models import Agency

            db.session.get(Agency, agency_id).webhook_url = f"http://127.0.0.1:{port}/hook"
            db.session.commit()
            total = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar()
            for workers in args.workers:
                elapsed = run_once(app, tasks.huey, workers, total)
                urlopen(f"http://127.0.0.1:{port}/counts").read()
                deliveries, distinct, most, bad = counts_q.get(timeout=10)
                assert deliveries == distinct == total and most == 1 and bad == 0, (
                    deliveries,
                    distinct,
                    most,
                    bad,
                )
                results.append(
                    {
                        "workers": workers,
                        "events": total,
                        "seconds": round(elapsed, 2),
                        "events_per_second": round(total / elapsed, 1),
                    }
                )
            db.session.remove()
            db.engine.dispose()
        tasks.huey.flush()
        print(f"{'workers':>8} {'events':>8} {'seconds':>8} {'events/s':>9}")
        for row in results:
            print(
                f"{row['workers']:>8} {row['events']:>8} {row['seconds']:>8} "
                f"{row['events_per_second']:>9}"
            )
        print(json.dumps({"batch": args.batch, "results": results}))
    finally:
        stop.set()
        if receiver is not None:
            receiver.join(timeout=5)
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
