import threading

import pytest
from django.db import connection

from ledger import storage
from ledger.models import Entry
from traceability import statements
from traceability.commissioning import CustodyRefused
from traceability.models import Pack, Shipment
from traceability.shipping import packs_decommission, shipment_create, shipment_receive

pytestmark = pytest.mark.django_db


def sgtins(packs):
    return [(p.gtin, p.serial) for p in packs]


def first_packs(batch, n):
    return list(batch.packs.order_by("pk")[:n])


def test_custody_passes_only_when_the_receiver_signs_the_receipt(batch, manufacturer, distributor):
    packs = first_packs(batch, 4)
    shipment = shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins(packs))
    in_transit = Pack.objects.filter(pk__in=[p.pk for p in packs])
    assert set(in_transit.values_list("custodian", flat=True)) == {manufacturer.pk}
    assert set(in_transit.values_list("shipment", flat=True)) == {shipment.pk}

    shipment_receive(receiver=distributor, shipment=shipment)
    assert set(in_transit.values_list("custodian", flat=True)) == {distributor.pk}
    assert set(in_transit.values_list("shipment", flat=True)) == {None}
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RECEIVED


def test_ship_and_receive_are_epcis_events_signed_by_each_side(batch, manufacturer, distributor):
    shipment = shipment_create(
        sender=manufacturer, receiver=distributor, sgtins=sgtins(first_packs(batch, 2))
    )
    shipment = shipment_receive(receiver=distributor, shipment=shipment)
    ship = statements.parse_entry(bytes(Entry.objects.get(index=shipment.shipped_entry).data))
    receipt = statements.parse_entry(bytes(Entry.objects.get(index=shipment.received_entry).data))
    assert (ship.signer_org, ship.body["bizStep"]) == (manufacturer.gln, "shipping")
    assert ship.body["destinationList"][0]["destination"].endswith(distributor.gln)
    assert (receipt.signer_org, receipt.body["bizStep"]) == (distributor.gln, "receiving")
    assert receipt.body["shippedEntry"] == shipment.shipped_entry


def refused(message, action):
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match=message):
        action()
    assert storage.head_size() == size


def test_nobody_ships_what_they_do_not_hold(batch, distributor, pharmacy):
    refused(
        "is not held by Northern Wholesale",
        lambda: shipment_create(
            sender=distributor, receiver=pharmacy, sgtins=sgtins(first_packs(batch, 1))
        ),
    )


def test_a_pack_in_transit_cannot_be_shipped_again(batch, manufacturer, distributor, pharmacy):
    packs = first_packs(batch, 1)
    shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins(packs))
    refused(
        "is already in transit",
        lambda: shipment_create(sender=manufacturer, receiver=pharmacy, sgtins=sgtins(packs)),
    )


def test_one_bad_pack_refuses_the_whole_shipment(batch, manufacturer, distributor):
    packs = first_packs(batch, 3)
    names = [*sgtins(packs), ("09506000134352", "NOSUCHSERIAL")]
    refused(
        "pack 09506000134352/NOSUCHSERIAL is unknown",
        lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=names),
    )
    assert not Pack.objects.filter(shipment__isnull=False).exists()


def test_a_receipt_must_match_a_shipment_addressed_to_the_receiver(
    batch, manufacturer, distributor, pharmacy
):
    shipment = shipment_create(
        sender=manufacturer, receiver=distributor, sgtins=sgtins(first_packs(batch, 1))
    )
    refused(
        "addressed to Northern Wholesale",
        lambda: shipment_receive(receiver=pharmacy, shipment=shipment),
    )
    shipment_receive(receiver=distributor, shipment=shipment)
    refused("received already", lambda: shipment_receive(receiver=distributor, shipment=shipment))


def test_a_dispensed_pack_never_moves_again(batch, manufacturer, distributor):
    pack = first_packs(batch, 1)[0]
    Pack.objects.filter(pk=pack.pk).update(status=Pack.Status.SUPPLIED)
    refused(
        "is supplied and can no longer move",
        lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins([pack])),
    )


