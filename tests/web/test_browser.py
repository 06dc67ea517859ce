"""The main path in a real browser: a manufacturer ships packs, the distributor
receives them, and the batch page shows the distributor holding them.

Drives Debian's chromium (/usr/bin/chromium) through Playwright; Playwright's
own browser download is not needed. Screenshots go to the test's tmp_path
(or to $WEB_SCREENSHOTS when set) so a person can look at the pages.
"""

import os
import re
from pathlib import Path

import pytest
from django.db import connections

from tests.web.helpers import PASSWORD, member_of

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Debian's chromium at {CHROMIUM}"
)


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are still synchronous, so Django's async guard must stand aside.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # While the loop runs, Django keeps this thread's connections apart
        # (asgiref's context-local storage): close them here, or the test
        # database cannot be dropped at the end of the run.
        connections.close_all()


def watched_page(browser, **options):
    """A new page that gathers console errors and uncaught exceptions in page.problems:
    a CSP violation, a missing resource or a script error shows up there."""
    page = browser.new_page(**{"viewport": {"width": 1280, "height": 900}, **options})
    page.set_default_timeout(10_000)
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


def browser_log_in(page, live_server, username):
    """Log in with the test password; the dashboard must open."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")


@pytest.fixture
def screenshots(tmp_path):
    folder = Path(os.environ.get("WEB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_manufacturer_ships_and_the_distributor_receives_in_the_browser(
    live_server, batch, manufacturer, distributor, screenshots, browser
):
    from playwright.sync_api import expect

    member_of(manufacturer, "acme")
    member_of(distributor, "northern")
    page = watched_page(browser)

    # The manufacturer ships 4 packs of its lot from the stock list.
    browser_log_in(page, live_server, "acme")
    stock = page.locator("#stock")
    expect(stock.get_by_role("row", name=re.compile("A1B2"))).to_contain_text("10")
    stock.get_by_role("row", name=re.compile("A1B2")).get_by_role("link", name="Ship").click()
    expect(page.get_by_role("heading", name="2. Ship Amoxicillin 500 mg, lot A1B2")).to_be_visible()
    page.get_by_label("Ship to").select_option(str(distributor.pk))
    page.get_by_label("How many packs").fill("4")
    page.get_by_role("button", name="Sign and ship").click()
    expect(page.locator(".messages")).to_contain_text(
        "Shipped 4 packs of lot A1B2 to Northern Wholesale"
    )
    expect(page.locator("#outbound")).to_contain_text("Northern Wholesale")
    page.get_by_role("button", name="Log out").click()

    # The distributor sees it coming and signs the receipt.
    browser_log_in(page, live_server, "northern")
    inbound = page.locator("#inbound")
    expect(inbound).to_contain_text("Acme Pharma")
    expect(inbound).to_contain_text("Amoxicillin 500 mg, lot A1B2 (4)")
    page.screenshot(path=screenshots / "dashboard-inbound.png", full_page=True)
    inbound.get_by_role("button", name="Receive").click()
    expect(page.locator(".messages")).to_contain_text("Received 4 packs from Acme Pharma")
    expect(inbound).to_contain_text("Nothing on its way to you")
    page.screenshot(path=screenshots / "dashboard-received.png", full_page=True)

    # The batch page shows the distributor holding the 4 packs.
    page.locator("#stock").get_by_role("link", name="A1B2", exact=True).click()
    expect(page.get_by_role("heading", name="Amoxicillin 500 mg, lot A1B2")).to_be_visible()
    holder = page.locator("#holders").get_by_role("row", name=re.compile("Northern Wholesale"))
    expect(holder).to_contain_text("4")
    history = page.locator("#history")
    expect(history.get_by_role("row")).to_have_count(4)  # header, commission, ship, receive
    expect(history).not_to_contain_text("invalid")
    page.screenshot(path=screenshots / "batch.png", full_page=True)

    assert page.problems == []  # no CSP violations, no missing resources, no script errors
