"""What a proof of delivery must contain."""

import pytest

from backend.domain.policy import Relation
from backend.domain.proof import ProofGap, proof_gaps

COMPLETE = {
    "delivered": True,
    "relation": Relation.holder,
    "file_kinds": {"signature", "photo"},
    "has_signature_strokes": True,
    "fees_collected_vnd": 34_000,
    "fees_due_vnd": 34_000,
}


def test_a_complete_hand_over_has_no_gaps():
    assert proof_gaps(**COMPLETE) == []


@pytest.mark.parametrize(
    ("change", "gap"),
    [
        ({"file_kinds": {"photo"}}, ProofGap.signature_required),
        ({"has_signature_strokes": False}, ProofGap.signature_required),
        ({"file_kinds": {"signature"}}, ProofGap.photo_required),
        ({"fees_collected_vnd": 26_000}, ProofGap.fees_mismatch),
        ({"relation": Relation.representative}, ProofGap.authorization_required),
        ({"relation": Relation.organisation_representative}, ProofGap.authorization_required),
    ],
)
def test_each_missing_part_is_named(change, gap):
    assert proof_gaps(**{**COMPLETE, **change}) == [gap]


def test_a_representative_with_the_authorisation_photo_is_complete():
    kinds = {"signature", "photo", "authorization"}
    assert (
        proof_gaps(**{**COMPLETE, "relation": Relation.representative, "file_kinds": kinds}) == []
    )


def test_gaps_come_in_the_order_a_postman_fixes_them():
    gaps = proof_gaps(**{**COMPLETE, "relation": Relation.representative, "file_kinds": set(),
                          "fees_collected_vnd": 0})  # fmt: skip
    assert gaps == list(ProofGap)


def test_a_failed_attempt_needs_no_proof_but_collects_nothing():
    failed = {**COMPLETE, "delivered": False, "relation": None, "file_kinds": set()}
    assert proof_gaps(**{**failed, "fees_collected_vnd": 0}) == []
    assert proof_gaps(**failed) == [ProofGap.fees_mismatch]
