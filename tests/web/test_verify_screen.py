"""The pharmacy counter screen and the alerts inbox, through Django's test client."""

import io
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests import factories
from tests.web.helpers import deliver, logged_in
from traceability import keys
from traceability.models import Alert, Organisation, Pack

pytestmark = pytest.mark.django_db
GS = "\x1d"


def code(pack, lot="A1B2"):
    return f"01{pack.gtin}17280101 10{lot}{GS}21{pack.serial}".replace(" ", "")


@pytest.fixture
def held(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 2)
    return batch.packs.filter(custodian=pharmacy).order_by("pk").first()


def test_pharmacist_scans_an_authentic_pack_and_dispenses_it_then_undoes(held, as_pharmacy):
    page = as_pharmacy.post("/pharmacy/verify/", {"code": code(held)})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="verdict">AUTHENTIC<' in html and 'value="dispense"' in html

    done = as_pharmacy.post(
        "/pharmacy/packs/action/", {"action": "dispense", "code": code(held)}, follow=True
    )
    assert f"Dispensed pack {held.serial}." in done.content.decode()
    assert Pack.objects.get(pk=held.pk).status == Pack.Status.SUPPLIED
    assert "Undo this dispense" in done.content.decode()

    as_pharmacy.post("/pharmacy/packs/action/", {"action": "undo", "code": code(held)})
    assert Pack.objects.get(pk=held.pk).status == Pack.Status.ACTIVE


def test_a_scanner_sending_a_pipe_for_fnc1_verifies_and_dispenses_once_set(held, as_pharmacy):
    piped = code(held).replace(GS, "|")
    page = as_pharmacy.post("/pharmacy/verify/", {"code": piped, "separator": "|"})
    html = page.content.decode()
    assert 'id="verdict">AUTHENTIC<' in html
    carried = re.search(r'name="code" value="([^"]+)"', html.split('id="verdict"')[1])[1]
    done = as_pharmacy.post(
        "/pharmacy/packs/action/", {"action": "dispense", "code": unescape(carried)}
    )
    assert done.status_code == 302
    assert Pack.objects.get(pk=held.pk).status == Pack.Status.SUPPLIED


def test_a_letter_as_separator_is_refused_at_the_counter(held, as_pharmacy):
    page = as_pharmacy.post("/pharmacy/verify/", {"code": code(held), "separator": "A"})
    assert page.status_code == 400
    assert 'id="verdict"' not in page.content.decode()


def test_pharmacist_sees_already_dispensed_for_second_scan_and_cannot_dispense(held, as_pharmacy):
    as_pharmacy.post("/pharmacy/packs/action/", {"action": "dispense", "code": code(held)})
    page = as_pharmacy.post("/pharmacy/verify/", {"code": code(held)})
    html = page.content.decode()
    assert 'id="verdict">ALREADY_DISPENSED<' in html
    assert 'value="dispense"' not in html
    again = as_pharmacy.post("/pharmacy/packs/action/", {"action": "dispense", "code": code(held)})
    assert again.status_code == 400
    assert "is supplied and can no longer move" in again.content.decode()
    assert "<title>Error: " in again.content.decode()


def test_a_malformed_scan_is_shown_on_the_form_and_raises_no_alert(as_pharmacy, batch):
    page = as_pharmacy.post("/pharmacy/verify/", {"code": "0109506000134352"})
    assert page.status_code == 400
    assert "no serial number (21)" in page.content.decode()
    assert Alert.objects.count() == 0


def test_verifying_is_a_post_so_another_site_cannot_raise_alerts(as_pharmacy, held):
    page = as_pharmacy.get("/pharmacy/verify/", {"code": code(held, lot="X")})
    assert page.status_code == 200 and 'id="verdict"' not in page.content.decode()
    assert Alert.objects.count() == 0


def test_only_pharmacies_open_the_counter_screen(as_distributor, as_regulator):
    assert as_distributor.get("/pharmacy/verify/").status_code == 403
    assert as_regulator.post("/pharmacy/verify/", {"code": "x"}).status_code == 403


def test_pharmacist_reports_a_pack_stolen_from_the_screen(held, as_pharmacy):
    as_pharmacy.post("/pharmacy/packs/action/", {"action": "stolen", "code": code(held)})
    assert Pack.objects.get(pk=held.pk).status == Pack.Status.STOLEN


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="PNG")
    return SimpleUploadedFile("pack.png", buffer.getvalue(), content_type="image/png")


def test_pharmacist_files_a_suspect_report_the_manufacturer_sees_with_its_photo(
    held, as_pharmacy, manufacturer
):
    page = as_pharmacy.post(
        "/pharmacy/report/", {"code": code(held), "note": "Print is blurred.", "photo": png()}
    )
    assert page.status_code == 302
    alert = Alert.objects.get()
    as_maker = logged_in(manufacturer)
    inbox = as_maker.get("/alerts/").content.decode()
    assert f"T9-{alert.pk}" in inbox and "SUSPECT_REPORT" in inbox
    detail = as_maker.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Print is blurred." in detail
    photo = as_maker.get(f"/alerts/{alert.pk}/photo")
    assert photo["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(photo.content)).size == (8, 8)


def test_a_report_with_a_text_file_as_photo_is_refused_on_the_form(as_pharmacy):
    fake = SimpleUploadedFile("pack.png", b"#!/bin/sh\n", content_type="image/png")
    page = as_pharmacy.post("/pharmacy/report/", {"note": "odd", "photo": fake})
    assert page.status_code == 400
    assert "photo must be a JPEG, PNG or WebP image" in page.content.decode()
    assert Alert.objects.count() == 0


@pytest.fixture
def diversion(batch, pharmacy, as_pharmacy):
    as_pharmacy.post("/pharmacy/verify/", {"code": code(batch.packs.first())})
    return Alert.objects.get()


def test_the_regulator_moves_an_alert_to_investigating_then_closes_it(diversion, as_regulator):
    as_regulator.post(f"/alerts/{diversion.pk}/status", {"status": "investigating"})
    refused = as_regulator.post(f"/alerts/{diversion.pk}/status", {"status": "closed_falsified"})
    assert refused.status_code == 400
    assert "say what the investigation found" in refused.content.decode()
    assert "<title>Error: " in refused.content.decode()
    as_regulator.post(
        f"/alerts/{diversion.pk}/status",
        {"status": "closed_falsified", "resolution": "Seized at the wholesaler."},
    )
    diversion.refresh_from_db()
    assert diversion.status == Alert.Status.FALSIFIED
    assert "closed: confirmed falsified" in as_regulator.get("/alerts/?status=all").content.decode()


def test_the_scanning_pharmacy_sees_its_alert_but_may_not_change_it(diversion, as_pharmacy):
    assert as_pharmacy.get(f"/alerts/{diversion.pk}/").status_code == 200
    refused = as_pharmacy.post(f"/alerts/{diversion.pk}/status", {"status": "investigating"})
    assert refused.status_code == 403
    diversion.refresh_from_db()
    assert diversion.status == Alert.Status.NEW


def test_another_manufacturer_gets_a_404_for_an_alert_it_may_not_see(diversion, regulator):
    other = factories.organisation(Organisation.Role.MANUFACTURER, name="Borealis")
    keys.key_register(organisation=other, registered_by=regulator)
    client = logged_in(other)
    assert client.get(f"/alerts/{diversion.pk}/").status_code == 404
    assert (
        client.post(f"/alerts/{diversion.pk}/status", {"status": "investigating"}).status_code
        == 404
    )
    assert "No open alerts." in client.get("/alerts/").content.decode()
