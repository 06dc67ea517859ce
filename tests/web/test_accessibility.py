"""The screens work with a screen reader and a keyboard (WCAG 2.1 AA basics):
a skip link, landmarks and one h1; named tables with scoped headers; row buttons
that say which row they act on; a label on every input; form errors tied to their
fields and summed up at the top; the verification verdict announced."""

import re
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import token_create
from tests.web import test_browser
from tests.web.helpers import deliver, in_stock, member_of, sgtins, ship
from tests.web.html_tree import parse
from traceability import aggregation
from traceability.commissioning import batch_commission
from traceability.recalls import recall_issue

pytestmark = pytest.mark.django_db
GS = "\x1d"

# Each role's main screens; {batch}, {recall} and {alert} are filled in by `screens`.
SCREENS = {
    "visitor: home": (None, "/"),
    "visitor: log in": (None, "/accounts/login/"),
    "visitor: API reference": (None, "/api/reference/"),
    "visitor: check a pack, asked for its lot": (None, "/01/09506000134352/21/{serial}"),
    "visitor: check a pack, answered": (None, "/01/09506000134352/10/A1B2/21/{serial}?17=280101"),
    "manufacturer: dashboard": ("manufacturer", "/dashboard/"),
    "manufacturer: register a product": ("manufacturer", "/products/new/"),
    "manufacturer: commission": ("manufacturer", "/batches/new/"),
    "manufacturer: ship": ("manufacturer", "/ship/?batch={batch}"),
    "manufacturer: batch page": ("manufacturer", "/batches/09506000134352/A1B2/"),
    "distributor: dashboard, to receive": ("distributor", "/dashboard/"),
    "distributor: cases": ("distributor", "/cases/"),
    "distributor: find a shipment": ("distributor", "/shipments/find/"),
    "pharmacy: dashboard": ("pharmacy", "/dashboard/"),
    "pharmacy: dispense": ("pharmacy", "/dispense/"),
    "pharmacy: destroy": ("pharmacy", "/destroy/"),
    "pharmacy: verify": ("pharmacy", "/pharmacy/verify/"),
    "pharmacy: suspect report": ("pharmacy", "/pharmacy/report/"),
    "pharmacy: recalls": ("pharmacy", "/recalls/"),
    "pharmacy: tokens": ("pharmacy", "/accounts/tokens/"),
    "pharmacy: password": ("pharmacy", "/accounts/password/"),
    "regulator: dashboard": ("regulator", "/dashboard/"),
    "regulator: recalls": ("regulator", "/recalls/"),
    "regulator: a recall": ("regulator", "/recalls/{recall}/"),
    "regulator: issue a recall": ("regulator", "/recalls/new/"),
    "regulator: alerts": ("regulator", "/alerts/"),
    "regulator: an alert": ("regulator", "/alerts/{alert}/"),
    "regulator: ledger": ("regulator", "/ledger/"),
}
FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}
LABELLED = ("input", "select", "textarea")


def pack_code(pack) -> str:
    return f"01{pack.gtin}17280101 10A1B2{GS}21{pack.serial}".replace(" ", "")


def signed_in(org) -> Client:
    """A member of `org` with an API token, so the tokens screen has a row."""
    user = member_of(org)
    token_create(user=user, name="warehouse ERP")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(manufacturer, distributor, pharmacy, regulator):
    """A signed-in client per role; None's is a visitor's."""
    orgs = [manufacturer, distributor, pharmacy, regulator]
    return {None: Client(), **{org.role: signed_in(org) for org in orgs}}


