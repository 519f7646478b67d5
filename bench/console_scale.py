"""The console at a province's scale: a year of 1 million envelopes in PostgreSQL, with their
events, runs, stops and attempts.

    .venv/bin/python bench/console_scale.py [--envelopes 1000000] [--events-per 5] [--repeat 7]
        [--keep | --database NAME]

Creates a PostgreSQL database (dropped at the end unless --keep), migrates it, seeds the demo
office's day (its supervisor `giamsat`, today's runs), then loads a year of history with COPY
(`load_history`): `--envelopes` dossiers and envelopes spread over 20 offices of 7 postmen,
`--events-per` lifecycle events each, a run per postman and day (about 51,000), a stop for
each home attempt (about 1.14 million stops and attempts, 16 % failed, 4 % of the deliveries
flagged; a signature and a photo's rows for each delivery), the exceptions mostly
resolved, a few refusals on sync; today's runs at the 19 other
offices in progress. Then it opens each main console page as the supervisor and as the
administrator — median of `--repeat` after a warm-up, in process — and EXPLAIN ANALYZEs every
SELECT the page ran: the rows its scans read, the indexes used, any sequential scan of a big
table. Prints a table; the last line is one JSON object. `--database` measures a database an
earlier `--keep` left, without loading (for trying a fix: about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
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


POSTMEN = 7  # per office: a run each working day
HISTORY_DAYS = 365
TZ = "Asia/Ho_Chi_Minh"
MAX_HOME_ATTEMPTS = 2  # backend.domain.policy's default
STOP_MINUTES = 12  # a run's stops come about this far apart from 08:00
REASONS = ["not_home", "not_home", "phone_unreachable", "refused", "moved", "wrong_address"]
FLAGS = ["weak_identity", "far_from_address", "poor_position", "clock_gap", "position_dropped"]


def _users(conn, office_ids: list[int], demo_office_id: int) -> tuple[dict, dict]:
    """POSTMEN postmen and a supervisor per office (the demo's own ones first)."""
    postmen, supervisors = {}, {}
    for office_id in office_ids:
        rows = conn.execute(
            "SELECT id, role FROM user_account WHERE post_office_id = %s ORDER BY id", (office_id,)
        ).fetchall()
        postmen[office_id] = [uid for uid, role in rows if role == "postman"]
        supervisors[office_id] = next((uid for uid, role in rows if role == "supervisor"), None)
        for n in range(len(postmen[office_id]), POSTMEN):
            name = f"{FAMILY[n % len(FAMILY)]} Văn Bưu {n}"
            postmen[office_id].append(
                conn.execute(
                    "INSERT INTO user_account (username, password_hash, full_name, role,"
                    " post_office_id, active, is_demo, created_at) VALUES"
                    " (%s, '!', %s, 'postman', %s, true, false, now()) RETURNING id",
                    (f"scale-{office_id}-{n}", name, office_id),
                ).fetchone()[0]
            )
        if supervisors[office_id] is None:
            supervisors[office_id] = conn.execute(
                "INSERT INTO user_account (username, password_hash, full_name, role,"
                " post_office_id, active, is_demo, created_at) VALUES"
                " (%s, '!', %s, 'supervisor', %s, true, false, now()) RETURNING id",
                (f"scale-{office_id}-sup", f"Giám sát {office_id}", office_id),
            ).fetchone()[0]
    return postmen, supervisors


def _story(rng: random.Random, first_day: int) -> tuple[list[int], int]:
    """An envelope's planned home attempts: their days (indices from the first day of the
    history; the caller stops at today) and how many fail before the one that delivers
    (MAX_HOME_ATTEMPTS: none delivers)."""
    roll = rng.random()
    failures = 0 if roll < 0.86 else 1 if roll < 0.96 else MAX_HOME_ATTEMPTS
    days = [first_day]
    for _ in range(min(failures, MAX_HOME_ATTEMPTS - 1)):
        days.append(days[-1] + rng.choice((1, 1, 2)))
    return days, failures


def load_history(db_url: str, envelopes: int, events_per: int, demo_office_id: int) -> dict:
    """COPY a year of dossiers, envelopes, events, runs, stops and attempts over OFFICES offices.

    Each office has POSTMEN postmen, each with a run on each of the HISTORY_DAYS days before
    today (and today, at the offices other than the demo's, whose day the demo seeds). Each
    envelope goes out the day after it was registered or the next, on a random postman's run:
    86 % delivered at the first attempt, 10 % at the second, 4 % fail twice and are held at the
    office (collected or returned later); about 5 % of the deliveries are flagged for review.
    Exceptions older than two days are mostly resolved (an `exception.resolve` event), and a
    few attempts were refused on sync (`attempt.refused`). Returns the row counts.
    """
    import uuid
    from zoneinfo import ZoneInfo

    import psycopg

    from backend.clock import local_date
    from backend.domain.names import fold_name

    rng = random.Random(2016)
    now = datetime.now(UTC)
    zone = ZoneInfo(TZ)
    today = local_date(now, TZ)
    day0 = today - timedelta(days=HISTORY_DAYS)
    counts: dict[str, int] = {}
    with psycopg.connect(db_url, autocommit=False) as conn:
        office_ids = [demo_office_id]
        agency_ids = {}
        for n in range(1, OFFICES):
            office_id = conn.execute(
                "INSERT INTO post_office (code, name, address, province_code, latitude, longitude,"
                " timezone, delivery_days_town, delivery_days_outlying, created_at) VALUES"
                " (%s, %s, 'Lạng Sơn', 20, 21.85, 106.76, %s, 1, 3, now())"
                " RETURNING id",
                (f"25{n:04d}", f"Bưu cục {n}", TZ),
            ).fetchone()[0]
            office_ids.append(office_id)
        for office_id in office_ids:
            agency_ids[office_id] = conn.execute(
                "INSERT INTO agency (code, name, province_code, post_office_id, created_at)"
                " VALUES (%s, %s, 20, %s, now()) RETURNING id",
                (f"SCALE-{office_id}", f"Cơ quan {office_id}", office_id),
            ).fetchone()[0]
        postmen, supervisors = _users(conn, office_ids, demo_office_id)

        def first_id(table: str) -> int:
            return conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]

        first_dossier, first_envelope = first_id("dossier"), first_id("envelope")
        first_run, first_stop = first_id("delivery_run"), first_id("run_stop")
        started = time.perf_counter()
        envelope_rows = []  # (state, attempts made, created, updated)
        runs: dict[tuple[int, int, int], int] = {}  # (office, day, postman) -> run id
        filled: dict[int, int] = {}  # run id -> stops so far
        stops = []  # (stop id, run id, envelope id, position)
        attempts = []
        today_index = HISTORY_DAYS

        def at(day: int, minutes: float) -> datetime:
            local = datetime.combine(day0 + timedelta(days=day), datetime.min.time(), zone)
            return local + timedelta(hours=8, minutes=minutes)

        with conn.cursor() as cur:
            with cur.copy(
                "COPY dossier (id, code, agency_id, post_office_id, procedure_code, procedure_name,"
                " result_type, applicant_name, recipient_name, recipient_name_folded,"
                " recipient_phone, recipient_id_last4, address_line, commune_code, commune_name,"
                " province_code, province_name, latitude, longitude, postage_vnd, agency_fee_vnd,"
                " promised_date, created_at) FROM STDIN"
            ) as copy:
                # Oldest first, as the rows would have come: a table's recent rows sit together.
                ages = sorted(
                    (rng.randrange(HISTORY_DAYS * 24 * 60) for _ in range(envelopes)), reverse=True
                )
                for i in range(envelopes):
                    office_id = office_ids[i % OFFICES]
                    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                    created = now - timedelta(minutes=ages[i])
                    lat = 21.85 + rng.uniform(-0.1, 0.1)
                    lon = 106.76 + rng.uniform(-0.1, 0.1)
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
                            lat,
                            lon,
                            26000,
                            0,
                            (created + timedelta(days=5)).date(),
                            created,
                        )
                    )
                    # Its story: the runs it went out on, what happened at the door.
                    envelope_id = first_envelope + i
                    first_day = (local_date(created, TZ) - day0).days + rng.choice((1, 1, 2))
                    days, failures = _story(rng, first_day)
                    made, state, updated = 0, "at_office", created
                    for number, day in enumerate(days, start=1):
                        demo_today = day == today_index and office_id == demo_office_id
                        if day > today_index or demo_today:
                            break
                        who = rng.randrange(POSTMEN)
                        key = (office_id, day, who)
                        run_id = runs.setdefault(key, first_run + len(runs))
                        position = filled[run_id] = filled.get(run_id, 0) + 1
                        stop_id = first_stop + len(stops)
                        stops.append((stop_id, run_id, envelope_id, position))
                        when = at(day, position * STOP_MINUTES + rng.uniform(0, 5))
                        if when >= now:
                            state = "out_for_delivery"
                            break
                        delivered = number > failures
                        flags = []
                        if delivered and rng.random() < 0.05:
                            flags = [rng.choice(FLAGS)]
                        attempts.append(
                            (
                                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                envelope_id,
                                run_id,
                                stop_id,
                                postmen[office_id][who],
                                number,
                                "delivered" if delivered else "failed",
                                None if delivered else rng.choice(REASONS),
                                "qr",
                                name if delivered else None,
                                "holder" if delivered else None,
                                "chip_qr" if delivered else None,
                                lat + rng.gauss(0, 0.0002),
                                lon + rng.gauss(0, 0.0002),
                                rng.uniform(200, 900)
                                if "poor_position" in flags
                                else rng.uniform(4, 40),
                                rng.uniform(300, 3000)
                                if "far_from_address" in flags
                                else rng.uniform(0, 80),
                                "far_from_address" in flags,
                                when - timedelta(seconds=rng.randrange(5, 90)),
                                when,
                                f"{rng.getrandbits(256):064x}",
                                json.dumps(flags),
                                bool(flags),
                                office_id,
                            )
                        )
                        made, updated = number, when
                        state = "delivered" if delivered else "attempt_failed"
                    if made == MAX_HOME_ATTEMPTS and state == "attempt_failed":
                        state = "held_at_office"
                        if updated < now - timedelta(days=10):
                            state = rng.choice(("collected", "collected", "returned_to_agency"))
                    envelope_rows.append((state, made, created, updated))
            with cur.copy(
                "COPY envelope (id, code, dossier_id, state, attempts_made, version, created_at,"
                " updated_at) FROM STDIN"
            ) as copy:
                for i, (state, made, created, updated) in enumerate(envelope_rows):
                    copy.write_row(
                        (
                            first_envelope + i,
                            s10(50_000_000 + i),
                            first_dossier + i,
                            state,
                            made,
                            1,
                            created,
                            updated,
                        )
                    )
            with cur.copy(
                "COPY delivery_run (id, post_office_id, postman_id, run_date, state, created_at,"
                " started_at, closed_at) FROM STDIN"
            ) as copy:
                for (office_id, day, who), run_id in runs.items():
                    going = day == today_index
                    copy.write_row(
                        (
                            run_id,
                            office_id,
                            postmen[office_id][who],
                            day0 + timedelta(days=day),
                            "in_progress" if going else "closed",
                            at(day, -60),
                            at(day, 0),
                            None if going else at(day, 9 * 60),
                        )
                    )
            with cur.copy(
                "COPY run_stop (id, run_id, envelope_id, position, visit) FROM STDIN"
            ) as copy:
                for stop_id, run_id, envelope_id, position in stops:
                    copy.write_row((stop_id, run_id, envelope_id, position, position))
            attempts.sort(key=lambda row: row[18])  # as they were received
            with cur.copy(
                "COPY delivery_attempt (id, envelope_id, run_id, stop_id, postman_id,"
                " attempt_number, outcome, reason_code, scan_method, recipient_name, relation,"
                " id_check_method, latitude, longitude, accuracy_m, distance_m, distance_flagged,"
                " device_time, received_at, fees_collected_vnd, meta_digest, review_flags,"
                " needs_review) FROM STDIN"
            ) as copy:
                for row in attempts:
                    copy.write_row((*row[:19], 0, *row[19:22]))
            # A delivered attempt's proof: the signature and a photo (rows only, no files).
            files = 0
            with cur.copy(
                "COPY proof_file (attempt_id, kind, sha256, content_type, size_bytes, width,"
                " height) FROM STDIN"
            ) as copy:
                for row in attempts:
                    if row[6] == "delivered":
                        files += 2
                        copy.write_row(
                            (
                                row[0],
                                "signature",
                                f"{rng.getrandbits(256):064x}",
                                "image/png",
                                16_000,
                                600,
                                300,
                            )
                        )
                        copy.write_row(
                            (
                                row[0],
                                "photo",
                                f"{rng.getrandbits(256):064x}",
                                "image/jpeg",
                                340_000,
                                1280,
                                960,
                            )
                        )
            path = [
                ("envelope.register", None, "registered"),
                ("envelope.receive", "registered", "at_office"),
                ("envelope.load", "at_office", "out_for_delivery"),
                ("envelope.deliver", "out_for_delivery", "delivered"),
                ("envelope.note", None, None),
            ]
            resolved = refused = 0
            with cur.copy(
                "COPY event (kind, dossier_id, envelope_id, from_state, to_state, actor_id,"
                " actor_kind, occurred_at, data) FROM STDIN"
            ) as copy:
                for i, (_state, _made, created, _updated) in enumerate(envelope_rows):
                    for step in range(events_per):
                        kind, before, after = path[step % len(path)]
                        copy.write_row(
                            (
                                kind,
                                first_dossier + i,
                                first_envelope + i,
                                before,
                                after,
                                None,
                                "user",
                                created + timedelta(hours=step * 6),
                                "{}",
                            )
                        )
                # Exceptions: most resolved with a note within a day or two, fewer lately.
                for row in attempts:
                    if row[6] != "failed" and not row[21]:
                        continue
                    received = row[18]
                    share = 0.95 if received < now - timedelta(days=2) else 0.3
                    if rng.random() >= share:
                        continue
                    resolved += 1
                    envelope_id, office_id = row[1], row[22]
                    kinds = (["failed_attempt"] if row[6] == "failed" else []) + json.loads(row[20])
                    copy.write_row(
                        (
                            "exception.resolve",
                            envelope_id - first_envelope + first_dossier,
                            envelope_id,
                            None,
                            None,
                            supervisors[office_id],
                            "user",
                            min(now, received + timedelta(hours=rng.uniform(1, 40))),
                            json.dumps(
                                {"subject": f"attempt:{row[0]}", "kinds": kinds, "note": "Đã gọi"}
                            ),
                        )
                    )
                # Attempts refused on sync: a few a week at each office.
                for day in range(HISTORY_DAYS + 1):
                    for office_id in office_ids:
                        if rng.random() < 0.4:
                            refused += 1
                            copy.write_row(
                                (
                                    "attempt.refused",
                                    None,
                                    None,
                                    None,
                                    None,
                                    rng.choice(postmen[office_id]),
                                    "user",
                                    min(now, at(day, rng.uniform(0, 540))),
                                    json.dumps({"code": "not_on_your_run", "fields": []}),
                                )
                            )
        for table in ("dossier", "envelope", "delivery_run", "run_stop"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        conn.commit()
        counts = {
            "envelopes": envelopes,
            "events": envelopes * events_per + resolved + refused,
            "runs": len(runs),
            "stops": len(stops),
            "attempts": len(attempts),
            "proof_files": files,
            "failed": sum(1 for row in attempts if row[6] == "failed"),
            "flagged": sum(1 for row in attempts if row[21]),
            "resolutions": resolved,
            "refusals": refused,
        }
        loaded = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        counts["load_s"] = round(loaded)
        counts["vacuum_s"] = round(time.perf_counter() - started - loaded)
        print(
            "loaded "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items() if not k.endswith("_s"))
            + f" in {loaded:.0f} s (VACUUM ANALYZE {counts['vacuum_s']} s)",
            flush=True,
        )
    return counts


