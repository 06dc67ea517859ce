"""The batch page: the batch's facts, who holds its packs (scoped), and its
custody history from the ledger with each entry's signature checked."""

from datetime import date

import pytest

from tests.web.helpers import deliver, in_stock, logged_in, ship
from traceability.commissioning import batch_commission, product_register
from traceability.models import SigningKey
from traceability.shipping import packs_decommission

pytestmark = pytest.mark.django_db


def url(batch):
    return f"/batches/{batch.product.gtin}/{batch.lot}/"


@pytest.fixture
def moved(batch, manufacturer, distributor, pharmacy):
    """Acme ships 6 to Northern (received), Northern 2 to Corner (in transit)."""
    deliver(batch, manufacturer, distributor, 6)
    return ship(batch, distributor, pharmacy, 2)


def test_the_page_shows_the_batch_facts(batch, as_manufacturer):
    page = as_manufacturer.get(url(batch)).content.decode()
    for fact in ("Amoxicillin 500 mg", "A1B2", "09506000134352", "2026-01-01", "2028-01-01"):
        assert fact in page
    assert "10 packs" in page
    assert "Acme Pharma" in page


def holders(response):
    return {org.name: cells for org, cells, _ in response.context["holdings"]}


def test_the_manufacturer_sees_every_holder_and_state(batch, moved, as_manufacturer):
    response = as_manufacturer.get(url(batch))
    assert response.context["states"] == ["in stock", "in transit"]
    assert holders(response) == {"Acme Pharma": [4, 0], "Northern Wholesale": [4, 2]}
    assert response.context["totals"] == [8, 2]


def test_the_regulator_sees_every_holder(batch, moved, as_regulator):
    response = as_regulator.get(url(batch))
    assert set(holders(response)) == {"Acme Pharma", "Northern Wholesale"}


def test_a_distributor_sees_only_its_own_packs(batch, moved, as_distributor):
    response = as_distributor.get(url(batch))
    assert holders(response) == {"Northern Wholesale": [4, 2]}
    page = response.content.decode()
    assert "Your packs of this lot" in page
    assert "Only the regulator and the manufacturer see every holder" in page


def test_dispensed_and_destroyed_packs_are_counted_by_status(
    batch, manufacturer, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, pharmacy, 3)
    packs = [(p.gtin, p.serial) for p in in_stock(batch, pharmacy)]
    packs_decommission(holder=pharmacy, sgtins=packs[:1], status="supplied")
    packs_decommission(holder=pharmacy, sgtins=packs[1:2], status="destroyed")
    response = as_pharmacy.get(url(batch))
    assert response.context["states"] == ["in stock", "supplied (dispensed)", "destroyed"]
    assert holders(response) == {"Corner Pharmacy": [1, 1, 1]}


def test_a_receiver_with_nothing_in_hand_yet_sees_an_empty_state(batch, moved, as_pharmacy):
    response = as_pharmacy.get(url(batch))  # the shipment to it is still in transit
    assert response.status_code == 200
    assert "You hold no packs of this lot now" in response.content.decode()


def test_the_history_lists_every_event_in_ledger_order_with_parties_and_counts(
    batch, moved, manufacturer, distributor, as_distributor
):
    response = as_distributor.get(url(batch))
    rows = [
        (r.label, r.organisation.name, [o.name for o in r.others], r.packs)
        for r in response.context["history"]
    ]
    assert rows == [
        ("commissioned", "Acme Pharma", [], 10),
        ("shipped", "Acme Pharma", ["Northern Wholesale"], 6),
        ("received", "Northern Wholesale", ["Acme Pharma"], 6),
        ("shipped", "Northern Wholesale", ["Corner Pharmacy"], 2),
    ]
    page = response.content.decode()
    assert f'href="/ledger/proof/inclusion?index={moved.shipped_entry}"' in page
    assert page.count("✓ valid") == 4


def test_every_history_entry_is_readable_by_whoever_may_open_the_page(batch, moved, as_distributor):
    for record in as_distributor.get(url(batch)).context["history"]:
        assert as_distributor.get(f"/ledger/entries/{record.entry}").status_code == 200


def test_a_signature_that_does_not_verify_is_flagged(batch, manufacturer, as_manufacturer):
    key = SigningKey.objects.get(organisation=manufacturer)
    key.public_key = bytes(32)  # not the key that signed
    key.save()
    response = as_manufacturer.get(url(batch))
    (record,) = response.context["history"]
    assert not record.check.signature_ok
    assert "invalid: signer.key does not identify the key" in response.content.decode()


def test_the_history_is_paginated(batch, manufacturer, distributor, as_manufacturer, monkeypatch):
    monkeypatch.setattr("traceability.web.batches.HISTORY_PER_PAGE", 2)
    deliver(batch, manufacturer, distributor, 1)
    deliver(batch, manufacturer, distributor, 1)  # 5 events in all
    first = as_manufacturer.get(url(batch))
    assert first.context["history"].paginator.num_pages == 3
    assert 'href="?page=2"' in first.content.decode()
    last = as_manufacturer.get(url(batch) + "?page=3")
    assert [r.label for r in last.context["history"]] == ["received"]


def test_a_lot_with_a_slash_has_its_own_page(manufacturer, as_manufacturer):
    product = product_register(manufacturer=manufacturer, gtin="09506000134369", name="Slash")
    batch = batch_commission(
        manufacturer=manufacturer,
        product=product,
        lot="2026/07?B",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2027, 1, 1),
        quantity=1,
    )
    dashboard = as_manufacturer.get("/dashboard/").content.decode()
    assert 'href="/batches/09506000134369/2026/07%3FB/"' in dashboard
    response = as_manufacturer.get("/batches/09506000134369/2026/07%3FB/")
    assert response.status_code == 200
    assert response.context["batch"] == batch


def test_an_unknown_batch_is_not_found(batch, as_regulator):
    assert as_regulator.get(f"/batches/{batch.product.gtin}/NOPE/").status_code == 404
    assert as_regulator.get("/batches/123/A1B2/").status_code == 404


def test_only_a_holder_is_offered_to_ship_from_the_page(batch, moved, as_manufacturer, pharmacy):
    assert f'href="/ship/?batch={batch.pk}"' in as_manufacturer.get(url(batch)).content.decode()
    page = logged_in(pharmacy).get(url(batch)).content.decode()
    assert "/ship/?batch=" not in page
