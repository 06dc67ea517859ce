import pytest

from ledger import storage
from tests.factories import on_hand
from traceability import rebuild
from traceability.commissioning import CustodyRefused
from traceability.models import Holding, Pack, ShipmentLine
from traceability.shipping import packs_decommission, shipment_create, shipment_receive

pytestmark = pytest.mark.django_db


def sgtins(packs):
    return [(p.gtin, p.serial) for p in packs]


def refused(message, action):
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match=message):
        action()
    assert storage.head_size() == size


def delivered(sender, receiver, **goods):
    shipment = shipment_create(sender=sender, receiver=receiver, **goods)
    return shipment_receive(receiver=receiver, shipment=shipment)


def test_pharmacy_returns_packs_to_the_distributor_that_sent_them(
    batch, manufacturer, distributor, pharmacy
):
    packs = list(batch.packs.order_by("pk")[:3])
    delivered(manufacturer, distributor, sgtins=sgtins(packs))
    delivered(distributor, pharmacy, sgtins=sgtins(packs))

    returned = shipment_create(
        sender=pharmacy, receiver=distributor, sgtins=sgtins(packs[:2]), returning=True
    )
    assert returned.returning
    shipment_receive(receiver=distributor, shipment=returned)
    assert batch.packs.filter(custodian=distributor).count() == 2
    assert Pack.objects.get(pk=packs[0].pk).status == Pack.Status.ACTIVE


def test_a_return_goes_only_to_whoever_sent_the_goods(batch, manufacturer, distributor, pharmacy):
    packs = list(batch.packs.order_by("pk")[:1])
    delivered(manufacturer, distributor, sgtins=sgtins(packs))
    delivered(distributor, pharmacy, sgtins=sgtins(packs))
    refused(
        "did not come from Acme Pharma: return it to its sender",
        lambda: shipment_create(
            sender=pharmacy, receiver=manufacturer, sgtins=sgtins(packs), returning=True
        ),
    )


def test_a_lot_level_batch_moves_by_count_and_every_unit_is_accounted_for(
    bulk_lot, manufacturer, distributor, pharmacy
):
    lot = {(bulk_lot.product.gtin, "BULK7"): 30}
    assert not bulk_lot.serialized and on_hand(bulk_lot, manufacturer) == 100

    shipment = shipment_create(sender=manufacturer, receiver=distributor, lots=lot)
    assert on_hand(bulk_lot, manufacturer) == 70
    assert ShipmentLine.objects.get(shipment=shipment).quantity == 30  # in transit
    shipment_receive(receiver=distributor, shipment=shipment)
    delivered(distributor, pharmacy, lots={(bulk_lot.product.gtin, "BULK7"): 12})
    packs_decommission(
        holder=pharmacy, lots={(bulk_lot.product.gtin, "BULK7"): 5}, status=Pack.Status.SUPPLIED
    )

    holdings = {h.holder_id: h for h in Holding.objects.filter(batch=bulk_lot)}
    assert (on_hand(bulk_lot, distributor), on_hand(bulk_lot, pharmacy)) == (18, 7)
    assert holdings[pharmacy.pk].dispensed == 5
    assert sum(h.on_hand + h.dispensed + h.destroyed for h in holdings.values()) == 100
    assert rebuild.differences() == []


def test_nobody_ships_more_of_a_lot_than_they_hold(bulk_lot, manufacturer, distributor):
    gtin = bulk_lot.product.gtin
    refused(
        "Acme Pharma has only 100 of lot BULK7 on hand",
        lambda: shipment_create(
            sender=manufacturer, receiver=distributor, lots={(gtin, "BULK7"): 101}
        ),
    )
    refused(
        "lot A1B2 is serialized: name its packs",
        lambda: shipment_create(
            sender=manufacturer, receiver=distributor, lots={(gtin, "A1B2"): 1}
        ),
    )


def test_a_serialized_batch_and_a_lot_quantity_ship_together(
    batch, bulk_lot, manufacturer, distributor
):
    packs = list(batch.packs.order_by("pk")[:2])
    shipment = delivered(
        manufacturer,
        distributor,
        sgtins=sgtins(packs),
        lots={(bulk_lot.product.gtin, "BULK7"): 10},
    )
    assert shipment.pack_count == 2
    assert on_hand(bulk_lot, distributor) == 10
    assert batch.packs.filter(custodian=distributor).count() == 2
