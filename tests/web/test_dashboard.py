"""The dashboard: inbound shipments to receive, shipments in transit, stock by
batch and recent events; the regulator's view of the whole ledger."""

from datetime import date

import pytest

from ledger import storage
from tests import factories
from tests.web.helpers import deliver, logged_in, ship
from traceability import keys
from traceability.commissioning import batch_commission, product_register
from traceability.models import Organisation, Pack, Shipment, StatementRecord
from traceability.shipping import packs_decommission

pytestmark = pytest.mark.django_db


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_an_inbound_shipment_shows_its_sender_contents_and_a_receive_button(
    batch, manufacturer, distributor, as_distributor
):
    shipment = ship(batch, manufacturer, distributor, 3)
    response = as_distributor.get("/dashboard/")
    page = html(response)
    assert [s.pk for s in response.context["inbound"]] == [shipment.pk]
    assert "Acme Pharma" in page
    assert f"lot {batch.lot}</a> (3)" in page
    assert f'action="/shipments/{shipment.public_id}/receive/"' in page
    assert "csrfmiddlewaretoken" in page


def test_the_sender_sees_its_shipment_in_transit_and_not_as_inbound(
    batch, manufacturer, distributor, as_manufacturer
):
    shipment = ship(batch, manufacturer, distributor, 3)
    response = as_manufacturer.get("/dashboard/")
    assert [s.pk for s in response.context["outbound"]] == [shipment.pk]
    assert not response.context["inbound"].object_list
    assert "/receive/" not in html(response)


def test_receiving_passes_custody_and_says_so(batch, manufacturer, distributor, as_distributor):
    shipment = ship(batch, manufacturer, distributor, 3)
    response = as_distributor.post(f"/shipments/{shipment.public_id}/receive/", follow=True)
    page = html(response)
    assert "Received 3 packs from Acme Pharma" in page
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RECEIVED
    assert batch.packs.filter(custodian=distributor).count() == 3
    assert not response.context["inbound"].object_list
    assert [(b.pk, b.in_stock) for b in response.context["stock"]] == [(batch.pk, 3)]


def test_receiving_twice_is_refused_on_the_dashboard_and_writes_nothing(
    batch, manufacturer, distributor, as_distributor
):
    shipment = deliver(batch, manufacturer, distributor, 2)
    size = storage.head_size()
    response = as_distributor.post(f"/shipments/{shipment.public_id}/receive/")
    assert response.status_code == 400
    assert "this shipment was received already" in response.content.decode()
    assert "<title>Error: " in response.content.decode()
    assert storage.head_size() == size


def test_every_listed_event_is_an_entry_i_may_read(
    batch, manufacturer, distributor, pharmacy, as_pharmacy
):
    deliver(batch, manufacturer, distributor, 4)
    deliver(batch, distributor, pharmacy, 2)
    events = as_pharmacy.get("/dashboard/").context["events"]
    assert events.paginator.count == 5  # commission, 2 ships, 2 receipts
    for record in events:
        assert as_pharmacy.get(f"/ledger/entries/{record.entry}").status_code == 200


def test_a_refused_receipt_keeps_the_pager_on_the_dashboard(
    batch, manufacturer, distributor, as_distributor, monkeypatch
):
    monkeypatch.setattr("traceability.web.dashboard.PER_PAGE", 2)
    shipments = [ship(batch, manufacturer, distributor, 1) for _ in range(4)]
    as_distributor.post(f"/shipments/{shipments[0].public_id}/receive/")
    response = as_distributor.post(f"/shipments/{shipments[0].public_id}/receive/")
    assert response.status_code == 400
    assert 'href="/dashboard/?inbound_page=2"' in response.content.decode()


def test_the_sender_cannot_receive_its_own_shipment(batch, manufacturer, distributor):
    shipment = ship(batch, manufacturer, distributor, 2)
    size = storage.head_size()
    response = logged_in(manufacturer).post(f"/shipments/{shipment.public_id}/receive/")
    assert response.status_code == 400
    assert "this shipment is addressed to Northern Wholesale" in response.content.decode()
    assert storage.head_size() == size


def test_stock_counts_active_packs_held_and_not_in_transit(
    batch, manufacturer, distributor, pharmacy, as_distributor
):
    deliver(batch, manufacturer, distributor, 6)
    ship(batch, distributor, pharmacy, 2)  # in transit: not stock
    held = batch.packs.filter(custodian=distributor, shipment__isnull=True).order_by("pk")
    packs_decommission(
        holder=distributor, sgtins=[(held[0].gtin, held[0].serial)], status=Pack.Status.DESTROYED
    )
    response = as_distributor.get("/dashboard/")
    (row,) = response.context["stock"]
    assert (row.pk, row.in_stock) == (batch.pk, 3)
    page = html(response)
    assert f'href="/batches/{batch.product.gtin}/{batch.lot}/"' in page
    assert "2028-01-01" in page  # expiry


