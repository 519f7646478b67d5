"""The console at a province's scale: 1 million envelopes and 5 million events in PostgreSQL.

    .venv/bin/python bench/console_scale.py [--envelopes 1000000] [--events-per 5] [--keep]

Creates a PostgreSQL database (dropped at the end unless --keep), migrates it, seeds the demo
office's day (its supervisor `giamsat`, today's runs), then loads a year of history with COPY:
`--envelopes` dossiers and envelopes spread over 20 offices (the demo office among them, most
delivered, a few hundred waiting), and `--events-per` events for each. Then it times each
console page the supervisor (and the administrator) opens — median of 5 after a warm-up, in
process — and checks the plan of every SELECT the page ran: a sequential scan of a big table
(dossier, envelope, event, delivery_attempt) is reported. Prints a table; the last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
BIG_TABLES = {"dossier", "envelope", "event", "delivery_attempt", "run_stop", "proof_file"}
OFFICES = 20
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Nông", "Lương"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Quang"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hạnh", "Hùng", "Lan", "Mai", "Nam", "Phương", "Thắng"]


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def s10(serial: int, prefix: str = "RB") -> str:
    from backend.domain.codes import make_envelope_code

    return make_envelope_code(serial, prefix=prefix)


def load_history(db_url: str, envelopes: int, events_per: int, demo_office_id: int) -> None:
    """COPY a year of dossiers, envelopes and events over OFFICES offices."""
    import psycopg

    from backend.domain.names import fold_name

    rng = random.Random(2016)
    now = datetime.now(UTC)
    with psycopg.connect(db_url, autocommit=False) as conn:
        office_ids = [demo_office_id]
        agency_ids = {}
        for n in range(1, OFFICES):
            office_id = conn.execute(
                "INSERT INTO post_office (code, name, address, province_code, latitude, longitude,"
                " timezone, delivery_days_town, delivery_days_outlying, created_at) VALUES"
                " (%s, %s, 'Lạng Sơn', 20, 21.85, 106.76, 'Asia/Ho_Chi_Minh', 1, 3, now())"
                " RETURNING id",
                (f"25{n:04d}", f"Bưu cục {n}"),
            ).fetchone()[0]
            office_ids.append(office_id)
        for office_id in office_ids:
            agency_ids[office_id] = conn.execute(
                "INSERT INTO agency (code, name, province_code, post_office_id, created_at)"
                " VALUES (%s, %s, 20, %s, now()) RETURNING id",
                (f"SCALE-{office_id}", f"Cơ quan {office_id}", office_id),
            ).fetchone()[0]
        first_dossier = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM dossier").fetchone()[0]
        first_envelope = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM envelope").fetchone()[0]
        started = time.perf_counter()
        states = []
        with conn.cursor() as cur:
            with cur.copy(
                "COPY dossier (id, code, agency_id, post_office_id, procedure_code, procedure_name,"
                " result_type, applicant_name, recipient_name, recipient_name_folded,"
                " recipient_phone, recipient_id_last4, address_line, commune_code, commune_name,"
                " province_code, province_name, latitude, longitude, postage_vnd, agency_fee_vnd,"
                " promised_date, created_at) FROM STDIN"
            ) as copy:
                for i in range(envelopes):
                    office_id = office_ids[i % OFFICES]
                    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                    created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
                    copy.write_row(
                        (
                            first_dossier + i,
                            f"H{i:09d}",
                            agency_ids[office_id],
                            office_id,
                            "1.001751",
                            "Cấp thẻ Căn cước",
                            "citizen_id_card",
                            name,
                            name,
                            fold_name(name),
                            f"09{rng.randrange(10**8):08d}",
                            f"{rng.randrange(10**4):04d}",
                            f"Số {rng.randrange(1, 300)}, đường Lê Lợi",
                            5977,
                            "Phường Đông Kinh",
                            20,
                            "Lạng Sơn",
                            21.85 + rng.uniform(-0.1, 0.1),
                            106.76 + rng.uniform(-0.1, 0.1),
                            26000,
                            0,
                            (created + timedelta(days=5)).date(),
                            created,
                        )
                    )
                    roll = rng.random()
                    state = (
                        "delivered"
                        if roll < 0.955 or created < now - timedelta(days=30)
                        else "at_office"
                        if roll < 0.975
                        else "held_at_office"
                        if roll < 0.985
                        else "returned_to_agency"
                    )
                    states.append((state, created))
            with cur.copy(
                "COPY envelope (id, code, dossier_id, state, attempts_made, version, created_at,"
                " updated_at) FROM STDIN"
            ) as copy:
                for i, (state, created) in enumerate(states):
                    attempts = 1 if state == "delivered" else rng.randrange(0, 3)
                    copy.write_row(
                        (
                            first_envelope + i,
                            s10(50_000_000 + i),
                            first_dossier + i,
                            state,
                            attempts,
                            1,
                            created,
                            created,
                        )
                    )
            path = [
                ("envelope.register", None, "registered"),
                ("envelope.receive", "registered", "at_office"),
                ("envelope.load", "at_office", "out_for_delivery"),
                ("envelope.deliver", "out_for_delivery", "delivered"),
                ("envelope.note", None, None),
            ]
            with cur.copy(
                "COPY event (kind, dossier_id, envelope_id, from_state, to_state, actor_kind,"
                " occurred_at, data) FROM STDIN"
            ) as copy:
                for i, (_state, created) in enumerate(states):
                    for step in range(events_per):
                        kind, before, after = path[step % len(path)]
                        copy.write_row(
                            (
                                kind,
                                first_dossier + i,
                                first_envelope + i,
                                before,
                                after,
                                "user",
                                created + timedelta(hours=step * 6),
                                "{}",
                            )
                        )
        for table in ("dossier", "envelope"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        print(
            f"loaded {envelopes:,} envelopes and {envelopes * events_per:,} events in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )


def page_plans(app, client, url: str) -> tuple[list[float], list[str]]:
    """Time the page (median of 5 after one warm-up) and EXPLAIN what it ran."""
    from sqlalchemy import event

    from backend.extensions import db

    statements: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            statements.append((statement, parameters))

    response = client.get(url)
    if response.status_code != 200:
        return [], [f"answered {response.status_code}"]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        assert client.get(url).status_code == 200
        times.append((time.perf_counter() - start) * 1000)
    event.listen(engine, "before_cursor_execute", remember)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    scans = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for statement, parameters in statements:
            plan = raw.execute("EXPLAIN (FORMAT JSON) " + statement, parameters).fetchone()[0]
            for node in _nodes(plan[0]["Plan"]):
                if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
                    scans.append(f"Seq Scan on {node['Relation Name']}")
    return times, sorted(set(scans))


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envelopes", type=int, default=1_000_000)
    parser.add_argument("--events-per", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = f"trao_scale_{os.getpid()}"
    db_url = f"{PG_ADMIN}/{name}"
    os.environ.update(
        DATABASE_URL=db_url,
        SECRET_KEY=secrets.token_hex(32),
        STORAGE_URL=f"/tmp/{name}-proofs",
    )
    _admin(f'CREATE DATABASE "{name}"')
    try:
        from flask_migrate import upgrade

        from backend import create_app
        from backend.clock import now
        from backend.config import Config
        from backend.demo.seed import DEMO_PASSWORD, seed_base, seed_day
        from backend.extensions import db

        config = Config()
        config.WTF_CSRF_ENABLED = False
        app = create_app(config)
        with app.app_context():
            upgrade()
            office = seed_base(config, now())
            seed_day(config, office, now())
            db.session.commit()
            office_id = office.id
            db.session.remove()
        load_history(db_url, args.envelopes, args.events_per, office_id)
        with app.app_context():
            sample = db.session.execute(
                db.text(
                    "SELECT e.code, d.recipient_phone FROM envelope e JOIN dossier d"
                    " ON d.id = e.dossier_id WHERE d.post_office_id = :office"
                    " ORDER BY e.id DESC LIMIT 1"
                ),
                {"office": office_id},
            ).one()
            urls = [rule.rule for rule in app.url_map.iter_rules()]
            db.session.remove()
        pages = [
            "/console",
            "/console/receive",
            f"/console/search?q={sample.code}",
            f"/console/search?q={sample.recipient_phone}",
            "/console/search?q=thi lan",
            f"/console/envelopes/{sample.code}",
        ]
        # Pages other work may add; measured when the app has them.
        for extra in ("/console/plan", "/console/live", "/console/exceptions", "/console/users"):
            if extra in urls:
                pages.append(extra)
        results = {}
        print(f"{'user':<8} {'page':<44} {'median':>8} {'max':>8}  plan")
        for username in ("giamsat", "admin"):
            client = app.test_client()
            client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
            for url in pages:
                times, scans = page_plans(app, client, url)
                if not times:
                    print(f"{username:<8} {url:<44} {'—':>8} {'—':>8}  {scans[0]}")
                    continue
                median = statistics.median(times)
                results[f"{username} {url}"] = round(median, 1)
                shown = re.sub(r"q=.*", "q=…", url) if "search" in url else url
                print(
                    f"{username:<8} {shown:<44} {median:7.1f}ms {max(times):7.1f}ms  "
                    f"{', '.join(scans) or 'indexes only'}",
                    flush=True,
                )
        print(
            json.dumps(
                {
                    "envelopes": args.envelopes,
                    "events": args.envelopes * args.events_per,
                    "median_ms": results,
                    "worst_ms": max(results.values()),
                }
            )
        )
    finally:
        if not args.keep:
            from backend.extensions import db as _db

            try:
                with app.app_context():
                    _db.engine.dispose()
            except Exception:
                pass
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
