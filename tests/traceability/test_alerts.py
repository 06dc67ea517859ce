import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests import factories
from traceability import keys
from traceability.alerts import (
    AlertRefused,
    alert_status_change,
    alerts_visible_to,
    suspect_report_file,
)
from traceability.models import Alert, Organisation
from traceability.verification import pack_verify

pytestmark = pytest.mark.django_db


def photo(fmt="PNG", size=(40, 30), name="pack.png"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.fixture
def diverted(batch, pharmacy):
    """A pharmacy scanned a pack the ledger says the manufacturer holds."""
    pack = batch.packs.first()
    pack_verify(scanner=pharmacy, gtin=pack.gtin, serial=pack.serial)
    return Alert.objects.get()


@pytest.fixture
def other_manufacturer(regulator):
    org = factories.organisation(Organisation.Role.MANUFACTURER, name="Borealis")
    keys.key_register(organisation=org, registered_by=regulator)
    return org


def test_the_regulator_and_the_products_manufacturer_see_the_alert_others_do_not(
    diverted, regulator, manufacturer, other_manufacturer, distributor, pharmacy
):
    assert list(alerts_visible_to(regulator)) == [diverted]
    assert list(alerts_visible_to(manufacturer)) == [diverted]
    assert list(alerts_visible_to(pharmacy)) == [diverted]  # its own scan
    assert list(alerts_visible_to(other_manufacturer)) == []
    assert list(alerts_visible_to(distributor)) == []


def test_the_manufacturer_investigates_then_closes_with_a_finding(diverted, manufacturer):
    alert_status_change(alert=diverted, by=manufacturer, status="investigating")
    closed = alert_status_change(
        alert=diverted,
        by=manufacturer,
        status="closed_false_positive",
        resolution="Pack was sold to this pharmacy; shipment was never recorded.",
    )
    assert closed.status == Alert.Status.FALSE_POSITIVE
    assert closed.status_changed_by == manufacturer
    with pytest.raises(AlertRefused, match="cannot become investigating"):
        alert_status_change(alert=diverted, by=manufacturer, status="investigating")


def test_closing_needs_a_finding(diverted, regulator):
    with pytest.raises(AlertRefused, match="say what the investigation found") as refused:
        alert_status_change(alert=diverted, by=regulator, status="closed_falsified")
    assert refused.value.field == "resolution"


def test_pharmacies_and_other_manufacturers_may_not_change_an_alert(
    diverted, pharmacy, other_manufacturer
):
    for org in (pharmacy, other_manufacturer):
        with pytest.raises(AlertRefused, match="only a regulator or the product's manufacturer"):
            alert_status_change(alert=diverted, by=org, status="investigating")
    assert Alert.objects.get().status == Alert.Status.NEW


def test_a_pharmacy_files_a_suspect_report_with_a_note_and_a_photo(
    pharmacy, batch, manufacturer, regulator
):
    report = suspect_report_file(
        pharmacy=pharmacy,
        gtin=batch.product.gtin,
        serial="ABC",
        note="Blister foil is a different colour.",
        photo=photo(),
    )
    assert (report.verdict, report.code, report.photo_type) == ("SUSPECT_REPORT", "T9", "image/png")
    assert report.manufacturer == manufacturer
    assert Image.open(io.BytesIO(report.photo)).size == (40, 30)
    assert list(alerts_visible_to(regulator)) == [report]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("x.png", b"not an image at all"), "must be a JPEG, PNG or WebP"),
        (photo("GIF", name="x.gif"), "is a GIF image"),
        (SimpleUploadedFile("big.png", b"\0" * (5 * 1024 * 1024 + 1)), "larger than 5 MB"),
    ],
)
def test_a_suspect_report_refuses_a_photo_of_the_wrong_type_or_size(pharmacy, upload, message):
    with pytest.raises(AlertRefused, match=message) as refused:
        suspect_report_file(pharmacy=pharmacy, note="odd", photo=upload)
    assert refused.value.field == "photo"
    assert Alert.objects.count() == 0


def test_a_suspect_report_needs_a_note_and_a_pharmacy(pharmacy, distributor):
    with pytest.raises(AlertRefused, match="describe what makes the product suspect"):
        suspect_report_file(pharmacy=pharmacy, note="  ")
    with pytest.raises(AlertRefused, match="only a pharmacy"):
        suspect_report_file(pharmacy=distributor, note="odd")