@dataclass
class Measured:
    """A page's times and what its SELECTs did, from EXPLAIN ANALYZE."""

    times: list[float] = field(default_factory=list)
    statements: int = 0
    rows: int = 0  # rows the scans read (returned and filtered out), over every loop
    indexes: set[str] = field(default_factory=set)
    seq_scans: set[str] = field(default_factory=set)  # of BIG_TABLES
    error: str = ""


def measure(app, client, url: str, repeat: int) -> Measured:
    """Time the page (median of `repeat` after one warm-up) and EXPLAIN ANALYZE what it ran."""
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
        return Measured(error=f"answered {response.status_code}")
    out = Measured()
    for _ in range(repeat):
        start = time.perf_counter()
        assert client.get(url).status_code == 200
        out.times.append((time.perf_counter() - start) * 1000)
    event.listen(engine, "before_cursor_execute", remember)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    out.statements = len(statements)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for statement, parameters in statements:
            plan = raw.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
            ).fetchone()[0]
            for node in _nodes(plan[0]["Plan"]):
                if node.get("Index Name"):
                    out.indexes.add(node["Index Name"])
                relation = node.get("Relation Name")
                if relation is None:
                    continue  # not a scan (a bitmap's rows are counted at its heap scan)
                loops = node.get("Actual Loops", 1)
                out.rows += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * (
                    loops
                )
                if node["Node Type"] == "Seq Scan" and relation in BIG_TABLES:
                    out.seq_scans.add(relation)
    return out


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def samples(app, office_id: int) -> dict:
    """Envelopes, people and records of the demo office the pages are opened on."""
    from backend.extensions import db

    def one(sql: str, **params):
        return db.session.execute(db.text(sql), {"office": office_id, **params}).first()

    with app.app_context():
        latest = one(
            "SELECT e.code, d.recipient_phone FROM envelope e JOIN dossier d"
            " ON d.id = e.dossier_id WHERE d.post_office_id = :office ORDER BY e.id DESC LIMIT 1"
        )
        # A failed attempt of last week, not resolved: its envelope's page shows the exception.
        open_exception = one(
            "SELECT e.code FROM delivery_attempt a JOIN envelope e ON e.id = a.envelope_id"
            " JOIN dossier d ON d.id = e.dossier_id WHERE d.post_office_id = :office"
            " AND a.outcome = 'failed' AND a.received_at > now() - interval '7 days'"
            " AND NOT EXISTS (SELECT 1 FROM event r WHERE r.envelope_id = e.id"
            " AND r.kind = 'exception.resolve') ORDER BY a.received_at DESC LIMIT 1"
        )
        # A year-old envelope delivered at the second attempt: events and two attempts.
        old = one(
            "SELECT e.code FROM envelope e JOIN dossier d ON d.id = e.dossier_id"
            " WHERE d.post_office_id = :office AND e.attempts_made = 2"
            " AND e.state = 'delivered' ORDER BY e.id LIMIT 1"
        )
        user = one("SELECT id FROM user_account WHERE post_office_id = :office ORDER BY id DESC")
        agency = one("SELECT id FROM agency ORDER BY id DESC")
        handover = one("SELECT id FROM handover WHERE post_office_id = :office ORDER BY id")
        run = one(
            "SELECT id FROM delivery_run WHERE post_office_id = :office"
            " ORDER BY run_date DESC, id LIMIT 1"
        )
        db.session.remove()
    return {
        "code": latest.code,
        "phone": latest.recipient_phone,
        "exception_code": open_exception.code if open_exception else None,
        "old_code": old.code if old else None,
        "user_id": user.id if user else None,
        "agency_id": agency.id if agency else None,
        "handover_id": handover.id if handover else None,
        "run_id": run.id if run else None,
    }


