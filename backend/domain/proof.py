"""What a proof of delivery must contain, whatever carries it (the phone, the server)."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from .policy import Relation


class ProofGap(StrEnum):
    """A part of the proof that is missing or wrong; the value is the API's error code."""

    authorization_required = "authorization_required"
    signature_required = "signature_required"
    photo_required = "photo_required"
    fees_mismatch = "fees_mismatch"


def proof_gaps(
    *,
    delivered: bool,
    relation: Relation | None,
    file_kinds: Collection[str],
    has_signature_strokes: bool,
    fees_collected_vnd: int,
    fees_due_vnd: int,
) -> list[ProofGap]:
    """Every gap in an attempt's proof, in the order a postman would fix them; [] if complete.

    A hand-over needs the signature (image and strokes), at least one photo, the fees due
    collected, and for anyone but the holder a photo of their authorisation paper. A failed
    attempt collects nothing.
    """
    if not delivered:
        return [] if fees_collected_vnd == 0 else [ProofGap.fees_mismatch]
    gaps = []
    if relation is not Relation.holder and "authorization" not in file_kinds:
        gaps.append(ProofGap.authorization_required)
    if "signature" not in file_kinds or not has_signature_strokes:
        gaps.append(ProofGap.signature_required)
    if "photo" not in file_kinds:
        gaps.append(ProofGap.photo_required)
    if fees_collected_vnd != fees_due_vnd:
        gaps.append(ProofGap.fees_mismatch)
    return gaps