@pytest.fixture
def screens(batch, manufacturer, distributor, pharmacy, regulator, clients):
    """Every screen of SCREENS, and the verdict screen, parsed; each with rows in its
    tables: stock, a shipment to receive, a case, a recall, an alert, a token."""
    deliver(batch, manufacturer, distributor, 6)
    deliver(batch, distributor, pharmacy, 3)
    ship(batch, manufacturer, distributor, 2)
    case_packs = sgtins(in_stock(batch, distributor)[:1])
    aggregation.case_pack(
        holder=distributor, sscc=aggregation.sscc_new(distributor), sgtins=case_packs
    )
    recalled = batch_commission(
        manufacturer=manufacturer, product=batch.product, lot="R1",
        manufactured_on=date(2026, 1, 1), expires_on=date(2028, 1, 1), quantity=2,
    )  # fmt: skip
    recall = recall_issue(
        issuer=regulator, batches=[recalled], recall_class="II", reason="Label misprint",
        instructions="Quarantine and return.",
    )  # fmt: skip
    clients["pharmacy"].post("/pharmacy/verify/", {"code": "01095060001343522199"})  # an alert
    ids = {"batch": batch.pk, "recall": recall.public_id, "alert": pharmacy.alerts_raised.get().pk}
    ids["serial"] = batch.packs.first().serial
    pages = {}
    for name, (role, path) in SCREENS.items():
        response = clients[role].get(path.format(**ids))
        assert response.status_code == 200, name
        pages[name] = parse(response.content.decode())
    held = in_stock(batch, pharmacy)[0]
    verdict = clients["pharmacy"].post("/pharmacy/verify/", {"code": pack_code(held)})
    pages["pharmacy: verify verdict"] = parse(verdict.content.decode())
    return pages


def focusable(element) -> bool:
    if element.get("tabindex") is not None:
        return element.get("tabindex") != "-1"
    if element.tag == "a":
        return element.get("href") is not None
    return element.tag in FOCUSABLE and element.get("type") != "hidden"


def accessible_name(element) -> str:
    return element.get("aria-label") or element.text


def test_every_screen_opens_with_a_skip_link_to_main(screens):
    for name, page in screens.items():
        body = page.find("body")
        first = next(e for e in body.iter() if focusable(e))
        assert (first.tag, first.get("href"), first.text) == (
            "a", "#main", "Skip to main content",
        ), name  # fmt: skip
        assert page.find("main", id="main") is not None, name


def test_every_screen_has_a_language_one_h1_and_named_landmarks(screens):
    for name, page in screens.items():
        assert page.find("html").get("lang") == "en", name
        assert len(page.find_all("h1")) == 1, name
        body = page.find("body")
        landmarks = [e.tag for e in body.children if hasattr(e, "tag")]
        assert {"header", "main", "footer"} <= set(landmarks), name
        assert len(page.find_all("main")) == 1, name
        navs = [nav.get("aria-label") for nav in page.find_all("nav")]
        assert navs and all(navs), f"{name}: a nav without aria-label"
        assert len(navs) == len(set(navs)), f"{name}: two navs with one name {navs}"


def test_every_table_is_named_and_its_header_cells_scoped(screens):
    tables = 0
    for name, page in screens.items():
        for table in page.find_all("table"):
            tables += 1
            caption = table.find("caption")
            assert (caption and caption.text) or table.get("aria-label"), name
            for th in table.find_all("th"):
                section = next(
                    a.tag for a in th.ancestors() if a.tag in ("thead", "tbody", "tfoot")
                )
                assert th.get("scope") == ("col" if section == "thead" else "row"), (name, th.text)
                assert th.text, f"{name}: an empty header cell"
    assert tables >= 15  # the screens above do have rows to show


def test_buttons_and_links_in_table_rows_say_which_row_they_act_on(screens):
    for name, page in screens.items():
        for table in page.find_all("table"):
            buttons = [accessible_name(b) for b in table.find_all("button")]
            assert len(buttons) == len(set(buttons)), f"{name}: {buttons}"
            targets = {}
            for link in table.find_all("a"):
                targets.setdefault(accessible_name(link), set()).add(link.get("href"))
            same_name = {text: hrefs for text, hrefs in targets.items() if len(hrefs) > 1}
            assert not same_name, f"{name}: links that read alike go to different places"

    def named(screen, tag, pattern):
        names = [accessible_name(e) for e in screens[screen].find_all(tag)]
        return [n for n in names if re.fullmatch(pattern, n)]

    assert named(
        "distributor: dashboard, to receive", "button", r"Receive shipment #\d+ from Acme Pharma"
    )
    assert named("distributor: cases", "button", r"Unpack case \d{18}")
    assert named("pharmacy: tokens", "button", r"Revoke token \S+… \(warehouse ERP\)")
    assert named("manufacturer: dashboard", "a", r"Ship lot A1B2 of Amoxicillin 500 mg")


