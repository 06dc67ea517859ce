"""The forms that sign custody events: each calls its service, shows a refusal
on the form with a 400 and writes nothing to the ledger."""

import pytest

from ledger import storage
from tests import factories
from tests.web.helpers import deliver, in_stock, logged_in, ship
from traceability import keys
from traceability.commissioning import product_register
from traceability.models import Batch, Organisation, Pack, Product, Shipment

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"  # the batch fixture's product


@pytest.fixture
def ledger_unchanged():
    """Assert at the end that the test appended nothing to the ledger (for tests
    that write nothing themselves)."""
    size = storage.head_size()
    yield
    assert storage.head_size() == size


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# Register a product


def test_a_manufacturer_registers_a_product_and_goes_on_to_commission_it(
    manufacturer, as_manufacturer
):
    response = as_manufacturer.post(
        "/products/new/", {"gtin": "9506000134369", "name": "Ibuprofen 400 mg"}, follow=True
    )
    product = Product.objects.get(gtin="09506000134369")  # GTIN-13 padded to 14
    assert product.manufacturer == manufacturer
    assert response.redirect_chain == [(f"/batches/new/?product={product.pk}", 302)]
    assert "Registered Ibuprofen 400 mg" in messages_of(response)[0]
    assert response.context["form"]["product"].value() == str(product.pk)


def test_a_gtin_with_a_wrong_check_digit_is_refused_on_the_form(as_manufacturer, ledger_unchanged):
    response = as_manufacturer.post("/products/new/", {"gtin": "09506000134350", "name": "X"})
    assert response.status_code == 400
    assert "check digit 0, expected 2" in response.content.decode()
    assert not Product.objects.exists()


