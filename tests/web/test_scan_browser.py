"""The scan field in a real browser (Debian's chromium through Playwright): a keyboard
wedge that sends GS as Ctrl+], the camera reading a DataMatrix with zxing-wasm under
our CSP (Chromium's fake camera plays a video of a printed code), and a photo decoded
on the server."""

import io
import os
from pathlib import Path

import pytest
from django.db import connections
from PIL import Image

from tests.barcodes import photo_of, symbol_image
from tests.web.helpers import deliver, in_stock, member_of, ship
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, browser_log_in, watched_page
from traceability.models import Pack, Shipment

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Debian's chromium at {CHROMIUM}"
)
GS_SYMBOL = "\u241d"


def y4m_video(image: Image.Image, path: Path, size=(640, 480), frames=5) -> Path:
    """A still picture as a YUV4MPEG2 clip, the format Chromium's fake camera plays."""
    frame = Image.new("L", size, 200)
    frame.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    chroma = bytes([128]) * (size[0] // 2 * size[1] // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return path


@pytest.fixture
def launch(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    browsers = []
    with sync_api.sync_playwright() as playwright:

        def start(*extra_args):
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
            )
            browsers.append(browser)
            return browser

        yield start
        for browser in browsers:
            browser.close()
        connections.close_all()


@pytest.fixture
def screenshots(tmp_path):
    folder = Path(os.environ.get("WEB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def logged_in_page(browser, live_server, org, username):

    member_of(org, username)
    page = watched_page(browser, viewport={"width": 1100, "height": 900})
    page.set_default_timeout(15_000)
    browser_log_in(page, live_server, username)
    return page


def pack_code(pack) -> str:
    return f"[01]{pack.gtin}[17]280101[10]A1B2[21]{pack.serial}"


def test_pharmacist_dispenses_with_a_keyboard_wedge_that_sends_gs_as_ctrl_bracket(
    live_server, batch, manufacturer, pharmacy, launch, screenshots
):
    from playwright.sync_api import expect

    deliver(batch, manufacturer, pharmacy, 2)
    packs = in_stock(batch, pharmacy)
    page = logged_in_page(launch(), live_server, pharmacy, "counter")
    page.goto(f"{live_server.url}/dispense/")
    box = page.get_by_label("Packs")
    expect(page.locator("[data-scan-field]")).to_have_attribute("data-scan-ready", "true")
    box.focus()
    for pack in packs:  # what the wedge types: ]d2, the fixed fields, Ctrl+] for GS, Enter
        page.keyboard.type(f"]d201{pack.gtin}1728010110A1B2")
        page.keyboard.press("Control+BracketRight")
        page.keyboard.type(f"21{pack.serial}")
        page.keyboard.press("Enter")
    expect(box).to_have_value(
        "".join(f"]d201{p.gtin}1728010110A1B2{GS_SYMBOL}21{p.serial}\n" for p in packs)
    )
    page.screenshot(path=screenshots / "dispense-wedge.png", full_page=True)
    page.get_by_role("button", name="Dispense").click()
    expect(page.locator(".messages")).to_contain_text("Dispensed 2 packs.")
    assert set(Pack.objects.filter(custodian=pharmacy).values_list("status", flat=True)) == {
        "supplied"
    }
    assert page.problems == []


def test_receiver_points_the_camera_at_a_pack_and_lands_on_its_shipment(
    live_server, batch, manufacturer, distributor, launch, tmp_path, screenshots
):
    from playwright.sync_api import expect

    ship(batch, manufacturer, distributor, 3)
    shipment = Shipment.objects.get()
    pack = shipment.packs.order_by("pk").first()
    video = y4m_video(symbol_image(pack_code(pack), scale=8), tmp_path / "pack.y4m")
    browser = launch(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    page = logged_in_page(browser, live_server, distributor, "goods-in")
    page.get_by_role("link", name="Scan a pack to find its shipment").click()
    expect(page.locator("[data-scan-field]")).to_have_attribute("data-scan-ready", "true")
    page.get_by_role("button", name="Scan with camera").click()
    # The camera read submits the form: the page names the shipment the pack is in.
    expect(page.get_by_role("heading", name=f"Shipment from {manufacturer.name}")).to_be_visible()
    expect(page.get_by_label("Scan a pack or case")).to_have_value(
        f"]d201{pack.gtin}1728010110A1B2{GS_SYMBOL}21{pack.serial}"
    )
    page.screenshot(path=screenshots / "find-shipment-camera.png", full_page=True)
    page.get_by_role("button", name="Receive all 3 packs").click()
    expect(page.locator(".messages")).to_contain_text(f"Received 3 packs from {manufacturer.name}")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RECEIVED
    assert page.problems == []  # the WebAssembly compiled under our CSP


def test_a_photo_of_two_packs_fills_the_destroy_list(
    live_server, batch, manufacturer, launch, tmp_path, screenshots
):
    from playwright.sync_api import expect

    packs = list(batch.packs.order_by("pk")[:2])
    photo = io.BytesIO()
    photo_of([symbol_image(pack_code(p), scale=10) for p in packs]).save(photo, "PNG")
    page = logged_in_page(launch(), live_server, manufacturer, "qa")
    page.goto(f"{live_server.url}/destroy/")
    expect(page.locator("[data-scan-field]")).to_have_attribute("data-scan-ready", "true")
    page.locator("[data-scan-photo]").set_input_files(
        files=[{"name": "packs.png", "mimeType": "image/png", "buffer": photo.getvalue()}]
    )
    expect(page.locator("[data-scan-status]")).to_have_text("Found 2 codes in the photo.")
    page.screenshot(path=screenshots / "destroy-photo.png", full_page=True)
    page.get_by_role("button", name="Destroy").click()
    expect(page.locator(".messages")).to_contain_text("Destroyed 2 packs.")
    assert {p.status for p in Pack.objects.filter(pk__in=[p.pk for p in packs])} == {"destroyed"}
    assert page.problems == []