def labels_for(page, element) -> list[str]:
    texts = [label.text for label in page.find_all("label", for_=element.get("id"))]
    texts += [a.text for a in element.ancestors() if a.tag == "label"]
    if element.get("aria-label"):
        texts.append(element.get("aria-label"))
    return [t for t in texts if t]


def test_every_input_has_a_label(screens):
    checked = 0
    for name, page in screens.items():
        for field in page.find_all(*LABELLED):
            if field.get("type") == "hidden":
                continue
            checked += 1
            assert labels_for(page, field), f"{name}: {field} has no label"
    assert checked >= 40


def test_every_aria_reference_names_an_element_on_the_screen(screens):
    for name, page in screens.items():
        for element in page.find_all():
            for attr in ("aria-describedby", "aria-labelledby"):
                for ref in (element.get(attr) or "").split():
                    assert page.by_id(ref) is not None, f"{name}: {attr}={ref} is nowhere"


def test_titles_say_error_only_when_a_form_has_errors(screens):
    for name, page in screens.items():
        assert not page.find("title").text.startswith("Error"), name
        assert page.find(role="alert", id="error-summary") is None, name


def test_pharmacist_hears_the_verdict_in_the_title_and_a_live_region(screens):
    page = screens["pharmacy: verify verdict"]
    assert page.find("title").text.startswith("AUTHENTIC — Verify a pack")
    region = page.find(role="status", id="verdict-announcement")
    assert region.get("data-announce").startswith("AUTHENTIC: Genuine and in your stock")


def test_pharmacist_hears_a_problem_verdict_too(batch, as_pharmacy):
    unknown = as_pharmacy.post("/pharmacy/verify/", {"code": "01095060001343522199"})
    page = parse(unknown.content.decode())
    assert page.find("title").text.startswith("UNKNOWN_SERIAL — Verify a pack")
    region = page.find(role="status", id="verdict-announcement")
    assert region.get("data-announce").startswith("UNKNOWN_SERIAL: Do not dispense.")


# Refused forms: who posts what where, the fields named in error, a message expected.
REFUSED = {
    "commission with nothing filled in": (
        "as_manufacturer", "/batches/new/", {}, ["lot", "quantity"], "This field is required",
    ),
    "commission a lot twice": (
        "as_manufacturer", "/batches/new/",
        {"product": "{product}", "lot": "A1B2", "manufactured_on": "2026-02-01",
         "expires_on": "2028-02-01", "quantity": "3"},
        [], "is commissioned already",
    ),
    "register a product without a name": (
        "as_manufacturer", "/products/new/", {"gtin": "09506000134369"}, ["name"], "required",
    ),
    "ship to nobody": (
        "as_manufacturer", "/ship/?batch={batch}", {"batch": "{batch}", "quantity": "2"},
        ["receiver"], "This field is required",
    ),
    "ship no packs": (
        "as_manufacturer", "/ship/?batch={batch}", {"batch": "{batch}", "quantity": "0"},
        ["quantity"], "How many packs: Ensure this value is greater than or equal to 1",
    ),
    "pack a case with a garbled line": (
        "as_manufacturer", "/cases/", {"packs": "no pack here"}, ["packs"], "Line 1",
    ),
    "dispense a garbled line": (
        "as_pharmacy", "/dispense/", {"lines": "no pack here"}, ["lines"], "Line 1",
    ),
    "destroy with a letter as separator": (
        "as_pharmacy", "/destroy/", {"lines": "09506000134352 X1", "separator": "A"},
        ["separator"], "",
    ),
    "verify a garbled scan": (
        "as_pharmacy", "/pharmacy/verify/", {"code": "nonsense"}, ["code"], "",
    ),
    "report without a note": ("as_pharmacy", "/pharmacy/report/", {}, ["note"], "required"),
    "issue a recall without a reason": (
        "as_regulator", "/recalls/new/", {"batches": "{batch}", "recall_class": "I"},
        ["reason"], "This field is required",
    ),
    "a token without a name": ("as_pharmacy", "/accounts/tokens/", {}, ["name"], "required"),
    "a wrong old password": (
        "as_pharmacy", "/accounts/password/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
        ["old_password", "new_password2"], "",
    ),
    "log in with a wrong password": (
        "client", "/accounts/login/", {"username": "nobody", "password": "wrong"}, [],
        "Please enter a correct username and password",
    ),
}  # fmt: skip


