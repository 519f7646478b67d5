"""The stack's own ceiling for receiving a proof: the least the job needs, nothing of Trao.

Parses the same multipart (a JSON `meta` and the image files), checks each file's SHA-256
against the meta, writes each file and fsyncs it, and inserts one row in PostgreSQL. Served by
gunicorn beside Trao in bench/ingest.py:

    BARE_DATABASE_URL=postgresql://... BARE_STORAGE=/tmp/x gunicorn -w 2 bench.bare_app:app
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import psycopg
from flask import Flask, abort, jsonify, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
app.config["MAX_FORM_MEMORY_SIZE"] = 2 * 1024 * 1024
STORAGE = Path(os.environ.get("BARE_STORAGE", tempfile.mkdtemp(prefix="bare-")))
DATABASE_URL = os.environ.get("BARE_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres")
_connection: psycopg.Connection | None = None

SCHEMA = """CREATE TABLE IF NOT EXISTS bare_upload (
    attempt_id text PRIMARY KEY, stop_id integer, meta jsonb, files jsonb,
    received_at timestamptz DEFAULT now())"""


def connection() -> psycopg.Connection:
    """One connection per worker process, opened on first use."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(DATABASE_URL, autocommit=False)
    return _connection


def store(data: bytes) -> str:
    """Write the bytes under their SHA-256, on disk before the row commits; the hash."""
    digest = hashlib.sha256(data).hexdigest()
    folder = STORAGE / digest[:2] / digest[2:4]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{os.getpid()}-{digest}"
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fdatasync(out.fileno())  # as Trao does: the data and size, not the times
    tmp.replace(folder / digest)
    return digest


@app.post("/upload")
def upload():
    meta = json.loads(request.form["meta"])
    listed = {(ref["field"], ref["sha256"]) for ref in meta["files"]}
    stored = []
    for field, part in request.files.items(multi=True):
        digest = store(part.read())
        if (field, digest) not in listed:
            abort(422)
        stored.append({"field": field, "sha256": digest})
    conn = connection()
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bare_upload (attempt_id, stop_id, meta, files) VALUES (%s, %s, %s, %s)",
            (meta["attempt_id"], meta["stop_id"], json.dumps(meta), json.dumps(stored)),
        )
    conn.commit()
    return jsonify(attempt_id=meta["attempt_id"], files=stored), 201
