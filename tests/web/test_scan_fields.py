"""Every scan field reads codes with the one parser: dispense and destroy take scanned
packs line by line, and receiving finds the shipment a scanned pack travels in."""

from urllib.parse import quote

import pytest

from ledger import storage
from tests.web.helpers import deliver, in_stock, ship
from traceability.aggregation import case_pack, sscc_new
from traceability.models import Pack, Shipment
from traceability.shipping import shipment_create

pytestmark = pytest.mark.django_db

GS = "\x1d"
GS_SYMBOL = "\u241d"  # what the scan field shows for the invisible ASCII 29


def datamatrix(pack, separator=GS):
    return f"]d201{pack.gtin}17280101 10A1B2{separator}21{pack.serial}".replace(" ", "")


def hri(pack):
    return f"(01){pack.gtin}(17)280101(10)A1B2(21){pack.serial}"


def digital_link(pack):
    return f"https://id.example.com/01/{pack.gtin}/10/A1B2/21/{quote(pack.serial)}?17=280101"


def statuses(packs):
    return {p.status for p in Pack.objects.filter(pk__in=[p.pk for p in packs])}


def test_pharmacist_dispenses_packs_scanned_in_every_form(
    batch, manufacturer, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, pharmacy, 5)
    packs = in_stock(batch, pharmacy)
    scanned = [
        datamatrix(packs[0]),
        datamatrix(packs[1], GS_SYMBOL),
        hri(packs[2]),
        digital_link(packs[3]),
        f"{packs[4].gtin} {packs[4].serial}",  # typed by hand
    ]
    response = as_pharmacy.post("/dispense/", {"lines": "\r\n".join(scanned) + "\r\n"})
    assert response.status_code == 302
    assert statuses(packs) == {Pack.Status.SUPPLIED}


def test_pharmacist_cannot_dispense_a_pack_whose_code_names_another_lot(
    batch, manufacturer, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, pharmacy, 2)
    genuine, relabelled = in_stock(batch, pharmacy)
    size = storage.head_size()
    wrong_lot = datamatrix(relabelled).replace("10A1B2", "10ZZ99")
    response = as_pharmacy.post("/dispense/", {"lines": f"{datamatrix(genuine)}\n{wrong_lot}"})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"Line 2: the code says lot ZZ99, but serial {relabelled.serial} is of lot A1B2." in page
    assert "check it on the Verify screen" in page
    assert storage.head_size() == size
    assert statuses([genuine, relabelled]) == {"active"}


def test_a_wrong_printed_expiry_is_named_on_the_destroy_form_too(
    batch, manufacturer, distributor, as_distributor
):
    deliver(batch, manufacturer, distributor, 1)
    (pack,) = in_stock(batch, distributor)
    response = as_distributor.post(
        "/destroy/", {"lines": datamatrix(pack).replace("17280101", "17290101")}
    )
    assert response.status_code == 400
    assert "the code says expiry 2029-01-01, but lot A1B2 expires 2028-01-01" in (
        response.content.decode()
    )
    assert statuses([pack]) == {"active"}


def test_a_scanner_that_sends_a_pipe_for_fnc1_works_once_the_separator_is_set(
    batch, manufacturer, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, pharmacy, 1)
    (pack,) = in_stock(batch, pharmacy)
    line = datamatrix(pack, "|")
    refused = as_pharmacy.post("/dispense/", {"lines": line})
    assert refused.status_code == 400
    assert "set the character it sends instead" in refused.content.decode()
    response = as_pharmacy.post("/dispense/", {"lines": line, "separator": "|"})
    assert response.status_code == 302
    assert statuses([pack]) == {Pack.Status.SUPPLIED}


def test_a_letter_as_separator_is_refused_on_its_field(batch, as_pharmacy):
    response = as_pharmacy.post("/dispense/", {"lines": "x", "separator": "A"})
    assert response.status_code == 400
    assert "separator &#x27;A&#x27; must be one character" in response.content.decode()


