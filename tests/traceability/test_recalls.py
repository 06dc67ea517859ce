from datetime import date

import pytest

from ledger import storage
from tests.traceability.conftest import registered
from traceability import rebuild
from traceability.aggregation import case_pack, sscc_new
from traceability.commissioning import CustodyRefused, batch_commission
from traceability.models import Organisation, Pack, Recall
from traceability.pack_states import pack_dispense, pack_report_stolen, undo_refusal
from traceability.recalls import (
    recall_acknowledge,
    recall_amend,
    recall_destroy,
    recall_issue,
    recall_quarantine,
    recall_return,
    recalls_for_holder,
)
from traceability.shipping import packs_decommission, shipment_create, shipment_receive
from traceability.trace import BUCKETS, batch_trace

pytestmark = pytest.mark.django_db


def sgtins(packs):
    return [(p.gtin, p.serial) for p in packs]


def delivered(sender, receiver, **goods):
    shipment = shipment_create(sender=sender, receiver=receiver, **goods)
    return shipment_receive(receiver=receiver, shipment=shipment)


def refused(message, action):
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match=message):
        action()
    assert storage.head_size() == size


def recall(issuer, *batches, recall_class="I"):
    return recall_issue(
        issuer=issuer,
        batches=list(batches),
        recall_class=recall_class,
        reason="Particles found in capsules",
        instructions="Stop supplying; quarantine and return to your supplier.",
    )


def row(trace, org):
    return next(h.counts for h in trace.holders if h.org == org)


def adds_up(trace):
    return sum(h.total for h in trace.holders) + trace.unaccounted == trace.batch.quantity


@pytest.fixture
def spread(batch, manufacturer, distributor, pharmacy):
    """6 packs to the distributor, 4 of them on to the pharmacy, 1 dispensed there."""
    packs = list(batch.packs.order_by("pk"))
    delivered(manufacturer, distributor, sgtins=sgtins(packs[:6]))
    delivered(distributor, pharmacy, sgtins=sgtins(packs[:4]))
    pack_dispense(pharmacy=pharmacy, gtin=packs[0].gtin, serial=packs[0].serial)
    return packs


def test_the_manufacturer_recalls_its_batch_and_no_pack_can_be_shipped_or_dispensed(
    batch, spread, manufacturer, distributor, pharmacy
):
    issued = recall(manufacturer, batch)
    assert issued.recall_class == "I"
    statuses = dict(batch.packs.values_list("serial", "status"))
    assert statuses[spread[0].serial] == Pack.Status.SUPPLIED  # already dispensed stays so
    assert {statuses[p.serial] for p in spread[1:]} == {Pack.Status.RECALLED}
    refused(
        "is recalled and can no longer move",
        lambda: pack_dispense(pharmacy=pharmacy, gtin=spread[1].gtin, serial=spread[1].serial),
    )
    refused(
        "is recalled and can no longer move",
        lambda: shipment_create(sender=distributor, receiver=pharmacy, sgtins=sgtins(spread[4:5])),
    )
    assert undo_refusal(Pack.objects.get(pk=spread[0].pk), pharmacy) == (
        f"pack {spread[0].gtin}/{spread[0].serial} belongs to recalled lot A1B2"
    )
    assert rebuild.differences() == []


def test_only_a_regulator_or_the_products_manufacturer_may_recall(
    batch, regulator, distributor, pharmacy
):
    other = registered(Organisation.Role.MANUFACTURER, regulator, name="Other Pharma")
    refused("a distributor may not issue a recall", lambda: recall(distributor, batch))
    refused("only a regulator or Acme Pharma may recall lot A1B2", lambda: recall(other, batch))
    assert recall(regulator, batch).issuer == regulator


def test_a_recall_names_its_class_reason_and_instructions(batch, regulator):
    def issue(**fields):
        details = {"recall_class": "I", "reason": "r", "instructions": "i", **fields}
        return lambda: recall_issue(issuer=regulator, batches=[batch], **details)

    refused("class must be one of I, II, III", issue(recall_class="IV"))
    refused("reason is required", issue(reason="  "))
    refused("instructions must be at most 4,000 characters", issue(instructions="x" * 4001))
    refused("batches: name at least one batch", lambda: recall_issue(
        issuer=regulator, batches=[], recall_class="I", reason="r", instructions="i"
    ))  # fmt: skip


