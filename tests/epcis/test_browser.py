"""In a real browser, a distributor downloads a batch's history as EPCIS from
the batch page, and the file is a valid EPCIS 2.0 document."""

import json
from pathlib import Path

import pytest

from tests.web import test_browser as web
from tests.web.helpers import PASSWORD, deliver, member_of
from traceability.epcis import schema

CHROMIUM = web.CHROMIUM
browser = web.browser  # fixtures
screenshots = web.screenshots

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs chromium at {CHROMIUM}")


def test_distributor_downloads_the_batch_history_as_epcis(
    live_server,
    batch,
    manufacturer,
    distributor,
    browser,
    screenshots,
):
    from playwright.sync_api import expect

    deliver(batch, manufacturer, distributor, 3)
    member_of(distributor, "northern")
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("northern")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")

    page.goto(f"{live_server.url}/batches/{batch.product.gtin}/{batch.lot}/")
    link = page.get_by_role("link", name="Download this history as EPCIS 2.0 (JSON-LD)")
    page.screenshot(path=screenshots / "batch-epcis-link.png", full_page=True)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"epcis-{batch.product.gtin}-{batch.lot}.jsonld"
    doc = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert schema.is_valid(doc)
    steps = [e["bizStep"] for e in doc["epcisBody"]["eventList"]]
    assert steps == ["commissioning", "shipping", "receiving"]