def pages_for(sample: dict) -> list[tuple[str, str]]:
    """(label, URL) of each page timed; the administrator's pages only for the administrator."""
    pages = [
        ("home", "/console"),
        ("receive", "/console/receive"),
        ("plan", "/console/plan"),
        ("live", "/console/live"),
        ("live JSON", "/console/live.json"),
        ("exceptions queue", "/console/exceptions"),
        ("search: envelope code", f"/console/search?q={sample['code']}"),
        ("search: phone", f"/console/search?q={sample['phone']}"),
        ("search: name without diacritics", "/console/search?q=thi lan"),
        ("envelope (today's)", f"/console/envelopes/{sample['code']}"),
    ]
    if sample["exception_code"]:
        pages.append(
            ("envelope with an open exception", f"/console/envelopes/{sample['exception_code']}")
        )
    if sample["old_code"]:
        pages.append(
            ("envelope, a year old, 2 attempts", f"/console/envelopes/{sample['old_code']}")
        )
    if sample["handover_id"]:
        pages.append(("hand-over", f"/console/receive/{sample['handover_id']}"))
    if sample["run_id"]:
        pages.append(("closing a run", f"/console/runs/{sample['run_id']}/close"))
    year_ago = (datetime.now(UTC) + timedelta(hours=7) - timedelta(days=365)).date()
    pages += [
        ("held at the office", "/console/held"),
        ("returns due to the agencies", "/console/returns"),
        ("the counter", "/console/counter"),
        ("report: this month, by agency", "/console/reports"),
        ("report: this month, by postman", "/console/reports?group=postman"),
        ("report: a year, by office", f"/console/reports?group=office&from={year_ago}"),
        ("report: this month, summary CSV", "/console/reports/export.csv"),
        ("admin: users", "/console/users"),
        ("admin: a user", f"/console/users/{sample['user_id']}"),
        ("admin: agencies", "/console/agencies"),
        ("admin: an agency", f"/console/agencies/{sample['agency_id']}"),
    ]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Needs PostgreSQL (BENCH_PG, default postgresql://postgres@127.0.0.1:5432). The"
        " default load took 14 min on the project's 2-core machine beside other work (see"
        " bench/RESULTS.md); --envelopes 20000 takes under a minute.",
    )
    parser.add_argument("--envelopes", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument(
        "--events-per", type=int, default=5, help="lifecycle events per envelope (default 5)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed loads per page (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database",
        help="measure this existing database (kept by an earlier --keep) instead of loading one",
    )
    args = parser.parse_args()
    name = args.database or f"trao_scale_{os.getpid()}"
    db_url = f"{PG_ADMIN}/{name}"
    os.environ.update(
        DATABASE_URL=db_url,
        SECRET_KEY=secrets.token_hex(32),
        STORAGE_URL=f"/tmp/{name}-proofs",
    )
    if not args.database:
        _admin(f'CREATE DATABASE "{name}"')
    app = None
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
        counts = {}
        with app.app_context():
            upgrade()
            if args.database:
                office_id = db.session.execute(
                    db.text("SELECT post_office_id FROM user_account WHERE username = 'giamsat'")
                ).scalar_one()
            else:
                office = seed_base(config, now())
                seed_day(config, office, now())
                db.session.commit()
                office_id = office.id
            db.session.remove()
        if not args.database:
            counts = load_history(db_url, args.envelopes, args.events_per, office_id)
        sample = samples(app, office_id)
        pages = pages_for(sample)
        results = {}
        print(f"{'user':<8} {'page':<36} {'median':>9} {'max':>9} {'rows':>8}  plan")
        for username in ("giamsat", "admin"):
            client = app.test_client()
            client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
            for label, url in pages:
                if label.startswith("admin") and username != "admin":
                    continue
                got = measure(app, client, url, args.repeat)
                if got.error:
                    print(f"{username:<8} {label:<36} {got.error}")
                    continue
                median = statistics.median(got.times)
                results[f"{username} {label}"] = {
                    "ms": round(median, 1),
                    "max_ms": round(max(got.times), 1),
                    "statements": got.statements,
                    "rows": got.rows,
                    "indexes": sorted(got.indexes),
                    "seq_scans": sorted(got.seq_scans),
                }
                scans = ", ".join(f"Seq Scan on {t}" for t in sorted(got.seq_scans))
                print(
                    f"{username:<8} {label:<36} {median:7.1f}ms {max(got.times):7.1f}ms"
                    f" {got.rows:>8}  {scans or 'indexes only'}; {', '.join(sorted(got.indexes))}",
                    flush=True,
                )
        print(
            json.dumps(
                {
                    "loaded": counts,
                    "repeat": args.repeat,
                    "pages": results,
                    "worst_ms": max(r["ms"] for r in results.values()),
                }
            )
        )
    finally:
        if app is not None:
            from backend.extensions import db as _db

            try:
                with app.app_context():
                    _db.engine.dispose()
            except Exception:
                pass
        if not args.keep and not args.database:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
