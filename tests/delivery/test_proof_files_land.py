"""A file is in the proof store only when a committed record names it; crashes are mended."""

import os
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backend.delivery.maintenance import sweep_proof_store
from backend.extensions import db
from backend.models import DeliveryAttempt, ProofFile
from backend.storage import LocalStaging, get_storage
from tests.conftest import login
from tests.delivery.helpers import (
    default_files,
    delivered_meta,
    jpeg,
    make_run,
    post_attempt,
    sha,
    stored_files,
)


@pytest.fixture
def stop(client, factory):
    postman, run = make_run(factory)
    login(client, postman)
    return run.stops[0]


def attempts() -> int:
    return db.session.scalar(select(func.count()).select_from(DeliveryAttempt))


def test_an_error_at_commit_leaves_no_file(client, stop, monkeypatch):
    files = default_files()

    def commit_fails():
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    monkeypatch.setattr(db.session, "commit", commit_fails)
    response = post_attempt(client, delivered_meta(stop, files), files)
    monkeypatch.undo()
    assert response.status_code == 500  # the phone keeps it and sends it again later
    assert attempts() == 0
    assert stored_files() == []


def test_a_refused_attempt_leaves_no_file_even_after_its_files_were_checked(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files, fees_collected_vnd=1)  # refused after the files passed
    response = post_attempt(client, meta, files)
    assert response.status_code == 422
    assert stored_files() == []


def test_an_accepted_attempt_has_exactly_its_files(client, stop):
    files = default_files()
    assert post_attempt(client, delivered_meta(stop, files), files).status_code == 201
    rows = db.session.execute(select(ProofFile)).scalars().all()
    storage = get_storage()
    assert set(storage.stored_hashes()) == {r.sha256 for r in rows} == {sha(d) for _, d in files}
    assert all(not name.startswith(".") for name in stored_files())  # no staging, no temp


def test_a_crash_between_commit_and_publish_is_mended_by_the_sweep(client, stop, monkeypatch):
    files = default_files()
    monkeypatch.setattr(LocalStaging, "publish", lambda self: None)  # the worker dies here
    response = post_attempt(client, delivered_meta(stop, files), files)
    monkeypatch.undo()
    assert response.status_code == 201
    storage = get_storage()
    assert not any(storage.exists(sha(data)) for _, data in files)

    listed = sweep_proof_store(storage, apply=False, grace_seconds=0)
    assert sorted(listed.published) == sorted(sha(data) for _, data in files)
    assert not any(storage.exists(sha(data)) for _, data in files)  # listing changes nothing

    sweep_proof_store(storage, apply=True, grace_seconds=0)
    assert all(storage.exists(sha(data)) for _, data in files)
    assert all(not name.startswith(".") for name in stored_files())


def test_a_replay_puts_back_a_file_the_store_lost(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    assert post_attempt(client, meta, files).status_code == 201
    storage = get_storage()
    signature = sha(files[0][1])
    storage.path(signature).unlink()
    assert post_attempt(client, meta, files).status_code == 200
    assert storage.exists(signature)


def _age(path, seconds=7200):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_the_orphans_command_lists_then_removes_only_what_no_record_names(app, client, stop):
    files = default_files()
    assert post_attempt(client, delivered_meta(stop, files), files).status_code == 201
    storage = get_storage()
    kept = set(storage.stored_hashes())
    orphan = storage.put(jpeg(colour=(9, 9, 9)))  # a photo of a citizen no record names
    temp = storage.path(orphan).parent / ".tmp-killed-midway"
    temp.write_bytes(b"half a photo")
    _age(temp)
    abandoned = storage.root / ".staging" / f"{int(time.time()) - 7200}-dead"
    abandoned.mkdir(parents=True)
    (abandoned / sha(b"never committed")).write_bytes(b"never committed")
    live = storage.stage()
    live.put(b"a request still running")

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["proof-files", "orphans"])
    assert listed.exit_code == 0, listed.output
    assert orphan in listed.output and sha(b"never committed") in listed.output
    assert ".tmp-killed-midway" in listed.output and "--apply" in listed.output
    assert storage.exists(orphan) and temp.exists()  # listing changes nothing

    applied = runner.invoke(args=["proof-files", "orphans", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert set(storage.stored_hashes()) == kept
    assert not temp.exists() and not abandoned.exists()
    assert (live.folder / sha(b"a request still running")).exists()  # young: left alone
    live.discard()
    again = runner.invoke(args=["proof-files", "orphans", "--apply"])
    assert "matches the records" in again.output
