"""The recall main path in a real browser: the regulator issues a recall, the
pharmacy finds it in its inbox, acknowledges it and quarantines its stock,
and the regulator sees the numbers move."""

import re

from tests.web.helpers import deliver, member_of
from tests.web.test_browser import (  # noqa: F401
    browser,
    browser_log_in,
    pytestmark,
    screenshots,
    watched_page,
)


def test_regulator_recalls_and_the_pharmacy_acknowledges_and_quarantines(
    live_server,
    batch,
    manufacturer,
    distributor,
    pharmacy,
    regulator,
    screenshots,  # noqa: F811
    browser,  # noqa: F811
):
    from playwright.sync_api import expect

    deliver(batch, manufacturer, distributor, 6)
    deliver(batch, distributor, pharmacy, 4)
    member_of(regulator, "agency")
    member_of(pharmacy, "corner")
    page = watched_page(browser)

    browser_log_in(page, live_server, "agency")
    page.get_by_role("link", name="Recalls").click()
    page.get_by_role("link", name="Issue a recall").click()
    page.get_by_label("Batches").select_option(str(batch.pk))
    page.get_by_label("Class").select_option("I")
    page.get_by_label("Reason").fill("Glass particles found in capsules")
    page.get_by_label("Instructions").fill("Stop supplying. Quarantine, then return.")
    page.get_by_role("button", name="Sign and issue the recall").click()
    expect(page.locator(".messages")).to_contain_text("Recall issued")
    expect(page.locator("#progress")).to_contain_text("0 of 10 units accounted for")
    expect(page.locator("#unanswered")).to_contain_text(pharmacy.name)
    page.screenshot(path=screenshots / "recall-issued.png", full_page=True)
    recall_url = page.url
    page.get_by_role("button", name="Log out").click()

    browser_log_in(page, live_server, "corner")
    page.get_by_role("link", name="Recalls").click()
    expect(page.locator("#recalls")).to_contain_text("awaiting you")
    page.get_by_role("link", name=re.compile("Glass particles")).click()
    expect(page.locator("#your-stock")).to_contain_text("You have not acknowledged")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messages")).to_contain_text("Acknowledged the recall.")
    page.get_by_role("button", name="Quarantine my stock").click()
    expect(page.locator(".messages")).to_contain_text("quarantined")
    stock = page.locator("#your-stock").get_by_role("row").nth(1)
    expect(stock.get_by_role("cell").nth(2)).to_have_text("4")  # quarantined
    page.screenshot(path=screenshots / "recall-pharmacy.png", full_page=True)
    page.get_by_role("button", name="Log out").click()

    browser_log_in(page, live_server, "agency")
    page.goto(recall_url)
    expect(page.locator("#progress")).to_contain_text("4 of 10 units accounted for")
    expect(page.locator("#unanswered")).not_to_contain_text(pharmacy.name)
    page.screenshot(path=screenshots / "recall-progress.png", full_page=True)
    assert page.problems == []