@pytest.mark.parametrize(
    "names, message",
    [([], "needs at least one pack"), (None, "named twice")],
)
def test_empty_or_duplicate_pack_lists_are_refused(
    batch, manufacturer, distributor, names, message
):
    if names is None:
        names = sgtins(first_packs(batch, 1)) * 2
    refused(
        message,
        lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=names),
    )


def test_nobody_ships_to_themselves_or_to_a_regulator(batch, manufacturer, regulator):
    names = sgtins(first_packs(batch, 1))
    refused(
        "same organisation",
        lambda: shipment_create(sender=manufacturer, receiver=manufacturer, sgtins=names),
    )
    refused(
        "is a regulator and cannot receive stock",
        lambda: shipment_create(sender=manufacturer, receiver=regulator, sgtins=names),
    )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_shipments_of_the_same_pack_exactly_one_wins(
    on_postgres, batch, manufacturer, distributor, pharmacy
):
    names = sgtins(first_packs(batch, 5))
    barrier = threading.Barrier(2)
    outcomes = []

    def ship(receiver):
        try:
            barrier.wait()
            shipment_create(sender=manufacturer, receiver=receiver, sgtins=names)
            outcomes.append("shipped")
        except CustodyRefused as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=ship, args=(r,)) for r in (distributor, pharmacy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[-1] == "shipped"
    assert outcomes.count("shipped") == 1
    assert "already in transit" in next(o for o in outcomes if o != "shipped")
    assert Shipment.objects.count() == 1


def received_by(batch, manufacturer, holder, n):
    packs = first_packs(batch, n)
    shipment = shipment_create(sender=manufacturer, receiver=holder, sgtins=sgtins(packs))
    shipment_receive(receiver=holder, shipment=shipment)
    return packs


def test_pharmacy_dispenses_a_pack_it_holds(batch, manufacturer, pharmacy):
    (pack,) = received_by(batch, manufacturer, pharmacy, 1)
    packs_decommission(holder=pharmacy, sgtins=sgtins([pack]), status=Pack.Status.SUPPLIED)
    pack.refresh_from_db()
    assert pack.status == Pack.Status.SUPPLIED
    event = statements.parse_entry(bytes(Entry.objects.get(index=pack.last_entry).data))
    assert (event.kind, event.body["disposition"]) == ("dispense", "dispensed")


def test_a_dispensed_pack_cannot_be_dispensed_twice(batch, manufacturer, pharmacy):
    names = sgtins(received_by(batch, manufacturer, pharmacy, 1))
    packs_decommission(holder=pharmacy, sgtins=names, status=Pack.Status.SUPPLIED)
    refused(
        "is supplied and can no longer move",
        lambda: packs_decommission(holder=pharmacy, sgtins=names, status=Pack.Status.SUPPLIED),
    )


def test_only_pharmacies_dispense(batch, manufacturer, distributor):
    names = sgtins(received_by(batch, manufacturer, distributor, 1))
    refused(
        "a distributor may not dispense packs",
        lambda: packs_decommission(holder=distributor, sgtins=names, status=Pack.Status.SUPPLIED),
    )


def test_a_holder_destroys_packs_and_they_never_move_again(batch, manufacturer, distributor):
    names = sgtins(first_packs(batch, 2))
    packs_decommission(holder=manufacturer, sgtins=names, status=Pack.Status.DESTROYED)
    refused(
        "is destroyed and can no longer move",
        lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=names),
    )


def test_nobody_decommissions_a_pack_held_elsewhere(batch, pharmacy):
    refused(
        "is not held by Corner Pharmacy",
        lambda: packs_decommission(
            holder=pharmacy, sgtins=sgtins(first_packs(batch, 1)), status=Pack.Status.DESTROYED
        ),
    )
