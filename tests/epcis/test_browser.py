"""In a real browser, a distributor downloads a batch's history as EPCIS from
the batch page, and the file is a valid EPCIS 2.0 document."""

import json
from pathlib import Path

import pytest

from tests.web import test_browser as web
from tests.web.helpers import deliver, member_of
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

    deliver(batch, manufacturer, distributor, 3)
    member_of(distributor, "northern")
    page = web.watched_page(browser, accept_downloads=True)
    web.browser_log_in(page, live_server, "northern")

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