def test_a_gtin_registered_already_is_refused(batch, as_manufacturer, ledger_unchanged):
    response = as_manufacturer.post("/products/new/", {"gtin": GTIN, "name": "Again"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_an_empty_product_form_is_refused_field_by_field(as_manufacturer, ledger_unchanged):
    response = as_manufacturer.post("/products/new/", {})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"gtin", "name"}


# Commission a batch


def commission_data(product, **overrides):
    return {
        "product": product.pk,
        "lot": "B-77",
        "manufactured_on": "2026-02-01",
        "expires_on": "2028-02-01",
        "quantity": "7",
        **overrides,
    }


@pytest.fixture
def product(manufacturer):
    return product_register(manufacturer=manufacturer, gtin="09506000134369", name="Ibuprofen")


def test_commissioning_creates_the_packs_and_opens_the_batch_page(product, as_manufacturer):
    response = as_manufacturer.post("/batches/new/", commission_data(product), follow=True)
    batch = Batch.objects.get(product=product, lot="B-77")
    assert batch.packs.count() == 7
    assert response.redirect_chain == [(f"/batches/{product.gtin}/B-77/", 302)]
    assert "Commissioned lot B-77 of Ibuprofen: 7 serialized packs." in messages_of(response)


def test_the_product_choice_offers_only_my_own_products(product, regulator, as_manufacturer):
    rival = factories.organisation(Organisation.Role.MANUFACTURER, name="Rival")
    keys.key_register(organisation=rival, registered_by=regulator)
    theirs = product_register(manufacturer=rival, gtin="09506000134376", name="Theirs")
    form = as_manufacturer.get("/batches/new/").context["form"]
    assert list(form.fields["product"].queryset) == [product]
    size = storage.head_size()
    response = as_manufacturer.post("/batches/new/", commission_data(theirs))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert storage.head_size() == size


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expires_on": "2025-01-01"}, "expires_on must be after manufactured_on"),
        ({"lot": "A1B2"}, "lot A1B2 of Amoxicillin 500 mg is commissioned already"),
        ({"lot": "bad lot"}, "must be 1 to 20 characters of the GS1 character set"),
        ({"quantity": "2000000"}, "quantity must be between 1 and 1,000,000"),
    ],
)
def test_commission_refusals_are_shown_on_the_form(batch, as_manufacturer, overrides, message):
    size = storage.head_size()
    response = as_manufacturer.post("/batches/new/", commission_data(batch.product, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert storage.head_size() == size


def test_without_products_the_commission_page_points_to_registration(as_manufacturer):
    page = as_manufacturer.get("/batches/new/").content.decode()
    assert "You have no products yet" in page
    assert 'href="/products/new/"' in page


# Ship


def test_shipping_a_quantity_sends_the_first_packs_i_hold(
    batch, manufacturer, distributor, as_manufacturer
):
    first_four = in_stock(batch, manufacturer)[:4]
    response = as_manufacturer.post(
        f"/ship/?batch={batch.pk}",
        {"batch": batch.pk, "receiver": distributor.pk, "quantity": "4"},
        follow=True,
    )
    assert response.redirect_chain == [("/dashboard/", 302)]
    assert "Shipped 4 packs of lot A1B2 to Northern Wholesale" in messages_of(response)[0]
    shipment = Shipment.objects.get()
    assert (shipment.sender, shipment.receiver, shipment.pack_count) == (
        manufacturer,
        distributor,
        4,
    )
    assert {p.pk for p in shipment.packs.all()} == {p.pk for p in first_four}


def test_shipping_ticked_packs_sends_exactly_those(batch, manufacturer, pharmacy, as_manufacturer):
    packs = in_stock(batch, manufacturer)
    chosen = [packs[1].serial, packs[5].serial]
    response = as_manufacturer.post(
        f"/ship/?batch={batch.pk}",
        {"batch": batch.pk, "receiver": pharmacy.pk, "serials": chosen},
    )
    assert response.status_code == 302
    shipment = Shipment.objects.get()
    assert sorted(shipment.packs.values_list("serial", flat=True)) == sorted(chosen)


def test_the_ship_page_lists_my_packs_of_the_batch_in_pages(batch, manufacturer, as_manufacturer):
    response = as_manufacturer.get(f"/ship/?batch={batch.pk}")
    page = response.content.decode()
    assert response.context["batch"] == batch
    assert page.count('name="serials"') == 10
    assert "you hold 10 packs ready to ship" in page
    # receivers: other holders, never a regulator or myself
    receivers = response.context["form"].fields["receiver"].queryset
    assert manufacturer not in receivers
    assert not receivers.filter(role=Organisation.Role.REGULATOR).exists()


def test_the_pack_list_is_paginated(batch, manufacturer, as_manufacturer, monkeypatch):
    monkeypatch.setattr("traceability.web.custody.PACKS_PER_PAGE", 4)
    first = as_manufacturer.get(f"/ship/?batch={batch.pk}")
    assert first.context["packs"].paginator.num_pages == 3
    assert f'href="?batch={batch.pk}&amp;page=2"' in first.content.decode()
    last = as_manufacturer.get(f"/ship/?batch={batch.pk}&page=3")
    assert last.content.decode().count('name="serials"') == 2


def test_without_a_batch_the_ship_page_asks_for_one(batch, as_manufacturer):
    response = as_manufacturer.get("/ship/")
    assert response.context["batch"] is None
    page = response.content.decode()
    assert "1. Batch" in page
    assert "lot A1B2" in page
    assert "2. Ship" not in page


@pytest.mark.parametrize("wanted", ["\u00b2", "9" * 5000])
def test_a_batch_number_no_batch_can_have_is_answered_as_a_batch_i_do_not_hold(
    batch, as_manufacturer, ledger_unchanged, wanted
):
    response = as_manufacturer.get("/ship/", {"batch": wanted})
    assert response.status_code == 200
    assert "You hold no packs of that batch ready to ship." in response.content.decode()
    posted = as_manufacturer.post("/ship/", {"batch": wanted})
    assert posted.status_code == 400
    assert "batch" in posted.context["form"].errors


def test_with_nothing_in_stock_the_ship_page_says_so(as_distributor):
    assert "You hold no active packs to ship" in as_distributor.get("/ship/").content.decode()


def test_asking_for_more_packs_than_i_hold_is_refused(
    batch, distributor, as_manufacturer, ledger_unchanged
):
    response = as_manufacturer.post(
        f"/ship/?batch={batch.pk}", {"batch": batch.pk, "receiver": distributor.pk, "quantity": 11}
    )
    assert response.status_code == 400
    assert "You hold 10 packs of lot A1B2 ready to ship, fewer than 11." in (
        response.content.decode()
    )


def test_a_quantity_and_ticks_together_are_refused(
    batch, manufacturer, distributor, as_manufacturer, ledger_unchanged
):
    serial = in_stock(batch, manufacturer)[0].serial
    data = {"batch": batch.pk, "receiver": distributor.pk, "quantity": 1, "serials": [serial]}
    response = as_manufacturer.post(f"/ship/?batch={batch.pk}", data)
    assert response.status_code == 400
    assert "Give a quantity or tick packs, not both" in response.content.decode()
    assert serial in response.context["ticked"]  # the ticks survive the refusal


def test_a_ticked_pack_already_in_transit_is_refused_by_the_service(
    batch, manufacturer, distributor, pharmacy, as_manufacturer
):
    shipped = ship(batch, manufacturer, distributor, 1).packs.get()
    size = storage.head_size()
    response = as_manufacturer.post(
        f"/ship/?batch={batch.pk}",
        {"batch": batch.pk, "receiver": pharmacy.pk, "serials": [shipped.serial]},
    )
    assert response.status_code == 400
    assert f"pack {GTIN}/{shipped.serial} is already in transit" in response.content.decode()
    assert storage.head_size() == size


def test_a_regulator_is_not_a_receiver_to_choose(
    batch, regulator, as_manufacturer, ledger_unchanged
):
    response = as_manufacturer.post(
        f"/ship/?batch={batch.pk}", {"batch": batch.pk, "receiver": regulator.pk, "quantity": 1}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_batch_i_hold_nothing_of_cannot_be_shipped(
    batch, manufacturer, distributor, as_distributor
):
    deliver(batch, manufacturer, distributor, 1)
    ship(batch, distributor, manufacturer, 1)
    page = as_distributor.get(f"/ship/?batch={batch.pk}").content.decode()
    assert "You hold no packs of that batch ready to ship" in page


# Dispense and destroy


def lines(packs):
    return "\n".join(f"{p.gtin} {p.serial}" for p in packs)


def test_a_pharmacy_dispenses_packs_named_one_per_line(batch, manufacturer, pharmacy, as_pharmacy):
    deliver(batch, manufacturer, pharmacy, 3)
    packs = in_stock(batch, pharmacy)[:2]
    response = as_pharmacy.post("/dispense/", {"lines": f"\n  {lines(packs)}  \n\n"}, follow=True)
    assert response.redirect_chain == [("/dispense/", 302)]
    assert "Dispensed 2 packs." in messages_of(response)
    assert {p.status for p in Pack.objects.filter(pk__in=[p.pk for p in packs])} == {"supplied"}


def test_a_gtin_13_on_a_line_is_read_as_its_gtin_14(batch, manufacturer, pharmacy, as_pharmacy):
    deliver(batch, manufacturer, pharmacy, 1)
    (pack,) = in_stock(batch, pharmacy)
    response = as_pharmacy.post("/dispense/", {"lines": f"{pack.gtin[1:]} {pack.serial}"})
    assert response.status_code == 302
    pack.refresh_from_db()
    assert pack.status == Pack.Status.SUPPLIED


def test_dispensing_a_pack_i_do_not_hold_is_refused_and_nothing_is_dispensed(
    batch, manufacturer, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, pharmacy, 1)
    mine = in_stock(batch, pharmacy)
    theirs = in_stock(batch, manufacturer)[:1]
    size = storage.head_size()
    response = as_pharmacy.post("/dispense/", {"lines": lines(mine + theirs)})
    assert response.status_code == 400
    assert f"pack {GTIN}/{theirs[0].serial} is not held by Corner Pharmacy" in (
        response.content.decode()
    )
    assert storage.head_size() == size
    assert Pack.objects.filter(status=Pack.Status.SUPPLIED).count() == 0


def test_a_malformed_line_is_refused_with_its_number(as_pharmacy, ledger_unchanged):
    response = as_pharmacy.post("/dispense/", {"lines": f"{GTIN} ABC\nnot a pack"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 2 (&#x27;not a pack&#x27;): no GS1 application identifier" in page
    assert "Scan the pack, or type its GTIN, a space and its serial." in page


def test_an_unknown_serial_is_refused(batch, as_pharmacy, ledger_unchanged):
    response = as_pharmacy.post("/dispense/", {"lines": f"{GTIN} NOSUCHSERIAL"})
    assert response.status_code == 400
    assert f"pack {GTIN}/NOSUCHSERIAL is unknown" in response.content.decode()


def test_a_distributor_destroys_packs_it_holds(batch, manufacturer, distributor, as_distributor):
    deliver(batch, manufacturer, distributor, 2)
    packs = in_stock(batch, distributor)
    response = as_distributor.post("/destroy/", {"lines": lines(packs)}, follow=True)
    assert "Destroyed 2 packs." in messages_of(response)
    assert set(batch.packs.filter(custodian=distributor).values_list("status", flat=True)) == {
        "destroyed"
    }


def test_a_distributor_may_not_dispense(batch, manufacturer, distributor):
    deliver(batch, manufacturer, distributor, 1)
    client = logged_in(distributor)
    size = storage.head_size()
    response = client.post("/dispense/", {"lines": lines(in_stock(batch, distributor))})
    assert response.status_code == 403
    assert storage.head_size() == size