def test_recent_events_list_my_statements_and_events_of_batches_i_handled(
    batch, manufacturer, distributor, pharmacy, as_distributor
):
    deliver(batch, manufacturer, distributor, 4)
    shipment = deliver(batch, distributor, pharmacy, 2)
    response = as_distributor.get("/dashboard/")
    entries = [r.entry for r in response.context["events"]]
    assert entries == sorted(entries, reverse=True)  # newest first
    assert shipment.received_entry in entries  # signed by the pharmacy, about my batch
    assert batch.created_entry in entries  # the commissioning of a batch I handled
    assert all(r.batches == [batch] for r in response.context["events"])
    page = html(response)
    assert f'href="/ledger/proof/inclusion?index={shipment.received_entry}"' in page


def test_recent_events_leave_out_batches_i_never_handled(
    batch, manufacturer, pharmacy, as_pharmacy
):
    page = html(as_pharmacy.get("/dashboard/"))
    assert f"#{batch.created_entry}<" not in page
    assert "No events yet" in page


def test_a_new_organisation_sees_friendly_empty_states(as_pharmacy):
    page = html(as_pharmacy.get("/dashboard/"))
    assert "Nothing on its way to you" in page
    assert "No shipments of yours are waiting to be received" in page
    assert "You hold no active packs" in page
    assert "No events yet" in page


def test_a_manufacturer_gets_its_actions_and_a_pharmacy_gets_dispense(
    as_manufacturer, as_pharmacy, as_distributor
):
    manufacturer_page = html(as_manufacturer.get("/dashboard/"))
    assert 'href="/products/new/"' in manufacturer_page
    assert 'href="/batches/new/"' in manufacturer_page
    assert 'href="/dispense/"' not in manufacturer_page
    assert 'href="/dispense/"' in html(as_pharmacy.get("/dashboard/"))
    distributor_page = html(as_distributor.get("/dashboard/"))
    assert 'href="/ship/"' in distributor_page
    assert 'href="/batches/new/"' not in distributor_page


def batch_commission_many(manufacturer, n):
    product = product_register(manufacturer=manufacturer, gtin="09506000134369", name="Many")
    for i in range(n):
        batch_commission(
            manufacturer=manufacturer,
            product=product,
            lot=f"L{i:02d}",
            manufactured_on=date(2026, 1, 1),
            expires_on=date(2027, 1, 1 + i),
            quantity=1,
        )
    return product


def test_dashboard_lists_are_paginated_each_on_its_own(manufacturer, as_manufacturer):
    product = batch_commission_many(manufacturer, 12)
    first = as_manufacturer.get("/dashboard/")
    assert len(first.context["stock"]) == 10
    assert first.context["stock"].paginator.num_pages == 2
    assert 'href="/dashboard/?stock_page=2"' in html(first)
    second = as_manufacturer.get("/dashboard/?stock_page=2&events_page=2")
    assert len(second.context["stock"]) == 2
    assert second.context["events"].number == 2
    assert 'href="/dashboard/?stock_page=1&amp;events_page=2"' in html(second)
    lots = {b.lot for b in first.context["stock"]} | {b.lot for b in second.context["stock"]}
    assert len(lots) == 12
    assert product.batches.count() == 12


def test_a_page_number_past_the_end_shows_the_last_page(manufacturer, as_manufacturer):
    batch_commission_many(manufacturer, 12)
    response = as_manufacturer.get("/dashboard/?stock_page=99")
    assert response.context["stock"].number == 2
    assert as_manufacturer.get("/dashboard/?stock_page=x").context["stock"].number == 1


def test_the_regulator_sees_every_statement_and_every_organisation(
    batch, manufacturer, distributor, as_regulator
):
    deliver(batch, manufacturer, distributor, 2)
    response = as_regulator.get("/dashboard/")
    assert response.templates[0].name == "traceability/regulator_dashboard.html"
    entries = [r.entry for r in response.context["statements"]]
    assert entries == list(
        StatementRecord.objects.order_by("-entry").values_list("entry", flat=True)[:10]
    )
    page = html(response)
    for org in Organisation.objects.all():
        assert org.name in page
    assert "/receive/" not in page


def test_the_regulator_organisation_list_is_paginated(regulator, as_regulator):
    for _ in range(25):
        org = factories.organisation(Organisation.Role.PHARMACY)
        keys.key_register(organisation=org, registered_by=regulator)
    response = as_regulator.get("/dashboard/")
    assert response.context["organisations"].paginator.num_pages == 2
    assert 'href="?organisations_page=2"' in html(response)
    assert response.context["statements"].paginator.count == 26  # root + 25 keys
