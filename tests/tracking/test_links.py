"""A tracking link: 128 bits, kept only as a hash and a salt, found, revoked and expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import TrackingLink
from backend.tracking.links import (
    TOKEN_PATTERN,
    find_link,
    hash_token,
    issue_link,
    revoke_links,
    token_for,
    tracking_url,
)
from tests.conftest import NOW

KEEP = 30


@pytest.fixture
def key(app):
    return current_app.config["TRACKING_KEY"]


def test_a_token_is_128_bits_and_the_database_keeps_only_its_hash_and_a_salt(factory, key):
    envelope = factory.envelope()
    token = issue_link(envelope, key=key, now=NOW)
    assert TOKEN_PATTERN.fullmatch(token)
    (row,) = db.session.scalars(select(TrackingLink)).all()
    assert row.token_hash == hash_token(token) and token not in (row.token_hash, row.salt)
    assert find_link(token, now=NOW, keep_days=KEEP).envelope_id == envelope.id


def test_the_same_link_is_written_again_into_later_messages(factory, key):
    envelope = factory.envelope()
    first = token_for(envelope, key=key, now=NOW)
    assert token_for(envelope, key=key, now=NOW + timedelta(days=3)) == first
    assert db.session.scalars(select(TrackingLink)).all().__len__() == 1
    assert tracking_url("https://trao.example.vn", first) == f"https://trao.example.vn/t/{first}"


def test_another_key_makes_another_token(factory, key):
    envelope = factory.envelope()
    assert token_for(envelope, key=key, now=NOW) != token_for(envelope, key=b"another key", now=NOW)


@pytest.mark.parametrize(
    "token", ["", "short", "A" * 22, "A" * 23, "../../etc/passwd_______", "\x00" * 22, None]
)
def test_unknown_and_malformed_tokens_are_not_found(factory, key, token):
    issue_link(factory.envelope(), key=key, now=NOW)
    assert find_link(token, now=NOW, keep_days=KEEP) is None


def test_a_revoked_link_is_not_found_and_a_new_one_works(factory, key):
    envelope = factory.envelope()
    old = token_for(envelope, key=key, now=NOW)
    assert revoke_links(envelope.id, now=NOW) == 1
    assert find_link(old, now=NOW, keep_days=KEEP) is None
    new = token_for(envelope, key=key, now=NOW)
    assert new != old and find_link(new, now=NOW, keep_days=KEEP) is not None


def test_a_link_works_while_the_story_goes_on_and_for_a_while_after_it_ends(factory, key):
    envelope = factory.envelope()
    token = token_for(envelope, key=key, now=NOW)
    later = NOW + timedelta(days=400)
    assert find_link(token, now=later, keep_days=KEEP) is not None  # not ended: still open
    apply_action(envelope, Action.cancel, now=NOW, actor_kind="agency")
    assert find_link(token, now=NOW + timedelta(days=KEEP - 1), keep_days=KEEP) is not None
    assert find_link(token, now=NOW + timedelta(days=KEEP), keep_days=KEEP) is None


def test_a_link_past_its_own_end_is_not_found(factory, key):
    envelope = factory.envelope()
    token = token_for(envelope, key=key, now=NOW)
    link = db.session.scalars(select(TrackingLink)).one()
    link.expires_at = NOW + timedelta(hours=1)
    assert find_link(token, now=NOW, keep_days=KEEP) is not None
    assert find_link(token, now=NOW + timedelta(hours=1), keep_days=KEEP) is None
