"""The counter in a real browser: a pharmacist verifies a pack, dispenses it,
scans it again and sees ALREADY_DISPENSED; the manufacturer sees the alert."""

import pytest

from tests.web import test_browser
from tests.web.helpers import deliver, member_of

CHROMIUM = test_browser.CHROMIUM
browser = test_browser.browser  # the fixtures that launch Debian's chromium
screenshots = test_browser.screenshots

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Debian's chromium at {CHROMIUM}"
)


def test_pharmacist_verifies_dispenses_and_a_second_scan_alerts_the_manufacturer(
    live_server,
    batch,
    manufacturer,
    pharmacy,
    screenshots,
    browser,
):
    from playwright.sync_api import expect

    deliver(batch, manufacturer, pharmacy, 2)
    pack = batch.packs.filter(custodian=pharmacy).order_by("pk").first()
    typed = f"(01){pack.gtin}(17)280101(10)A1B2(21){pack.serial}"
    member_of(pharmacy, "linden")
    member_of(manufacturer, "acme")
    page = test_browser.watched_page(browser)

    test_browser.browser_log_in(page, live_server, "linden")
    page.get_by_role("link", name="Verify").click()
    page.get_by_label("Scan or type the pack's code").fill(typed)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verdict")).to_have_text("AUTHENTIC")
    expect(page.locator("#chain tbody tr")).to_have_count(3)
    expect(page.locator("#evidence")).to_contain_text("verifies")
    page.screenshot(path=screenshots / "verify-authentic.png", full_page=True)

    page.get_by_role("button", name="Dispense", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"Dispensed pack {pack.serial}.")
    page.get_by_label("Scan or type the pack's code").fill(typed)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verdict")).to_have_text("ALREADY_DISPENSED")
    expect(page.get_by_role("button", name="Dispense", exact=True)).to_have_count(0)
    page.screenshot(path=screenshots / "verify-already-dispensed.png", full_page=True)
    page.get_by_role("button", name="Log out").click()

    test_browser.browser_log_in(page, live_server, "acme")
    page.get_by_role("link", name="Alerts").click()
    row = page.locator("#alerts tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ALREADY_DISPENSED")
    expect(row).to_contain_text("Corner Pharmacy")
    page.screenshot(path=screenshots / "alerts-inbox.png", full_page=True)

    assert page.problems == []  # no CSP violations, no missing resources, no script errors
