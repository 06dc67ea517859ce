from datetime import date

import pytest
from django.db import connection

from ledger.models import Entry
from tests.web.helpers import deliver, sgtins, ship
from traceability import pack_states
from traceability.aggregation import case_pack, case_unpack, sscc_new
from traceability.commissioning import batch_commission
from traceability.models import Alert, Pack, PackEvent, SigningKey
from traceability.shipping import shipment_create, shipment_receive
from traceability.verification import PRECEDENCE, pack_assess, pack_verify

pytestmark = pytest.mark.django_db


def tamper(sql, params=()):
    """Edit rows behind the application's back, as a database superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # triggers off
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def at_pharmacy(batch, manufacturer, distributor, pharmacy):
    """Packs that went manufacturer -> distributor -> pharmacy and are in its stock."""
    deliver(batch, manufacturer, distributor, 6)
    deliver(batch, distributor, pharmacy, 3)
    return list(batch.packs.filter(custodian=pharmacy).order_by("pk"))


def verify(pack, scanner, **scanned):
    return pack_verify(scanner=scanner, gtin=pack.gtin, serial=pack.serial, **scanned)


def test_a_pack_in_the_pharmacys_stock_is_authentic_with_its_whole_custody_chain(
    at_pharmacy, pharmacy, manufacturer, distributor, batch
):
    pack = at_pharmacy[0]
    found = verify(pack, pharmacy, lot="A1B2", expiry=date(2028, 1, 1))
    assert found.verdict == "AUTHENTIC" and found.reasons == []
    assert [link.kind for link in found.chain] == [
        "commission",
        "ship",
        "receive",
        "ship",
        "receive",
    ]
    signers = [link.organisation for link in found.chain]
    assert signers == [manufacturer, manufacturer, distributor, distributor, pharmacy]
    assert all(link.signature_valid for link in found.chain)
    assert found.proof_valid and found.proof.entry == pack.last_entry
    assert Alert.objects.count() == 0


def test_an_unregistered_gtin_is_an_unknown_product(pharmacy, batch):
    found = pack_verify(scanner=pharmacy, gtin="09506000134369", serial="X1")
    assert found.verdict == "UNKNOWN_PRODUCT"
    assert Alert.objects.get().code == "A1"


def test_a_serial_never_commissioned_is_unknown_and_alerts_the_manufacturer(
    pharmacy, batch, manufacturer
):
    found = pack_verify(scanner=pharmacy, gtin=batch.product.gtin, serial="NOSUCHSERIAL")
    assert found.verdict == "UNKNOWN_SERIAL"
    alert = Alert.objects.get()
    assert (alert.code, alert.manufacturer, alert.scanner) == ("A3", manufacturer, pharmacy)


def test_a_printed_lot_or_expiry_that_differs_from_the_record_is_a_mismatch(at_pharmacy, pharmacy):
    pack = at_pharmacy[0]
    assert verify(pack, pharmacy, lot="OTHER").verdict == "BATCH_MISMATCH"
    found = verify(pack, pharmacy, expiry=date(2029, 1, 1))
    assert found.verdict == "EXPIRY_MISMATCH"
    assert "expires 2028-01-01" in found.reasons[0].message


def test_pharmacist_sees_already_dispensed_for_a_second_scan_of_a_dispensed_serial(
    at_pharmacy, pharmacy
):
    pack = at_pharmacy[0]
    pack_states.pack_dispense(pharmacy=pharmacy, gtin=pack.gtin, serial=pack.serial)
    found = verify(pack, pharmacy)
    assert found.verdict == "ALREADY_DISPENSED"
    assert found.chain[-1].kind == "dispense" and found.proof_valid


def test_stolen_and_destroyed_packs_are_named_so(at_pharmacy, pharmacy):
    stolen, destroyed = at_pharmacy[0], at_pharmacy[1]
    pack_states.pack_report_stolen(holder=pharmacy, gtin=stolen.gtin, serial=stolen.serial)
    pack_states.pack_destroy(holder=pharmacy, gtin=destroyed.gtin, serial=destroyed.serial)
    assert verify(stolen, pharmacy).verdict == "STOLEN"
    assert verify(destroyed, pharmacy).verdict == "DESTROYED"


def test_a_recalled_pack_is_recalled(at_pharmacy, pharmacy):
    pack = at_pharmacy[0]
    Pack.objects.filter(pk=pack.pk).update(status=Pack.Status.RECALLED)  # as issue 6 will
    assert verify(pack, pharmacy).verdict == "RECALLED"


def test_a_pack_past_its_expiry_is_expired(manufacturer, batch, pharmacy):
    old = batch_commission(
        manufacturer=manufacturer,
        product=batch.product,
        lot="OLD1",
        manufactured_on=date(2023, 1, 1),
        expires_on=date(2025, 1, 1),
        quantity=1,
    )
    found = pack_assess(gtin=old.product.gtin, serial=old.packs.get().serial)
    assert found.verdict == "EXPIRED"
    assert "expired on 2025-01-01" in found.reasons[0].message


def test_a_pharmacy_scanning_a_pack_held_elsewhere_sees_diversion(batch, pharmacy):
    pack = batch.packs.first()  # still at the manufacturer
    found = verify(pack, pharmacy)
    assert found.verdict == "NOT_IN_YOUR_CUSTODY"
    assert Alert.objects.get().code == "T1"


def test_a_regulator_inspecting_a_pack_is_not_told_about_custody(batch, regulator):
    assert verify(batch.packs.first(), regulator).verdict == "AUTHENTIC"


def test_a_tampered_signing_key_makes_the_chain_signature_invalid(
    at_pharmacy, pharmacy, manufacturer
):
    other = SigningKey.objects.exclude(organisation=manufacturer).first()
    SigningKey.objects.filter(organisation=manufacturer).update(public_key=other.public_key)
    found = verify(at_pharmacy[0], pharmacy)
    assert found.verdict == "SIGNATURE_INVALID"
    assert [link.signature_valid for link in found.chain] == [False, False, True, True, True]


def test_an_edited_leaf_elsewhere_in_the_log_makes_the_proof_invalid(at_pharmacy, pharmacy):
    tamper('UPDATE ledger_entry SET leaf_hash = %s WHERE "index" = 0', [b"\x00" * 32])
    found = verify(at_pharmacy[0], pharmacy)
    assert found.verdict == "PROOF_INVALID"
    assert "does not lead to the root" in found.reasons[0].message


def test_an_edited_entry_breaks_both_its_signature_and_its_proof(at_pharmacy, pharmacy):
    pack = at_pharmacy[0]
    data = bytes(Entry.objects.get(index=pack.last_entry).data)
    forged = data.replace(b"receiving", b"Receiving")
    tamper('UPDATE ledger_entry SET data = %s WHERE "index" = %s', [forged, pack.last_entry])
    found = verify(pack, pharmacy)
    assert [r.code for r in found.reasons] == ["SIGNATURE_INVALID", "PROOF_INVALID"]


def test_every_problem_is_listed_and_the_verdict_is_the_first_by_precedence(at_pharmacy, pharmacy):
    pack = at_pharmacy[0]
    pack_states.pack_report_stolen(holder=pharmacy, gtin=pack.gtin, serial=pack.serial)
    found = verify(pack, pharmacy, lot="WRONG")
    assert [r.code for r in found.reasons] == ["BATCH_MISMATCH", "STOLEN"]
    assert found.verdict == "BATCH_MISMATCH"
    assert PRECEDENCE.index("BATCH_MISMATCH") < PRECEDENCE.index("STOLEN")


def test_repeat_scans_of_one_problem_count_on_one_open_alert(batch, pharmacy):
    pack = batch.packs.first()
    for _ in range(3):
        verify(pack, pharmacy)
    alert = Alert.objects.get()
    assert alert.scans == 3 and alert.status == Alert.Status.NEW


def test_a_pack_that_travelled_in_a_case_on_a_pallet_is_authentic(
    batch, manufacturer, distributor, pharmacy
):
    from traceability.aggregation import case_pack, case_unpack, sscc_new
    from traceability.shipping import shipment_create, shipment_receive

    packs = list(batch.packs.order_by("pk")[:3])
    case = case_pack(
        holder=manufacturer,
        sscc=sscc_new(manufacturer),
        sgtins=[(p.gtin, p.serial) for p in packs],
    )
    pallet = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[case.sscc])
    for sender, receiver, sscc in ((manufacturer, distributor, pallet.sscc),):
        shipment = shipment_create(sender=sender, receiver=receiver, ssccs=[sscc])
        shipment_receive(receiver=receiver, shipment=shipment)
    case_unpack(holder=distributor, sscc=pallet.sscc)
    shipment = shipment_create(sender=distributor, receiver=pharmacy, ssccs=[case.sscc])
    shipment_receive(receiver=pharmacy, shipment=shipment)

    found = verify(packs[0], pharmacy)
    assert found.verdict == "AUTHENTIC", found.reasons
    assert [link.kind for link in found.chain] == [
        "commission",
        "pack",
        "pack",
        "ship",
        "receive",
        "unpack",
        "ship",
        "receive",
    ]
    assert all(link.signature_valid for link in found.chain)


def test_a_case_event_that_never_held_the_pack_breaks_its_chain(batch, manufacturer, pharmacy):
    from traceability.aggregation import case_pack, sscc_new

    packs = list(batch.packs.order_by("pk")[:2])
    other = case_pack(
        holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=[(packs[1].gtin, packs[1].serial)]
    )
    # An index row claiming an event about another case concerns this pack.
    PackEvent.objects.create(pack=packs[0], entry=other.packed_entry, kind="pack")
    found = verify(packs[0], manufacturer)
    assert "SIGNATURE_INVALID" in [r.code for r in found.reasons]


def test_a_pack_on_its_way_to_the_pharmacy_is_not_yet_in_its_custody(batch, manufacturer, pharmacy):
    shipment = ship(batch, manufacturer, pharmacy, 1)
    pack = shipment.packs.get()
    found = verify(pack, pharmacy)
    assert found.verdict == "NOT_IN_YOUR_CUSTODY"
    assert "on its way to you: receive it first" in found.reasons[0].message
    assert (
        verify(pack, manufacturer).reasons[0].message == "this pack is in transit: you shipped it"
    )


def test_a_pack_that_travelled_on_a_pallet_of_cases_is_authentic_with_every_event(
    batch, manufacturer, pharmacy
):
    packs = list(batch.packs.order_by("pk")[:2])
    case = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=sgtins(packs))
    pallet = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), ssccs=[case.sscc])
    shipment = shipment_create(sender=manufacturer, receiver=pharmacy, ssccs=[pallet.sscc])
    shipment_receive(receiver=pharmacy, shipment=shipment)
    case_unpack(holder=pharmacy, sscc=pallet.sscc)
    case_unpack(holder=pharmacy, sscc=case.sscc)

    found = verify(packs[0], pharmacy)
    assert found.verdict == "AUTHENTIC", found.reasons
    kinds = [link.kind for link in found.chain]
    assert kinds == ["commission", "pack", "pack", "ship", "receive", "unpack", "unpack"]
    assert all(link.signature_valid for link in found.chain)


def test_an_epc_list_written_as_one_string_does_not_name_the_pack_it_spells_out():
    from traceability.verification import _carries

    uri = "urn:epc:id:sgtin:0614141.012345.SN1"
    assert not _carries({"type": "ObjectEvent", "epcList": f"[{uri}]"}, [uri])
    assert _carries({"type": "ObjectEvent", "epcList": ["other", uri]}, [uri])