def test_a_batch_is_recalled_once_and_an_amendment_never_un_recalls_it(
    batch, regulator, manufacturer
):
    issued = recall(manufacturer, batch, recall_class="II")
    refused("lot A1B2 is recalled already", lambda: recall(regulator, batch))
    amended = recall_amend(
        org=regulator,
        recall=issued,
        recall_class="I",
        reason="Particles found in capsules; sterility not assured",
        instructions="Return everything.",
    )
    assert (amended.recall_class, amended.issued_entry) == ("I", issued.issued_entry)
    assert amended.amended_entry > issued.issued_entry
    assert set(batch.packs.values_list("status", flat=True)) == {Pack.Status.RECALLED}
    refused("the amendment changes nothing", lambda: recall_amend(
        org=manufacturer, recall=amended, recall_class="I", reason=amended.reason,
        instructions=amended.instructions,
    ))  # fmt: skip
    assert rebuild.differences() == []


def test_the_trace_counts_every_unit_once_for_every_holder(
    batch, spread, manufacturer, distributor, pharmacy
):
    shipment_create(sender=distributor, receiver=pharmacy, sgtins=sgtins(spread[4:5]))
    trace = batch_trace(batch)
    assert row(trace, manufacturer) == dict.fromkeys(BUCKETS, 0) | {"on_hand": 4}
    assert row(trace, distributor) == dict.fromkeys(BUCKETS, 0) | {"on_hand": 1}
    assert row(trace, pharmacy) == dict.fromkeys(BUCKETS, 0) | {
        "on_hand": 3, "in_transit": 1, "dispensed": 1
    }  # fmt: skip
    assert trace.unaccounted == 0 and adds_up(trace)
    path = next(h.path for h in trace.holders if h.org == pharmacy)
    assert [(t.sender, t.receiver, t.shipped, t.received) for t in path] == [
        (manufacturer, distributor, 6, 6),
        (distributor, pharmacy, 5, 4),
    ]
    assert trace.checkpoint.size == storage.head_size()


def test_a_stolen_pack_is_unaccounted(batch, manufacturer):
    pack = batch.packs.first()
    pack_report_stolen(holder=manufacturer, gtin=pack.gtin, serial=pack.serial)
    trace = batch_trace(batch)
    assert trace.unaccounted == 1 and adds_up(trace)


def test_holders_answer_the_recall_and_the_numbers_move(
    batch, spread, manufacturer, distributor, pharmacy
):
    issued = recall(manufacturer, batch)
    assert list(recalls_for_holder(pharmacy)) == [issued]
    recall_acknowledge(holder=pharmacy, recall=issued)
    refused("has already acknowledged this", lambda: recall_acknowledge(
        holder=pharmacy, recall=issued
    ))  # fmt: skip
    recall_quarantine(holder=pharmacy, recall=issued)
    assert row(batch_trace(batch), pharmacy)["quarantined"] == 3

    (back,) = recall_return(holder=pharmacy, recall=issued)
    assert back.returning and back.receiver == distributor and back.pack_count == 3
    assert row(batch_trace(batch), distributor)["in_transit"] == 3
    shipment_receive(receiver=distributor, shipment=back)
    trace = batch_trace(batch)
    assert row(trace, distributor) | {} == dict.fromkeys(BUCKETS, 0) | {
        "on_hand": 2, "returned": 3
    }  # fmt: skip
    assert set(batch.packs.filter(custodian=distributor).values_list("status", flat=True)) == {
        Pack.Status.RECALLED
    }

    assert recall_destroy(holder=distributor, recall=issued) == 5
    trace = batch_trace(batch)
    assert row(trace, distributor)["destroyed"] == 5 and adds_up(trace)
    assert row(trace, pharmacy) == dict.fromkeys(BUCKETS, 0) | {"dispensed": 1}
    assert rebuild.differences() == []


