from datetime import date

import pytest

from ledger import storage
from tests.web.helpers import in_stock, sgtins
from traceability.aggregation import case_pack, sscc_new
from traceability.commissioning import batch_commission
from traceability.models import Case, Holding, Pack, Shipment
from traceability.shipping import shipment_create, shipment_receive

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def lines(packs):
    return "\n".join(f"{p.gtin} {p.serial}" for p in packs)


def test_manufacturer_packs_a_case_with_a_fresh_sscc_on_the_cases_page(
    batch, manufacturer, as_manufacturer
):
    packs = in_stock(batch, manufacturer)[:3]
    response = as_manufacturer.post("/cases/", {"packs": lines(packs)}, follow=True)
    case = Case.objects.get()
    assert f"Packed into case {case.sscc}." in messages_of(response)
    assert case.sscc in response.content.decode()
    assert Pack.objects.filter(case=case).count() == 3


def test_packing_a_pack_i_do_not_hold_shows_the_refusal_and_writes_nothing(
    batch, manufacturer, as_distributor
):
    size = storage.head_size()
    response = as_distributor.post("/cases/", {"packs": lines(in_stock(batch, manufacturer)[:1])})
    assert response.status_code == 400
    assert "is not held by Northern Wholesale" in response.content.decode()
    assert storage.head_size() == size


def test_the_cases_page_says_when_there_are_none(as_distributor):
    page = as_distributor.get("/cases/").content.decode()
    assert "You hold no cases." in page


def test_ticking_a_case_on_the_ship_page_ships_everything_in_it(
    batch, manufacturer, distributor, as_manufacturer
):
    case = case_pack(
        holder=manufacturer,
        sscc=sscc_new(manufacturer),
        sgtins=sgtins(in_stock(batch, manufacturer)[:4]),
    )
    page = as_manufacturer.get("/ship/").content.decode()
    assert f'value="{case.sscc}"' in page
    response = as_manufacturer.post(
        "/ship/", {"receiver": distributor.pk, "ssccs": [case.sscc]}, follow=True
    )
    assert "Shipped 1 case (4 packs) to Northern Wholesale" in messages_of(response)[0]
    assert Shipment.objects.get().pack_count == 4


def test_unpacking_a_case_puts_its_packs_back_in_loose_stock(batch, manufacturer, as_manufacturer):
    case = case_pack(
        holder=manufacturer,
        sscc=sscc_new(manufacturer),
        sgtins=sgtins(in_stock(batch, manufacturer)[:2]),
    )
    response = as_manufacturer.post(f"/cases/{case.sscc}/unpack/", follow=True)
    assert f"Unpacked case {case.sscc}" in messages_of(response)[0]
    assert not Pack.objects.filter(case=case).exists()


def test_someone_elses_case_cannot_be_unpacked(batch, manufacturer, as_distributor):
    case = case_pack(
        holder=manufacturer,
        sscc=sscc_new(manufacturer),
        sgtins=sgtins(in_stock(batch, manufacturer)[:1]),
    )
    assert as_distributor.post(f"/cases/{case.sscc}/unpack/").status_code == 404


def test_a_lot_level_batch_ships_by_count_from_the_ship_page(
    batch, manufacturer, distributor, as_manufacturer
):
    bulk = batch_commission(
        manufacturer=manufacturer,
        product=batch.product,
        lot="BULK1",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 1, 1),
        quantity=500,
        serialized=False,
    )
    page = as_manufacturer.get(f"/ship/?batch={bulk.pk}").content.decode()
    assert "a lot-level batch: it ships by count" in page
    response = as_manufacturer.post(
        f"/ship/?batch={bulk.pk}",
        {"batch": bulk.pk, "receiver": distributor.pk, "quantity": 120},
        follow=True,
    )
    assert "Shipped 120 units of lot BULK1 to Northern Wholesale" in messages_of(response)[0]
    assert Holding.objects.get(batch=bulk, holder=manufacturer).on_hand == 380
    too_many = as_manufacturer.post(
        f"/ship/?batch={bulk.pk}",
        {"batch": bulk.pk, "receiver": distributor.pk, "quantity": 381},
    )
    assert too_many.status_code == 400
    assert "has only 380 of lot BULK1 on hand" in too_many.content.decode()


def test_a_pharmacy_returns_packs_to_its_distributor_from_the_ship_page(
    batch, manufacturer, distributor, pharmacy, as_pharmacy
):
    packs = in_stock(batch, manufacturer)[:2]
    for sender, receiver in ((manufacturer, distributor), (distributor, pharmacy)):
        shipment_receive(
            receiver=receiver,
            shipment=shipment_create(sender=sender, receiver=receiver, sgtins=sgtins(packs)),
        )
    response = as_pharmacy.post(
        f"/ship/?batch={batch.pk}",
        {
            "batch": batch.pk,
            "receiver": distributor.pk,
            "returning": "on",
            "serials": [packs[0].serial],
        },
        follow=True,
    )
    assert "Returned 1 pack of lot A1B2 to Northern Wholesale" in messages_of(response)[0]
    assert Shipment.objects.get(returning=True).pack_count == 1


def test_the_batch_page_counts_packs_moved_inside_cases_and_lot_units_per_holder(
    batch, manufacturer, distributor, as_manufacturer
):
    case = case_pack(
        holder=manufacturer,
        sscc=sscc_new(manufacturer),
        sgtins=sgtins(in_stock(batch, manufacturer)[:4]),
    )
    shipment = shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc])
    page = as_manufacturer.get(f"/batches/{batch.product.gtin}/{batch.lot}/")
    shipped = next(r for r in page.context["history"] if r.entry == shipment.shipped_entry)
    assert shipped.packs == 4

    bulk = batch_commission(
        manufacturer=manufacturer,
        product=batch.product,
        lot="BULK2",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 1, 1),
        quantity=50,
        serialized=False,
    )
    shipment_create(
        sender=manufacturer, receiver=distributor, lots={(batch.product.gtin, "BULK2"): 20}
    )
    page = as_manufacturer.get(f"/batches/{bulk.product.gtin}/BULK2/")
    rows = {
        org: dict(zip(page.context["states"], counts, strict=True))
        for org, counts, _ in page.context["holdings"]
    }
    assert rows[manufacturer] == {"in stock": 30, "in transit": 20}
