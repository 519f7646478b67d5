"""Proof files, stored under their SHA-256: a local folder here, object storage in production.

Content addressing makes every write idempotent (the same bytes always land at the same
name) and lets anyone check years later that a file is the one the proof names.

A request writes its files to a staging area first and publishes them into the store only after
its database transaction has committed: a file is in the store only when a committed record
names it. Staging left behind by a crash (between the commit and the publish, or halfway
through a write) is repaired or removed by `flask proof-files orphans --apply`: run it after an
unclean stop (a machine that lost power), before serving again.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from flask import Flask, current_app

_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
STAGING_DIR = ".staging"
TEMP_PREFIX = ".tmp-"


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of some bytes, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


class Staging(Protocol):
    """Files written aside for one transaction: published after its commit, else discarded."""

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Write the bytes aside (not yet in the store) and return their SHA-256 (given, when
        the caller has computed it already)."""

    def seal(self) -> None:
        """Make the staged files durable under their names: call before the commit."""

    def publish(self) -> None:
        """Move every staged file into the store (after the commit)."""

    def discard(self) -> None:
        """Forget every staged file (after a rollback)."""


class Storage(Protocol):
    """What Trao needs from a proof store; an S3-compatible backend implements the same."""

    def put(self, data: bytes) -> str:
        """Store the bytes (idempotent) and return their SHA-256."""

    def stage(self) -> Staging:
        """A staging area for the files of one transaction."""

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes, for reading; FileNotFoundError if absent."""

    def exists(self, sha256: str) -> bool:
        """Whether bytes with this SHA-256 are stored."""


def _fsync_dir(path: Path) -> None:
    """Make a rename in this folder durable (a crash after it keeps the new name)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(folder: Path, data: bytes) -> Path:
    """Write the bytes to a new temporary file in `folder`, flushed to disk; its path."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


class LocalStaging:
    """A folder under the store's `.staging/` holding one transaction's files by hash."""

    def __init__(self, store: LocalStorage) -> None:
        self.store = store
        self.folder: Path | None = None
        self.hashes: list[str] = []

    def put(self, data: bytes, sha256: str | None = None) -> str:
        digest = sha256 or sha256_hex(data)
        if digest in self.hashes:
            return digest
        if self.folder is None:
            self.folder = self._new_folder()
        # The folder is this transaction's alone: written in place, no temporary name. The
        # data reach the disk before the commit (fdatasync: the data and the size, not the
        # times); the folder's names do at seal().
        with open(self.folder / digest, "xb") as out:
            out.write(data)
            out.flush()
            os.fdatasync(out.fileno())
        self.hashes.append(digest)
        return digest

    def _new_folder(self) -> Path:
        base = self.store.root / STAGING_DIR
        # The time in the name lets the sweeper tell a live transaction from a dead one.
        folder = base / f"{int(time.time())}-{secrets.token_hex(8)}"
        try:
            folder.mkdir()
        except FileNotFoundError:
            base.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
        return folder

    def seal(self) -> None:
        if self.folder is not None:
            _fsync_dir(self.folder)

    def publish(self) -> None:
        # The staging folder was sealed before the commit: each file is durable under its name
        # there, and a rename lost to a crash leaves it there for the sweep to publish. So the
        # store's folders are not synced here (it cost each attempt two waits on the disk).
        for digest in self.hashes:
            self.store.adopt(self.folder / digest, digest, sync=False)
        self._forget()

    def discard(self) -> None:
        for digest in self.hashes:
            (self.folder / digest).unlink(missing_ok=True)
        self._forget()

    def _forget(self) -> None:
        if self.folder is not None:
            try:
                self.folder.rmdir()  # empty by now
            except OSError:
                shutil.rmtree(self.folder, ignore_errors=True)
        self.folder, self.hashes = None, []


@dataclass(frozen=True)
class StagedFile:
    """A file left in the staging area (by a crash): its hash and path."""

    sha256: str
    path: Path


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
        _write_durably(target.parent, data).replace(target)
        _fsync_dir(target.parent)
        return digest

    def stage(self) -> LocalStaging:
        return LocalStaging(self)

    def adopt(self, source: Path, sha256: str, *, sync: bool = True) -> None:
        """Move a staged file (already named by its hash) into the store.

        `sync` False leaves the new name to the next journal commit: when the staging folder
        was sealed, a crash before it leaves the file where it was, named, for the sweep.
        """
        target = self.path(sha256)
        # Replacing a file of the same name is harmless: it holds the same bytes.
        try:
            source.replace(target)
        except FileNotFoundError:
            if not source.exists():
                return  # published already (a sweep and a request, say)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
        if sync:
            _fsync_dir(target.parent)

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Remove a stored file (only ever one that no record names)."""
        self.path(sha256).unlink(missing_ok=True)

    # --- Maintenance: what a crash can leave behind -----------------------------------------

    def stored_hashes(self) -> Iterator[str]:
        """Every hash in the store (not the staging area)."""
        for path in self.root.glob("??/??/*"):
            if path.is_file() and _SHA256.fullmatch(path.name):
                yield path.name

    def _staging_folders(self, older_than_seconds: float) -> Iterator[Path]:
        """Staging folders created longer ago than this (by the time in their name)."""
        base = self.root / STAGING_DIR
        cutoff = time.time() - older_than_seconds
        for folder in sorted(base.iterdir()) if base.is_dir() else ():
            created = folder.name.split("-", 1)[0]
            born = int(created) if created.isdigit() else folder.stat().st_mtime
            if folder.is_dir() and born < cutoff:
                yield folder

    def staged_files(self, older_than_seconds: float) -> Iterator[StagedFile]:
        """Files in staging folders older than this: their requests died before publishing."""
        for folder in self._staging_folders(older_than_seconds):
            for path in sorted(folder.iterdir()):
                if _SHA256.fullmatch(path.name):
                    yield StagedFile(path.name, path)

    def temp_files(self, older_than_seconds: float) -> Iterator[Path]:
        """Half-written files (a write killed midway) older than this."""
        cutoff = time.time() - older_than_seconds
        for path in self.root.rglob(f"{TEMP_PREFIX}*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                yield path

    def remove_empty_staging(self, older_than_seconds: float) -> None:
        """Remove staging folders left empty, once they are old enough not to be live."""
        for folder in self._staging_folders(older_than_seconds):
            if not any(folder.iterdir()):
                folder.rmdir()


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
