"""The agency sees each envelope's tracking link: on its clerk's dossier page, in the API's
receipt for a registration and in its dossier answer; the link opens the citizen's page, and stays the same from one look to the next."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Role, TrackingLink
from tests.agency.test_api import GOOD, KEY, bearer, register
from tests.conftest import login


def test_the_api_dossier_answer_carries_each_envelopes_tracking_url(client, factory):
    agency = factory.agency()
    agency.set_api_key(KEY)
    db.session.commit()
    receipt = register(client, GOOD)
    assert receipt.status_code == 201
    urls = [envelope["tracking_url"] for envelope in receipt.get_json()["envelopes"]]
    first = client.get(f"/api/v1/dossiers/{GOOD['code']}", headers=bearer()).get_json()
    assert [envelope["tracking_url"] for envelope in first["envelopes"]] == urls
    assert len(urls) == 2 and len(set(urls)) == 2
    again = client.get(f"/api/v1/dossiers/{GOOD['code']}", headers=bearer()).get_json()
    assert [envelope["tracking_url"] for envelope in again["envelopes"]] == urls
    assert db.session.scalar(select(func.count()).select_from(TrackingLink)) == 2
    path = urls[0].split("127.0.0.1:5000", 1)[1]
    assert client.get(path).status_code == 200


def test_the_clerks_dossier_page_shows_the_tracking_link(client, factory):
    clerk = factory.user(Role.agency)
    dossier = factory.dossier(agency=clerk.agency)
    db.session.commit()
    login(client, clerk)
    html = client.get(f"/agency/dossiers/{dossier.code}").get_data(as_text=True)
    assert 'data-testid="tracking-url"' in html and "/t/" in html