def test_a_scanned_wrong_check_digit_names_the_line_and_the_gtin(batch, as_pharmacy):
    size = storage.head_size()
    response = as_pharmacy.post("/dispense/", {"lines": "]d2010950600013435321SN1"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 1" in page
    assert "Invalid GTIN check digit" in page
    assert storage.head_size() == size


def test_an_unknown_case_label_on_the_dispense_form_is_refused(batch, as_pharmacy):
    response = as_pharmacy.post("/dispense/", {"lines": "]C100106141412345678908"})
    assert response.status_code == 400
    assert "case 106141412345678908 is unknown" in response.content.decode()


def test_a_product_barcode_without_serial_is_refused(batch, as_pharmacy):
    response = as_pharmacy.post("/dispense/", {"lines": "9506000134352"})
    assert response.status_code == 400
    assert "no serial number (21)" in response.content.decode()


def test_distributor_destroys_scanned_packs(batch, manufacturer, distributor, as_distributor):
    deliver(batch, manufacturer, distributor, 2)
    packs = in_stock(batch, distributor)
    response = as_distributor.post("/destroy/", {"lines": "\n".join(map(datamatrix, packs))})
    assert response.status_code == 302
    assert statuses(packs) == {Pack.Status.DESTROYED}


def test_the_dispense_page_carries_the_scan_field(as_pharmacy):
    page = as_pharmacy.get("/dispense/").content.decode()
    assert "data-scan-field" in page
    assert "data-scan-input" in page
    assert "/static/vendor/zxing-wasm/es/reader/index.js" in page
    assert '<script type="module" src="/static/scan/scan-field.js">' in page


# Receiving by scan


def test_receiver_scans_a_pack_and_finds_the_shipment_it_travels_in(
    batch, manufacturer, distributor, as_distributor
):
    ship(batch, manufacturer, distributor, 3)
    shipment = Shipment.objects.get()
    pack = shipment.packs.first()
    response = as_distributor.get("/shipments/find/", {"code": datamatrix(pack)})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Shipment from {manufacturer.name}" in page
    assert f'action="/shipments/{shipment.public_id}/receive/"' in page
    assert "Receive all 3 packs" in page


def test_a_pack_already_received_is_not_found_again(
    batch, manufacturer, distributor, as_distributor
):
    deliver(batch, manufacturer, distributor, 1)
    (pack,) = in_stock(batch, distributor)
    response = as_distributor.get("/shipments/find/", {"code": datamatrix(pack)})
    assert response.status_code == 404
    assert "No shipment on its way to you holds pack" in response.content.decode()


def test_a_shipment_to_someone_else_is_not_found(
    batch, manufacturer, distributor, pharmacy, as_pharmacy
):
    ship(batch, manufacturer, distributor, 1)
    pack = Shipment.objects.get().packs.get()
    response = as_pharmacy.get("/shipments/find/", {"code": datamatrix(pack)})
    assert response.status_code == 404
    assert manufacturer.name not in response.content.decode().split("<main ")[1]


def test_an_unreadable_scan_on_the_find_page_is_a_400(batch, as_distributor):
    response = as_distributor.get("/shipments/find/", {"code": "]d2hello"})
    assert response.status_code == 400
    assert "no GS1 application identifier" in response.content.decode()


def test_the_find_page_starts_empty_with_its_scan_field(as_distributor):
    response = as_distributor.get("/shipments/find/")
    assert response.status_code == 200
    assert "data-submit-on-scan" in response.content.decode()


def test_the_dashboard_links_inbound_shipments_to_the_find_page(
    batch, manufacturer, distributor, as_distributor
):
    ship(batch, manufacturer, distributor, 1)
    assert 'href="/shipments/find/"' in as_distributor.get("/dashboard/").content.decode()


def test_the_policy_lets_webassembly_compile_but_never_eval(client):
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy
    assert "'unsafe-eval'" not in policy
    assert "'unsafe-inline'" not in policy


# Cases (SSCC)


def packed(holder, packs):
    return case_pack(
        holder=holder, sscc=sscc_new(holder), sgtins=[(p.gtin, p.serial) for p in packs]
    )


def test_distributor_destroys_a_whole_case_by_scanning_its_label(
    batch, manufacturer, distributor, as_distributor
):
    deliver(batch, manufacturer, distributor, 3)
    packs = in_stock(batch, distributor)
    case = packed(distributor, packs)
    response = as_distributor.post("/destroy/", {"lines": f"]C100{case.sscc}"}, follow=True)
    assert "Destroyed 3 packs." in [str(m) for m in response.context["messages"]]
    assert statuses(packs) == {Pack.Status.DESTROYED}


def test_a_case_label_on_the_dispense_form_is_refused_by_the_rules(
    batch, manufacturer, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, pharmacy, 2)
    case = packed(pharmacy, in_stock(batch, pharmacy))
    size = storage.head_size()
    response = as_pharmacy.post("/dispense/", {"lines": f"(00){case.sscc}"})
    assert response.status_code == 400
    assert f"dispense packs, not cases: unpack case {case.sscc} first" in (
        response.content.decode()
    )
    assert storage.head_size() == size


def test_receiver_scans_a_case_label_and_finds_its_shipment(
    batch, manufacturer, distributor, as_distributor
):
    case = packed(manufacturer, list(batch.packs.order_by("pk")[:4]))
    shipment = shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc])
    response = as_distributor.get("/shipments/find/", {"code": f"]C100{case.sscc}"})
    assert response.status_code == 200
    assert f'action="/shipments/{shipment.public_id}/receive/"' in response.content.decode()
    assert "Receive all 4 packs" in response.content.decode()


def test_a_pack_inside_a_shipped_case_finds_the_shipment_too(
    batch, manufacturer, distributor, as_distributor
):
    packs = list(batch.packs.order_by("pk")[:2])
    case = packed(manufacturer, packs)
    shipment = shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc])
    response = as_distributor.get("/shipments/find/", {"code": datamatrix(packs[1])})
    assert f'action="/shipments/{shipment.public_id}/receive/"' in response.content.decode()


def test_packing_a_case_takes_scanned_packs_and_a_pallet_takes_scanned_case_labels(
    batch, manufacturer, as_manufacturer
):
    packs = list(batch.packs.order_by("pk")[:2])
    response = as_manufacturer.post("/cases/", {"packs": "\n".join(map(datamatrix, packs))})
    assert response.status_code == 302
    case = Pack.objects.get(pk=packs[0].pk).case
    assert case is not None
    response = as_manufacturer.post("/cases/", {"cases": f"]C100{case.sscc}\n"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.parent is not None


def test_a_case_label_among_the_packs_to_pack_is_named(batch, as_manufacturer):
    response = as_manufacturer.post("/cases/", {"packs": "(00)106141412345678908"})
    assert response.status_code == 400
    assert "Line 1 is a case (SSCC 106141412345678908), not a pack." in response.content.decode()
