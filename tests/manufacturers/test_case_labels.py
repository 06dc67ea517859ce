"""GET /api/v1/cases/labels.pdf: GS1-128 labels for the cases and pallets you hold."""

import pytest

from manufacturers.selectors import case_label, cases_for_labels
from tests.barcodes import decode_pages
from tests.web.helpers import bearer, logged_in
from traceability.aggregation import case_pack, sscc_new
from traceability.shipping import shipment_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/cases/labels.pdf"


def packed(holder, packs):
    return case_pack(
        holder=holder, sscc=sscc_new(holder), sgtins=[(p.gtin, p.serial) for p in packs]
    )


@pytest.fixture
def cases(batch, manufacturer):
    packs = list(batch.packs.order_by("pk"))
    first, second = packed(manufacturer, packs[:4]), packed(manufacturer, packs[4:6])
    pallet = case_pack(
        holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[first.sscc, second.sscc]
    )
    return first, second, pallet


def test_warehouse_prints_a_gs1_128_label_for_every_case_it_holds(cases, manufacturer, tmp_path):
    response = bearer(manufacturer).get(URL, {"layout": "a4-2x7"})
    assert response.status_code == 200
    (decoded,) = decode_pages(response.content, tmp_path)
    assert sorted((d.symbology, d.text) for d in decoded) == sorted(
        ("]C1", f"00{case.sscc}") for case in cases
    )


def test_labels_name_what_each_case_holds(cases, manufacturer):
    captions = {c.sscc: case_label(c).caption for c in cases_for_labels(manufacturer)}
    first, second, pallet = cases
    assert captions == {
        first.sscc: "Case: 4 packs",
        second.sscc: "Case: 2 packs",
        pallet.sscc: "Pallet: 2 cases",
    }


def test_named_cases_only_and_a_scan_of_the_label_names_one(cases, manufacturer, tmp_path):
    first = cases[0]
    response = bearer(manufacturer).get(URL, {"sscc": [f"]C100{first.sscc}"]})
    (decoded,) = decode_pages(response.content, tmp_path)
    assert [d.text for d in decoded] == [f"00{first.sscc}"]


def test_a_case_held_by_someone_else_is_404(cases, manufacturer, distributor):
    response = bearer(distributor).get(URL, {"sscc": cases[0].sscc})
    assert response.status_code == 404
    assert cases[0].sscc in response.json()["error"]


def test_a_case_in_transit_to_me_is_not_mine_to_label_yet(cases, manufacturer, distributor):
    shipment_create(sender=manufacturer, receiver=distributor, ssccs=[cases[2].sscc])
    assert bearer(distributor).get(URL, {"sscc": cases[2].sscc}).status_code == 404


def test_a_bad_sscc_is_a_400_naming_sscc(cases, manufacturer):
    response = bearer(manufacturer).get(URL, {"sscc": "106141412345678909"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"sscc"}
    assert "check digit" in response.json()["error"]


def test_holding_no_cases_is_a_400_not_an_empty_pdf(batch, distributor):
    response = bearer(distributor).get(URL)
    assert response.status_code == 400
    assert "no labels to print" in response.json()["error"]


def test_a_regulator_names_the_cases_it_wants(cases, regulator):
    assert bearer(regulator).get(URL).status_code == 400
    assert bearer(regulator).get(URL, {"sscc": cases[0].sscc}).status_code == 200


def test_the_cases_page_offers_labels_to_whoever_holds_cases(cases, manufacturer, distributor):
    assert f'href="{URL}"' in logged_in(manufacturer).get("/cases/").content.decode()
    assert f'href="{URL}"' not in logged_in(distributor).get("/cases/").content.decode()
