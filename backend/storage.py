"""Proof files, stored under their SHA-256: a local folder here, object storage in production.

Content addressing makes every write idempotent (the same bytes always land at the same
name) and lets anyone check years later that a file is the one the proof names.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from flask import Flask, current_app

_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of some bytes, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


class Storage(Protocol):
    """What Trao needs from a proof store; an S3-compatible backend implements the same three."""

    def put(self, data: bytes) -> str:
        """Store the bytes (idempotent) and return their SHA-256."""

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes, for reading; FileNotFoundError if absent."""

    def exists(self, sha256: str) -> bool:
        """Whether bytes with this SHA-256 are stored."""


class LocalStorage:
    """A folder of files named by their SHA-256, fanned out as ab/cd/<sha256>."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives (or would)."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 in lower-case hex")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write aside then rename: a reader never sees half a file, and a concurrent
        # writer of the same bytes replaces it with identical content.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()


def storage_from_url(url: str) -> Storage:
    """The store a STORAGE_URL names: a folder path or file:// URL (s3:// is for later)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # "C:\\..." on Windows
        return LocalStorage(parsed.path if parsed.scheme == "file" else url)
    raise ValueError(f"unsupported STORAGE_URL scheme: {parsed.scheme!r}")


def get_storage(app: Flask | None = None) -> Storage:
    """The app's proof store, made once from its STORAGE_URL."""
    app = app or current_app._get_current_object()
    store = app.extensions.get("trao_storage")
    if store is None:
        store = app.extensions["trao_storage"] = storage_from_url(app.config["STORAGE_URL"])
    return store
