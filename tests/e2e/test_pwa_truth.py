"""The app tells the truth about each stop, as a postman sees it on a 360 px phone.

A finished stop says what happened (delivered and collected; failed and what comes next), not
what is still to do; finished stops are folded away from those left; a refused attempt is not
"all synced" and is said in words; a refused ID card says why; long names wrap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from backend.domain.envelope_qr import sign_envelope_qr
from backend.extensions import db
from tests.e2e.conftest import PHONE, save_screenshot
from tests.e2e.test_pwa_flow import (
    CAMERA_ARGS,
    POSITION,
    card_qr,
    open_app,
    pick,
    record_failure,
    scan,
    sign,
    stop_item,
    synced,
    take_photo,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("chromium_args", [CAMERA_ARGS], indirect=True),
    pytest.mark.browser_context_args(**PHONE, geolocation=POSITION, permissions=["geolocation"]),
]

USED: set[str] = set()
FINISHED_STATES = {
    "delivered",
    "collected",
    "attempt_failed",
    "held_at_office",
    "returned_to_agency",
}


def test_a_refusal_for_invalid_data_shows_the_servers_words_and_what_to_check(page: Page):
    """A phone whose clock runs a day ahead: the server refuses its attempt as `invalid`."""
    stops = open_app(page)
    stop = pick(stops, USED)
    page.clock.set_fixed_time(datetime.now() + timedelta(days=1))
    record_failure(page, stop, "not_home")
    card = stop_item(page, stop)
    rejected = card.get_by_test_id("stop-rejected")
    expect(rejected).to_be_visible(timeout=15000)
    expect(card.get_by_test_id("stop-status")).to_have_attribute("data-status", "refused")
    expect(rejected.get_by_test_id("rejected-reason")).to_have_text(
        "Máy chủ từ chối lượt phát này: Một số trường chưa hợp lệ."
    )
    expect(rejected.get_by_test_id("rejected-fields")).to_have_text(
        "Cần xem lại: giờ trên điện thoại (hãy chỉnh lại giờ của máy)."
    )
    support = rejected.get_by_test_id("rejected-support")
    expect(support.locator("code").first).to_be_hidden()  # the code is for support, folded
    support.locator("summary").click()
    expect(support.locator("code").first).to_have_text("422 · invalid")
    expect(page.get_by_test_id("sync-status")).not_to_contain_text("Đã đồng bộ hết")
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, "truth-refused-invalid")
