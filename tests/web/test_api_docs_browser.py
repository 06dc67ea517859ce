"""The interactive API docs work in a real browser under our content security policy."""

import pytest

from tests.web.test_browser import CHROMIUM, browser, screenshots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.mark.django_db
def test_swagger_ui_lists_the_statement_api_without_csp_violations(
    live_server,
    browser,  # noqa: F811
    screenshots,  # noqa: F811
):
    from playwright.sync_api import expect

    page = browser.new_page()
    complaints = []
    page.on("console", lambda m: m.type == "error" and complaints.append(m.text))
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("/api/v1/statements").first).to_be_visible(timeout=15_000)
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    page.screenshot(path=str(screenshots / "api-docs.png"), full_page=False)
    assert not [c for c in complaints if "Content Security Policy" in c], complaints
