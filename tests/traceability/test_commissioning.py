from datetime import date

import pytest

from ledger import storage
from ledger.models import Entry
from tests import factories
from traceability import keys, statements
from traceability.commissioning import (
    CustodyRefused,
    batch_commission,
    product_register,
)
from traceability.models import Batch, Organisation, Pack

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"


@pytest.fixture
def product(manufacturer):
    return product_register(manufacturer=manufacturer, gtin=GTIN, name="Amoxicillin 500 mg")


def commission(manufacturer, product, **overrides):
    fields = {
        "lot": "A1B2",
        "manufactured_on": date(2026, 1, 1),
        "expires_on": date(2028, 1, 1),
        "quantity": 3,
    }
    return batch_commission(manufacturer=manufacturer, product=product, **{**fields, **overrides})


def test_manufacturer_commissions_a_batch_of_serialized_packs(manufacturer, product):
    batch = commission(manufacturer, product, quantity=1200)
    packs = Pack.objects.filter(batch=batch)
    assert packs.count() == 1200
    assert set(packs.values_list("custodian", flat=True)) == {manufacturer.pk}
    assert set(packs.values_list("status", flat=True)) == {"active"}
    # 1200 packs in three statements of at most 500
    entries = sorted(set(packs.values_list("commissioned_entry", flat=True)))
    assert len(entries) == 3


def test_commission_statement_is_an_epcis_object_event(manufacturer, product):
    batch = commission(manufacturer, product)
    signed = statements.parse_entry(bytes(Entry.objects.get(index=batch.created_entry).data))
    event = signed.body
    assert signed.kind == "commission"
    assert (event["type"], event["action"], event["bizStep"]) == (
        "ObjectEvent",
        "ADD",
        "commissioning",
    )
    assert event["ilmd"] == {
        "lotNumber": "A1B2",
        "productionDate": "2026-01-01",
        "itemExpirationDate": "2028-01-01",
    }
    serials = sorted(batch.packs.values_list("serial", flat=True))
    assert sorted(uri.rsplit("/", 1)[1] for uri in event["epcList"]) == serials


def test_serials_are_unpredictable_not_sequential(manufacturer, product):
    batch = commission(manufacturer, product, quantity=50)
    serials = list(batch.packs.values_list("serial", flat=True))
    assert len(set(serials)) == 50
    assert all(len(s) == 12 for s in serials)
    assert not any(s.isdigit() for s in serials)


def test_a_lot_is_commissioned_once_per_product(manufacturer, product):
    commission(manufacturer, product)
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match="lot A1B2 of Amoxicillin 500 mg is commissioned"):
        commission(manufacturer, product)
    assert storage.head_size() == size
    assert Batch.objects.count() == 1


def test_a_distributor_cannot_commission(regulator, product):
    distributor = factories.organisation(Organisation.Role.DISTRIBUTOR)
    keys.key_register(organisation=distributor, registered_by=regulator)
    with pytest.raises(CustodyRefused, match="only a manufacturer may commission packs"):
        commission(distributor, product)


def test_a_manufacturer_cannot_commission_another_manufacturers_product(regulator, product):
    rival = factories.organisation(Organisation.Role.MANUFACTURER)
    keys.key_register(organisation=rival, registered_by=regulator)
    with pytest.raises(CustodyRefused, match=r"is not .*'s product"):
        commission(rival, product)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"quantity": 0}, "quantity must be between 1"),
        ({"expires_on": date(2025, 1, 1)}, "expires_on must be after manufactured_on"),
        ({"lot": "LOT WITH SPACES"}, "lot: 'LOT WITH SPACES' must be 1 to 20 characters"),
        ({"lot": "L" * 21}, "lot"),
    ],
)
def test_bad_batch_details_are_refused_naming_the_field(manufacturer, product, overrides, message):
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match=message):
        commission(manufacturer, product, **overrides)
    assert storage.head_size() == size
    assert not Pack.objects.exists()


def test_a_product_with_a_wrong_gtin_check_digit_is_refused(manufacturer):
    with pytest.raises(CustodyRefused, match="check digit 3, expected 2"):
        product_register(manufacturer=manufacturer, gtin="09506000134353", name="Fake")
