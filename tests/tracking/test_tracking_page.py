"""The tracking page: the stage for anyone with the link, the rest after the phone's digits;
one not-found page for unknown, revoked and expired tokens; nothing private in any state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import TrackingGuard
from backend.tracking.links import revoke_links
from backend.tracking.services import day_choices, mask_name
from tests.conftest import NOW
from tests.tracking.conftest import (
    ADDRESS_LINE,
    ID_NUMBER,
    PHONE,
    POSTMAN_NAME,
    RECEIVER,
    verify,
)


def test_anyone_with_the_link_sees_the_procedure_and_stage_only(client, story):
    response = client.get(f"/t/{story.token}?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cấp thẻ Căn cước" in html and "Citizen ID card" in html
    assert "on its way to the post office" in html
    assert "last four digits" in html
    assert "What has happened" not in html and story.envelope.code not in html


def test_the_page_is_vietnamese_by_default_and_has_no_script(client, story):
    html = client.get(f"/t/{story.token}").get_data(as_text=True)
    assert 'lang="vi"' in html and "bốn số cuối" in html
    assert "<script" not in html and "style=" not in html


def test_unknown_revoked_and_expired_tokens_get_the_same_not_found_page(client, story, factory):
    from flask import current_app

    from backend.tracking.links import issue_link

    unknown = client.get("/t/" + "A" * 22)
    malformed = client.get("/t/short")
    revoked_story = factory.envelope()
    revoked = issue_link(revoked_story, key=current_app.config["TRACKING_KEY"], now=NOW)
    revoke_links(revoked_story.id, now=NOW)
    db.session.commit()
    story.receive()
    story.hold()  # held, collected, then long past its story's end: expired
    story.attempt("collected", at=NOW)
    expired_at = NOW + timedelta(days=current_app.config["TRACKING_KEEP_DAYS"] + 1)
    answers = [unknown, malformed, client.get(f"/t/{revoked}")]
    import backend.clock

    original = backend.clock.now
    backend.clock.now = lambda: expired_at
    try:
        answers.append(client.get(f"/t/{story.token}"))
        answers.append(verify(client, story.token))
    finally:
        backend.clock.now = original
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1


def test_the_right_digits_open_the_timeline_for_this_session(client, story):
    story.receive()
    assert verify(client, story.token).status_code == 303
    html = client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)
    assert "What has happened" in html and "Received from the agency" in html
    other = client.application.test_client()
    assert "What has happened" not in other.get(f"/t/{story.token}").get_data(as_text=True)


def test_the_digits_are_forgotten_after_a_while(client, story, monkeypatch):
    verify(client, story.token)
    monkeypatch.setattr("backend.clock.now", lambda: NOW + timedelta(minutes=31))
    html = client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)
    assert "What has happened" not in html


def test_wrong_digits_say_how_many_tries_are_left_then_lock_the_envelope(client, story):
    answers = [verify(client, story.token, "0000") for _ in range(4)]
    assert [a.status_code for a in answers] == [403] * 4
    assert "còn 1 lần thử" in answers[-1].get_data(as_text=True).lower()
    locked = verify(client, story.token, "0000")
    assert locked.status_code == 429 and "thử lại sau" in locked.get_data(as_text=True)
    # Locked for the right digits too, from anywhere, until the lock ends.
    assert verify(client, story.token, address="198.51.100.1").status_code == 429
    guard = db.session.get(TrackingGuard, story.envelope.id)
    db.session.refresh(guard)
    assert guard.locked_until == NOW + timedelta(hours=3)


def test_two_first_wrong_guesses_at_once_both_count(client, story):
    """Another request made the envelope's guard row between our look and our insert: ours
    counts on that row rather than failing on its key."""
    from backend.tracking import services

    assert verify(client, story.token, "0000").status_code == 403
    # As if this request's first look had found no row: its insert meets the one made since.
    guard = services._new_guard(story.envelope.id)
    assert guard.wrong_guesses == 1
    db.session.rollback()
    assert verify(client, story.token, "0000").status_code == 403
    db.session.expire_all()
    assert db.session.get(TrackingGuard, story.envelope.id).wrong_guesses == 2


def test_malformed_digits_are_not_counted(client, story):
    for digits in ("", "12", "12345", "abcd", "１２３４"):
        assert verify(client, story.token, digits).status_code == 422
    assert db.session.scalars(select(TrackingGuard)).all() == []


def test_a_lock_ends_and_the_right_digits_reset_the_count(client, story, monkeypatch):
    for _ in range(5):
        verify(client, story.token, "0000")
    monkeypatch.setattr("backend.clock.now", lambda: NOW + timedelta(hours=3, minutes=1))
    assert verify(client, story.token, "0000").status_code == 403
    assert verify(client, story.token).status_code == 303
    guard = db.session.get(TrackingGuard, story.envelope.id)
    db.session.refresh(guard)
    assert guard.wrong_guesses == 0 and guard.locked_until is None


def test_an_envelope_without_a_phone_cannot_be_opened_by_digits(client, factory):
    from flask import current_app

    from backend.tracking.links import issue_link

    envelope = factory.envelope(recipient_phone=None)
    token = issue_link(envelope, key=current_app.config["TRACKING_KEY"], now=NOW)
    db.session.commit()
    assert verify(client, token).status_code == 409


def _private_strings(story) -> list[str]:
    return [
        ID_NUMBER,
        ID_NUMBER[-4:],
        PHONE,
        PHONE[-4:],
        ADDRESS_LINE,
        "Tổ dân phố 3",
        POSTMAN_NAME,
        "Thắng",
        RECEIVER,
        "/proofs",
        "signature",
        ".jpg",
    ]


def test_no_stage_shows_anything_private(client, story):
    """ID number, phone, street address, postman's name, the receiver's full name, proofs."""
    verify(client, story.token)
    pages = {}

    def look(name):
        for lang in ("vi", "en"):
            pages[f"{name}-{lang}"] = client.get(f"/t/{story.token}?lang={lang}").get_data(
                as_text=True
            )

    look("registered")
    story.receive()
    look("at_office")
    story.load()
    look("out")
    story.attempt("failed", reason="not_home")
    look("failed")
    client.post(f"/t/{story.token}/request", data={"kind": "collect"})
    look("held")
    story.attempt("collected")
    look("collected")
    for name, html in pages.items():
        for private in _private_strings(story):
            assert private not in html, f"{private!r} on the page at {name}"
    assert "Nguyễn V. A." in pages["collected-vi"]


def test_a_delivered_envelope_shows_nothing_private_either(client, story):
    verify(client, story.token)
    story.receive()
    story.load()
    story.attempt("delivered")
    html = client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)
    for private in _private_strings(story):
        assert private not in html, private
    assert "Nguyễn V. A." in html and "Delivered" in html


def test_out_for_delivery_shows_the_expected_window(client, story):
    story.receive()
    story.load(position=1, others=3)
    verify(client, story.token)
    html = client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)
    assert "in the morning" in html


def test_a_late_stop_is_expected_in_the_afternoon(client, story):
    story.receive()
    story.load(position=200, others=3)
    verify(client, story.token)
    assert "in the afternoon" in client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)


def test_a_failed_attempt_says_why_politely_and_what_happens_next(client, story):
    story.receive()
    story.load()
    story.attempt("failed", reason="not_home")
    verify(client, story.token)
    html = client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)
    assert "nobody was at home" in html
    assert "try again from" in html and "attempt 2 of 2" in html


def test_held_shows_the_office_its_hours_and_the_last_day(client, story):
    story.receive()
    story.hold()
    verify(client, story.token)
    html = client.get(f"/t/{story.token}?lang=en").get_data(as_text=True)
    office = story.envelope.dossier.post_office
    assert office.name in html and office.address in html
    assert "7:30–17:00" in html and "Last day to collect" in html
    assert "December" in html  # 10 working days after Monday 23 November: 7 December


def test_names_are_masked_to_the_family_name_and_initials():
    assert mask_name("Nguyễn Văn An") == "Nguyễn V. A."
    assert mask_name("an") == "A."
    assert mask_name("") == "" and mask_name(None) == ""


def test_the_days_offered_are_the_next_working_days():
    from datetime import date

    # Friday 28 August 2026: the weekend and the National Day holidays (31 August to 2 September)
    # skipped.
    days = day_choices(date(2026, 8, 28), 3)
    assert all(d.weekday() < 5 for d in days)
    assert date(2026, 9, 2) not in days and days[0] == date(2026, 9, 3)


@pytest.mark.parametrize("path", ["/t/", "/t/x/y", "/t/" + "A" * 400])
def test_odd_paths_are_not_found(client, path):
    assert client.get(path).status_code == 404