def test_an_organisation_that_never_held_the_batch_cannot_answer_its_recall(
    batch, regulator, manufacturer
):
    stranger = registered(Organisation.Role.PHARMACY, regulator, name="Far Away Pharmacy")
    issued = recall(manufacturer, batch)
    refused("Far Away Pharmacy never held units", lambda: recall_acknowledge(
        holder=stranger, recall=issued
    ))  # fmt: skip
    assert list(recalls_for_holder(stranger)) == []


def test_the_manufacturer_cannot_return_what_nobody_sent_it(batch, manufacturer):
    issued = recall(manufacturer, batch)
    refused("destroy it instead", lambda: recall_return(holder=manufacturer, recall=issued))


def test_recalled_cases_are_returned_whole_and_lot_level_stock_by_count(
    batch, manufacturer, distributor, pharmacy
):
    packs = list(batch.packs.order_by("pk")[:4])
    case = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=sgtins(packs))
    delivered(manufacturer, distributor, ssccs=[case.sscc])
    lot = batch_commission(
        manufacturer=manufacturer, product=batch.product, lot="BULK1",
        manufactured_on=date(2026, 1, 1), expires_on=date(2028, 1, 1), quantity=100,
        serialized=False,
    )  # fmt: skip
    delivered(manufacturer, distributor, lots={(batch.product.gtin, "BULK1"): 30})
    issued = recall(manufacturer, batch, lot)
    refused("lot BULK1 is recalled and can only be returned or destroyed", lambda: delivered(
        distributor, pharmacy, lots={(batch.product.gtin, "BULK1"): 5}
    ))  # fmt: skip
    packs_decommission(
        holder=distributor, status=Pack.Status.DESTROYED, lots={(batch.product.gtin, "BULK1"): 5}
    )
    (back,) = recall_return(holder=distributor, recall=issued)
    shipment_receive(receiver=manufacturer, shipment=back)
    packed = row(batch_trace(batch), manufacturer)
    assert (packed["on_hand"], packed["returned"]) == (6, 4)
    bulk = batch_trace(lot)
    assert row(bulk, manufacturer)["returned"] == 25 and row(bulk, manufacturer)["on_hand"] == 70
    assert row(bulk, distributor)["destroyed"] == 5 and adds_up(bulk)
    assert rebuild.differences() == []
    assert Recall.objects.get().batches.count() == 2


def test_a_pharmacist_scanning_a_recalled_pack_is_told_recalled_with_a_valid_chain(
    batch, spread, manufacturer, pharmacy
):
    from traceability.verification import pack_verify

    recall(manufacturer, batch)
    found = pack_verify(scanner=pharmacy, gtin=spread[1].gtin, serial=spread[1].serial)
    assert found.verdict == "RECALLED"
    assert [r.code for r in found.reasons] == ["RECALLED"]  # chain and proof still verify


@pytest.mark.django_db(transaction=True)
def test_a_recall_issued_while_its_packs_are_being_shipped_waits_for_the_shipment(
    on_postgres, batch, manufacturer, distributor, regulator, monkeypatch
):
    """The shipment holds its packs and wants the ledger; the recall must not hold
    the ledger and then want those packs, or PostgreSQL kills one of the two."""
    import threading
    import time

    from django.db import connection

    from traceability import statement_log

    names = sgtins(batch.packs.order_by("pk")[:3])
    packs_locked = threading.Event()
    append = statement_log.storage.append

    def slow_append(entries, **kwargs):
        if threading.current_thread().name == "shipper":
            packs_locked.set()
            time.sleep(1.5)  # the recall starts meanwhile
        return append(entries, **kwargs)

    monkeypatch.setattr(statement_log.storage, "append", slow_append)
    outcomes = {}

    def run(name, action):
        try:
            action()
            outcomes[name] = "done"
        except Exception as exc:  # what failed, and how, is the assertion
            outcomes[name] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    shipper = threading.Thread(
        name="shipper",
        target=run,
        args=(
            "ship",
            lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=names),
        ),
    )
    shipper.start()
    assert packs_locked.wait(10)
    recaller = threading.Thread(target=run, args=("recall", lambda: recall(regulator, batch)))
    recaller.start()
    shipper.join(30)
    recaller.join(30)
    assert outcomes == {"ship": "done", "recall": "done"}
    assert set(Pack.objects.filter(batch=batch).values_list("status", flat=True)) == {
        Pack.Status.RECALLED
    }
