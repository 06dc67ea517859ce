import threading

import pytest
from django.db import connection

from ledger import storage
from traceability import rebuild
from traceability.aggregation import case_pack, case_unpack, sscc_new
from traceability.commissioning import CustodyRefused
from traceability.models import Case, Pack, Shipment
from traceability.shipping import packs_decommission, shipment_create, shipment_receive

pytestmark = pytest.mark.django_db


def sgtins(packs):
    return [(p.gtin, p.serial) for p in packs]


def first_packs(batch, n, offset=0):
    return list(batch.packs.order_by("pk")[offset : offset + n])


def refused(message, action):
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match=message):
        action()
    assert storage.head_size() == size


def packed(holder, packs):
    return case_pack(holder=holder, sscc=sscc_new(holder), sgtins=sgtins(packs))


def test_shipping_a_case_moves_every_pack_in_it(batch, manufacturer, distributor):
    packs = first_packs(batch, 4)
    case = packed(manufacturer, packs)
    assert Pack.objects.filter(case=case).count() == 4

    shipment = shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc])
    assert shipment.pack_count == 4
    assert set(Pack.objects.filter(case=case).values_list("shipment", flat=True)) == {shipment.pk}

    shipment_receive(receiver=distributor, shipment=shipment)
    case.refresh_from_db()
    assert case.custodian == distributor
    assert set(Pack.objects.filter(case=case).values_list("custodian", flat=True)) == {
        distributor.pk
    }


def test_a_pallet_of_cases_moves_the_packs_of_every_case(batch, manufacturer, pharmacy):
    first, second = (
        packed(manufacturer, first_packs(batch, 3)),
        packed(manufacturer, first_packs(batch, 2, offset=3)),
    )
    pallet = case_pack(
        holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[first.sscc, second.sscc]
    )
    shipment = shipment_create(sender=manufacturer, receiver=pharmacy, ssccs=[pallet.sscc])
    assert shipment.pack_count == 5
    shipment_receive(receiver=pharmacy, shipment=shipment)
    assert batch.packs.filter(custodian=pharmacy).count() == 5
    assert set(Case.objects.values_list("custodian", flat=True)) == {pharmacy.pk}


def test_a_pack_in_a_case_does_not_ship_on_its_own(batch, manufacturer, distributor):
    packs = first_packs(batch, 2)
    case = packed(manufacturer, packs)
    refused(
        f"is packed in case {case.sscc}: move the case",
        lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins(packs)),
    )
    case_unpack(holder=manufacturer, sscc=case.sscc, sgtins=sgtins(packs[:1]))
    shipment = shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins(packs[:1]))
    assert shipment.pack_count == 1
    assert Pack.objects.filter(case=case).count() == 1


def test_unpacking_with_nothing_named_empties_the_case(batch, manufacturer, distributor):
    case = packed(manufacturer, first_packs(batch, 3))
    case_unpack(holder=manufacturer, sscc=case.sscc)
    assert not Pack.objects.filter(case=case).exists()
    refused(
        f"case {case.sscc} is empty",
        lambda: shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc]),
    )


def test_unpacking_an_empty_case_says_it_is_empty(batch, manufacturer):
    case = packed(manufacturer, first_packs(batch, 2))
    case_unpack(holder=manufacturer, sscc=case.sscc)
    refused(
        f"case {case.sscc} is empty: there is nothing to unpack",
        lambda: case_unpack(holder=manufacturer, sscc=case.sscc),
    )


def test_pharmacy_dispenses_a_pack_straight_out_of_a_received_case(
    batch, manufacturer, pharmacy, distributor
):
    packs = first_packs(batch, 3)
    case = packed(manufacturer, packs)
    shipment_receive(
        receiver=pharmacy,
        shipment=shipment_create(sender=manufacturer, receiver=pharmacy, ssccs=[case.sscc]),
    )
    packs_decommission(holder=pharmacy, sgtins=sgtins(packs[:1]), status=Pack.Status.SUPPLIED)
    dispensed = Pack.objects.get(pk=packs[0].pk)
    assert (dispensed.status, dispensed.case) == (Pack.Status.SUPPLIED, None)
    assert Pack.objects.filter(case=case).count() == 2


def test_destroying_a_case_destroys_everything_in_it(batch, manufacturer):
    case = packed(manufacturer, first_packs(batch, 3))
    destroyed = packs_decommission(
        holder=manufacturer, ssccs=[case.sscc], status=Pack.Status.DESTROYED
    )
    assert [p.status for p in destroyed] == [Pack.Status.DESTROYED] * 3


def test_nobody_packs_what_they_do_not_hold_or_into_a_case_in_transit(
    batch, manufacturer, distributor
):
    packs = first_packs(batch, 4)
    refused(
        "is not held by Northern Wholesale",
        lambda: case_pack(holder=distributor, sscc=sscc_new(distributor), sgtins=sgtins(packs)),
    )
    case = packed(manufacturer, packs[:2])
    shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc])
    refused(
        "is already in transit",
        lambda: case_pack(holder=manufacturer, sscc=case.sscc, sgtins=sgtins(packs[2:])),
    )


def test_an_sscc_with_a_wrong_check_digit_is_refused(batch, manufacturer):
    good = sscc_new(manufacturer)
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    refused(
        f"SSCC {wrong} has check digit",
        lambda: case_pack(holder=manufacturer, sscc=wrong, sgtins=sgtins(first_packs(batch, 1))),
    )


def test_a_pallet_does_not_go_into_a_case(batch, manufacturer):
    case = packed(manufacturer, first_packs(batch, 1))
    pallet = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[case.sscc])
    refused(
        "a pallet does not go into a case",
        lambda: case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[pallet.sscc]),
    )


def test_a_case_holding_a_dispensed_pack_cannot_ship(batch, manufacturer, pharmacy, distributor):
    packs = first_packs(batch, 2)
    case = packed(manufacturer, packs)
    Pack.objects.filter(pk=packs[0].pk).update(status=Pack.Status.RECALLED)  # as a recall will
    refused(
        "which is recalled",
        lambda: shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc]),
    )


def test_replaying_the_ledger_rebuilds_cases_and_what_they_hold(
    batch, manufacturer, distributor, pharmacy
):
    packs = first_packs(batch, 6)
    first, second = packed(manufacturer, packs[:3]), packed(manufacturer, packs[3:])
    pallet = case_pack(
        holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[first.sscc, second.sscc]
    )
    shipment_receive(
        receiver=distributor,
        shipment=shipment_create(sender=manufacturer, receiver=distributor, ssccs=[pallet.sscc]),
    )
    case_unpack(holder=distributor, sscc=pallet.sscc)
    shipment_create(sender=distributor, receiver=pharmacy, ssccs=[first.sscc])
    assert rebuild.differences() == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_shipments_of_the_same_case_exactly_one_wins(
    on_postgres, batch, manufacturer, distributor, pharmacy
):
    case = packed(manufacturer, first_packs(batch, 5))
    barrier = threading.Barrier(2)
    outcomes = []

    def ship(receiver):
        try:
            barrier.wait()
            shipment_create(sender=manufacturer, receiver=receiver, ssccs=[case.sscc])
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
    assert outcomes.count("shipped") == 1
    assert "already in transit" in next(o for o in outcomes if o != "shipped")
    assert Shipment.objects.count() == 1
