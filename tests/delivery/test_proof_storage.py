"""The proof store: files under their SHA-256, written whole, idempotent."""

import hashlib

import pytest

from backend.storage import LocalStorage, storage_from_url


def test_put_stores_bytes_under_their_sha256_and_is_idempotent(tmp_path):
    store = LocalStorage(tmp_path)
    data = b"chu ky"
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.path(digest) == tmp_path / digest[:2] / digest[2:4] / digest
    assert store.put(data) == digest and store.exists(digest)
    with store.open(digest) as f:
        assert f.read() == data
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]  # no temp files left


def test_unknown_hashes_and_paths_are_refused(tmp_path):
    store = LocalStorage(tmp_path)
    assert not store.exists("0" * 64)
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            store.path(bad)


def test_storage_url_names_a_folder(tmp_path):
    assert storage_from_url(str(tmp_path)).root == tmp_path
    assert storage_from_url(f"file://{tmp_path}").root == tmp_path
    with pytest.raises(ValueError):
        storage_from_url("s3://bucket/proofs")
