"""Reading codes over the API: GET /api/v1/scan parses a raw scan, POST
/api/v1/scan/image finds and parses the codes in a photo (zxing-cpp)."""

import io

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests import factories
from tests.barcodes import photo_of, symbol_image
from tests.web.helpers import bearer
from traceability.models import Organisation

pytestmark = pytest.mark.django_db
GTIN = "09506000134352"
GS = "\x1d"


@pytest.fixture
def api():
    return bearer(factories.organisation(Organisation.Role.PHARMACY))


def jpeg(image) -> SimpleUploadedFile:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


def test_a_till_system_parses_a_raw_datamatrix_scan(api):
    response = api.get("/api/v1/scan", {"code": f"]d201{GTIN}1727013110A1{GS}21SN1"})
    assert response.status_code == 200
    assert response.json() == {
        "gtin": GTIN,
        "serial": "SN1",
        "lot": "A1",
        "expiry": "2027-01-31",
        "sscc": None,
        "raw": f"]d201{GTIN}1727013110A1{GS}21SN1",
    }


def test_a_scanner_separator_is_passed_as_a_parameter(api):
    response = api.get("/api/v1/scan", {"code": f"01{GTIN}10A1|21SN1", "separator": "|"})
    assert (response.json()["lot"], response.json()["serial"]) == ("A1", "SN1")


@pytest.mark.parametrize(
    ("code", "field", "message"),
    [
        (f"01{GTIN[:-1]}9", "gtin", "check digit"),
        ("", "code", "empty"),
        (f"01{GTIN}10{'X' * 30}", "lot", "1 to 20 characters"),
        ("10LOT", "gtin", "no GTIN"),
    ],
)
def test_a_bad_scan_is_a_400_naming_the_field(api, code, field, message):
    response = api.get("/api/v1/scan", {"code": code})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("bad_scan", field)
    assert message in body["error"]


def test_a_bad_separator_is_a_400_naming_separator(api):
    response = api.get("/api/v1/scan", {"code": f"01{GTIN}", "separator": "AB"})
    assert (response.status_code, response.json()["field"]) == (400, "separator")


def test_a_photo_of_a_pack_and_a_case_yields_both_codes_parsed(api):
    pack = symbol_image(f"[01]{GTIN}[17]270131[10]A1[21]SN1")
    case = symbol_image("[00]106141412345678908", zxingcpp.BarcodeFormat.Code128, scale=3)
    response = api.post("/api/v1/scan/image", {"image": jpeg(photo_of([pack, case]))})
    assert response.status_code == 200
    codes = {c["format"]: c for c in response.json()["codes"]}
    assert codes["DataMatrix"]["raw"] == f"]d201{GTIN}1727013110A1{GS}21SN1"
    assert codes["DataMatrix"]["scan"]["serial"] == "SN1"
    assert codes["Code128"]["raw"] == "]C100106141412345678908"
    assert codes["Code128"]["scan"]["sscc"] == "106141412345678908"


def test_a_photo_of_a_non_gs1_code_is_reported_with_why(api):
    plain = zxingcpp.create_barcode("hello counter", zxingcpp.BarcodeFormat.QRCode).to_image(
        scale=8
    )
    picture = Image.frombytes("L", plain.shape[::-1], bytes(memoryview(plain)))
    (code,) = api.post("/api/v1/scan/image", {"image": jpeg(photo_of([picture]))}).json()["codes"]
    assert code["scan"] is None
    assert code["error"]["field"] == "code"


def test_a_photo_without_a_code_is_a_400_saying_so(api):
    response = api.post("/api/v1/scan/image", {"image": jpeg(Image.new("L", (640, 480), 200))})
    assert response.status_code == 400
    assert response.json()["code"] == "no_barcode"


def test_a_file_that_is_not_an_image_is_a_400(api):
    upload = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = api.post("/api/v1/scan/image", {"image": upload})
    assert (response.status_code, response.json()["code"]) == (400, "bad_image")


def test_no_image_field_is_a_400(api):
    response = api.post("/api/v1/scan/image", {"picture": "x"})
    assert (response.status_code, response.json()["code"]) == (400, "no_image")


def test_scanning_needs_credentials():
    assert Client().get("/api/v1/scan", {"code": "x"}).status_code == 401
