"""Keeping the proof store true to the records: what a crash can leave behind, found and mended.

A file belongs in the store only when a committed proof record names it (as the file or its
display copy). A crash can leave three things: a staging folder whose record committed but whose
files were not yet published (they are published), a staging folder whose record never
committed, and a half-written temporary file (both removed); and a file in the store no record
names (an orphan, removed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from backend.extensions import db
from backend.models import ProofFile
from backend.storage import LocalStorage

# A staging folder younger than this may belong to a request still running.
DEFAULT_GRACE_SECONDS = 3600
_CHUNK = 500


@dataclass
class SweepReport:
    """What the sweep found (and, when applied, did): hashes and paths, no personal data."""

    published: list[str] = field(default_factory=list)  # staged files of committed records
    abandoned: list[str] = field(default_factory=list)  # staged files no record names
    temporary: list[str] = field(default_factory=list)  # half-written files
    orphans: list[str] = field(default_factory=list)  # stored files no record names

    @property
    def clean(self) -> bool:
        return not (self.published or self.abandoned or self.temporary or self.orphans)


def referenced_hashes(hashes: Iterable[str]) -> set[str]:
    """Those of the hashes that a proof record names, as its file or its display copy."""
    wanted = list(dict.fromkeys(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = db.session.execute(
            select(ProofFile.sha256, ProofFile.derivative_sha256).where(
                or_(ProofFile.sha256.in_(chunk), ProofFile.derivative_sha256.in_(chunk))
            )
        )
        for sha, derivative in rows:
            found.update(h for h in (sha, derivative) if h in chunk)
    return found


def sweep_proof_store(
    storage: LocalStorage, *, apply: bool, grace_seconds: float = DEFAULT_GRACE_SECONDS
) -> SweepReport:
    """Find (and with `apply`, mend) what crashes left in the store; see the module's doc."""
    report = SweepReport()
    # The store is listed before the records are read: a file published meanwhile belongs to
    # a record that committed before it was published, so it is read as referenced.
    stored = list(storage.stored_hashes())
    staged = list(storage.staged_files(grace_seconds))
    temporary = list(storage.temp_files(grace_seconds))
    referenced = referenced_hashes([*stored, *(s.sha256 for s in staged)])

    for item in staged:
        (report.published if item.sha256 in referenced else report.abandoned).append(item.sha256)
        if apply:
            if item.sha256 in referenced:
                storage.adopt(item.path, item.sha256)
            else:
                item.path.unlink(missing_ok=True)
    report.orphans = [sha for sha in stored if sha not in referenced]
    report.temporary = [str(path.relative_to(storage.root)) for path in temporary]
    if apply:
        for sha in report.orphans:
            storage.delete(sha)
        for path in temporary:
            path.unlink(missing_ok=True)
        storage.remove_empty_staging(grace_seconds)
    return report
