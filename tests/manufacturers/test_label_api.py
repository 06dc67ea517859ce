"""GET /api/v1/batches/<gtin>/<lot>/labels.pdf: for the product's manufacturer and
regulators, by bearer token or session; everyone else gets 404."""

from datetime import date

import pytest
from django.test import Client

from tests import factories
from tests.barcodes import decode_pages
from tests.web.helpers import bearer, deliver, logged_in
from traceability.commissioning import batch_commission, product_register
from traceability.models import Organisation

pytestmark = pytest.mark.django_db

URL = "/api/v1/batches/09506000134352/A1B2/labels.pdf"
GS = "\x1d"


def test_manufacturer_downloads_its_batch_labels_and_each_pack_decodes(
    batch, manufacturer, tmp_path
):
    response = bearer(manufacturer).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "labels-09506000134352-a1b2-a4.pdf" in response["Content-Disposition"]
    (decoded,) = decode_pages(response.content, tmp_path)
    expected = {
        f"010950600013435217280101 10A1B2{GS}21{serial}".replace(" ", "")
        for serial in batch.packs.values_list("serial", flat=True)
    }
    assert {(d.symbology, d.text) for d in decoded} == {("]d2", e) for e in expected}
    assert len(decoded) == batch.quantity == 10


def test_a_web_session_may_download_labels_too(batch, manufacturer):
    response = logged_in(manufacturer).get(URL, {"layout": "a4-3x8"})
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_regulator_may_print_any_batch_labels(batch, regulator):
    assert bearer(regulator).get(URL).status_code == 200


@pytest.mark.parametrize("role", ["distributor", "pharmacy"])
def test_trading_partners_get_404_even_when_they_hold_the_packs(batch, role, request):
    org = request.getfixturevalue(role)
    response = bearer(org).get(URL)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_another_manufacturer_gets_404(batch, regulator):
    rival = factories.organisation(Organisation.Role.MANUFACTURER, name="Rival")
    assert bearer(rival).get(URL).status_code == 404


def test_without_credentials_it_is_401(batch):
    assert Client().get(URL).status_code == 401


def test_an_unknown_layout_is_a_400_naming_layout_and_the_choices(batch, manufacturer):
    response = bearer(manufacturer).get(URL, {"layout": "a5-9x9"})
    assert response.status_code == 400
    body = response.json()
    assert "layout" in body["fields"]
    assert "'a5-9x9' is not one of a4, a4-3x8" in body["error"]


@pytest.mark.parametrize("skip", ["-1", "x", "27", "\u00b2", "9" * 5000])
def test_a_bad_skip_is_a_400_naming_skip(batch, manufacturer, skip):
    response = bearer(manufacturer).get(URL, {"skip": skip})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"skip"}


def test_a_lot_with_a_slash_is_addressed_by_its_path(manufacturer, tmp_path):
    product = product_register(manufacturer=manufacturer, gtin="09506000134369", name="Ibuprofen")
    batch_commission(
        manufacturer=manufacturer,
        product=product,
        lot="24/07-B",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 6, 30),
        quantity=2,
    )
    response = bearer(manufacturer).get("/api/v1/batches/09506000134369/24/07-B/labels.pdf")
    assert response.status_code == 200
    (decoded,) = decode_pages(response.content, tmp_path)
    assert all(d.text.startswith("0109506000134369172806301024/07-B\x1d21") for d in decoded)


def test_the_schema_documents_the_labels_endpoint(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/batches/{gtin}/{lot}/labels.pdf" in schema
    assert "a4-3x8" in schema


def test_batch_page_offers_the_label_sheet_to_the_manufacturer(batch, manufacturer):
    page = logged_in(manufacturer).get("/batches/09506000134352/A1B2/").content.decode()
    assert 'action="/api/v1/batches/09506000134352/A1B2/labels.pdf"' in page
    assert '<option value="a4-3x8">' in page


def test_batch_page_offers_no_labels_to_a_distributor_holding_packs(
    batch, manufacturer, distributor
):
    deliver(batch, manufacturer, distributor, 2)
    response = logged_in(distributor).get("/batches/09506000134352/A1B2/")
    assert response.status_code == 200
    assert "labels.pdf" not in response.content.decode()