@pytest.mark.parametrize("story", REFUSED)
def test_a_refused_form_ties_each_error_to_its_field_and_sums_them_up(story, request, batch):
    who, path, data, fields, message = REFUSED[story]
    ids = {"batch": batch.pk, "product": batch.product.pk}
    data = {k: v.format(**ids) for k, v in data.items()}
    response = request.getfixturevalue(who).post(path.format(**ids), data)
    assert response.status_code in (200, 400)
    page = parse(response.content.decode())

    assert page.find("title").text.startswith("Error: ")
    main = page.find("main", id="main")
    summary = next(e for e in main.children if hasattr(e, "tag"))  # first thing in main
    assert (summary.get("id"), summary.get("role")) == ("error-summary", "alert")
    assert message in summary.text
    invalid = {e.get("id") for e in page.find_all(aria_invalid="true")}
    assert {f"id_{f}" for f in fields} <= invalid
    links = [a.get("href") for a in summary.find_all("a")]
    assert sorted(links) == sorted(f"#{i}" for i in invalid)  # each invalid field, once
    for field_id in invalid:
        described = page.by_id(field_id).get("aria-describedby").split()
        error = page.by_id(f"{field_id}_error")
        assert f"{field_id}_error" in described and "error" in error.get("class")
        assert error.text and error.text in summary.text


def test_the_stylesheets_show_a_focus_ring_and_never_remove_it():
    static = [Path(settings.BASE_DIR, app, "static") for app in ("traceability", "pharmacies")]
    sheets = [p for folder in static for p in folder.rglob("*.css") if "vendor" not in p.parts]
    site = Path(settings.BASE_DIR, "traceability/static/site.css").read_text()
    assert re.search(r":focus-visible[^{]*\{[^}]*outline:\s*3px solid", site)
    for sheet in sheets:
        css = sheet.read_text()
        assert not re.search(r"outline(-style)?:\s*(none|0)\b", css), sheet


needs_chromium = pytest.mark.skipif(
    not test_browser.CHROMIUM.exists(), reason=f"needs Debian's chromium at {test_browser.CHROMIUM}"
)
browser = test_browser.browser  # the fixtures that launch Debian's chromium
screenshots = test_browser.screenshots


@needs_chromium
def test_a_keyboard_user_skips_to_main_and_lands_on_the_error_summary(
    live_server, batch, manufacturer, browser, screenshots
):
    from playwright.sync_api import expect

    member_of(manufacturer, "acme")
    page = test_browser.watched_page(browser)
    test_browser.browser_log_in(page, live_server, "acme")
    page.goto(f"{live_server.url}/batches/new/")

    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Skip to main content")
    assert skip.bounding_box()["width"] > 50  # a 1px speck until focused; shown now
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # A lot commissioned already: the server refuses it.
    page.get_by_label("Lot").fill("A1B2")
    page.get_by_label("Manufactured on").fill("2026-02-01")
    page.get_by_label("Expires on").fill("2028-02-01")
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Commission batch").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("lot A1B2 of Amoxicillin 500 mg is commissioned already")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(page).to_have_title(re.compile(r"^Error: Commission a batch"))
    page.screenshot(path=screenshots / "error-summary.png", full_page=True)
    # The refusal's own 400 status is logged as a console error; nothing else may be.
    assert [p for p in page.problems if "status of 400" not in p] == []


@needs_chromium
def test_the_verdict_is_put_in_the_live_region_after_the_page_loads(
    live_server, batch, manufacturer, pharmacy, browser
):
    from playwright.sync_api import expect

    deliver(batch, manufacturer, pharmacy, 1)
    member_of(pharmacy, "linden")
    page = test_browser.watched_page(browser)
    test_browser.browser_log_in(page, live_server, "linden")
    page.goto(f"{live_server.url}/pharmacy/verify/")
    page.get_by_label("Scan or type the pack's code").fill(pack_code(in_stock(batch, pharmacy)[0]))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_title(re.compile(r"^AUTHENTIC — Verify a pack"))
    expect(page.get_by_role("status").filter(has_text="AUTHENTIC")).to_have_text(
        "AUTHENTIC: Genuine and in your stock: you may dispense it."
    )
    expect(page.get_by_label("Scan or type the pack's code")).to_be_focused()  # for the next scan
    assert page.problems == []
