"""Printing labels from the console: PNG per envelope, A4 PDF sheets; QR codes read back and verify."""

import io

import zxingcpp
from PIL import Image

from backend.console.services import receive_envelopes
from backend.domain.envelope_qr import verify_envelope_qr
from backend.models import Role
from tests.conftest import NOW, login
from tests.labels.test_render import pdf_page_images


def _supervisor_with_envelopes(factory, count=3):
    office = factory.office()
    agency = factory.agency(post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    envelopes = [factory.envelope(agency=agency) for _ in range(count)]
    receive_envelopes(envelopes, actor=supervisor, now=NOW)
    return supervisor, envelopes


def test_label_png_carries_a_verifiable_qr_of_the_envelope(app, client, factory):
    supervisor, (envelope, *_) = _supervisor_with_envelopes(factory, 1)
    login(client, supervisor)
    response = client.get(f"/console/envelopes/{envelope.code}/label.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert verify_envelope_qr(result.text, app.config["QR_SIGNING_KEY"]) == envelope.code


def test_label_sheet_pdf_holds_every_requested_envelope(app, client, factory):
    supervisor, envelopes = _supervisor_with_envelopes(factory, 3)
    login(client, supervisor)
    query = "&".join(f"code={e.code}" for e in envelopes)
    response = client.get(f"/console/labels.pdf?{query}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    decoded = {
        verify_envelope_qr(r.text, app.config["QR_SIGNING_KEY"])
        for page in pdf_page_images(response.data)
        for r in zxingcpp.read_barcodes(page)
    }
    assert decoded == {e.code for e in envelopes}


def test_label_sheet_by_state_labels_the_envelopes_at_the_office(client, factory):
    supervisor, envelopes = _supervisor_with_envelopes(factory, 2)
    login(client, supervisor)
    response = client.get("/console/labels.pdf?state=at_office")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


def test_another_offices_envelope_is_not_found(client, factory):
    supervisor, _ = _supervisor_with_envelopes(factory, 1)
    _, (foreign,) = _supervisor_with_envelopes(factory, 1)
    login(client, supervisor)
    assert client.get(f"/console/envelopes/{foreign.code}/label.png").status_code == 404
    assert client.get(f"/console/labels.pdf?code={foreign.code}").status_code == 404


def test_a_malformed_code_is_refused_with_a_reason(client, factory):
    supervisor, _ = _supervisor_with_envelopes(factory, 1)
    login(client, supervisor)
    response = client.get("/console/envelopes/HC123456784VN/label.png")
    assert response.status_code == 422
    response = client.get("/console/labels.pdf?state=flying")
    assert response.status_code == 422


def test_a_bad_label_code_is_explained_in_vietnamese(client, factory):
    """The domain's English detail ("Invalid envelope code: …") never reaches the supervisor."""
    supervisor, _ = _supervisor_with_envelopes(factory, 1)
    login(client, supervisor)
    for url in ("/console/envelopes/HC123/label.png", "/console/labels.pdf?code=XX00000000VN"):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Mã bưu gửi không hợp lệ." in page
        assert "Invalid envelope code" not in page and "expected 13" not in page


def test_no_envelopes_gives_a_clear_error(client, factory):
    supervisor = factory.user(Role.supervisor)
    login(client, supervisor)
    response = client.get("/console/labels.pdf?state=at_office")
    assert response.status_code == 422
    assert "Không có bưu gửi nào để in nhãn." in response.get_data(as_text=True)


def test_console_shows_todays_runs_and_counts(client, factory):
    supervisor, envelopes = _supervisor_with_envelopes(factory, 2)
    login(client, supervisor)
    page = client.get("/console").get_data(as_text=True)
    assert envelopes[0].code in page
    assert 'data-state="at_office">2<' in page


def test_the_days_page_counts_only_envelopes_with_work_left(app, client, factory):
    """A province's year of delivered envelopes is not the day's work (nor a count to wait for)."""
    from backend.console.services import envelope_counts

    office = factory.office()
    factory.envelope(agency=factory.agency(post_office=office))
    counts = envelope_counts(office.id)
    assert counts["registered"] == 1 and "delivered" not in counts and "cancelled" not in counts
