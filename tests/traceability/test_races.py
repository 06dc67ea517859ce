"""Two requests racing for the same goods, recall, key, nonce or name (PostgreSQL).

The interleaving is forced, not hoped for: another connection holds the
ledger's head row, the first request runs until it waits for the ledger, the
second until it waits for some lock, and only then is the ledger let go.
Whatever order the database then grants the locks in, the outcome must be the
one asserted. They skip on SQLite, which runs one writer at a time.
"""

import base64
import contextlib
import functools
import json
import threading
import time
import uuid

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from ledger import storage
from tests.epcis.conftest import capture, document, object_event, pack_uri, to
from tests.factories import on_hand
from tests.web.helpers import bearer
from traceability import custody_state, epcis_shapes, statement_log
from traceability.aggregation import case_pack, case_unpack, sscc_new
from traceability.ingest import statements_ingest
from traceability.keys import custodial_key_for, custodial_sign, key_revoke
from traceability.models import Case, EpcisEvent, Pack, RecallResponse, Shipment
from traceability.rebuild import differences
from traceability.recalls import recall_acknowledge, recall_issue
from traceability.shipping import packs_decommission, shipment_create, shipment_receive

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 60  # seconds before a test that should not hang says it did
STEPS = {"ship": ("shipping", "in_transit"), "receive": ("receiving", "in_progress")}


class Request(threading.Thread):
    """`action` on its own thread and database connection; `outcome` is "done"
    or the exception it raised, `result` what it returned."""

    def __init__(self, action, name="request"):
        super().__init__(name=name)
        self.action, self.outcome, self.result = action, None, None
        self.start()

    def run(self):
        try:
            self.result = self.action()
            self.outcome = "done"
        except Exception as exc:  # what failed, and how, is the assertion
            self.outcome = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def finished(self) -> str:
        self.join(WAIT)
        assert not self.is_alive(), f"{self.name} hangs"
        return self.outcome


def waiting_for_locks(count: int) -> None:
    """Return once `count` connections to the test database wait for a lock."""
    deadline = time.monotonic() + WAIT
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            assert time.monotonic() < deadline, f"{count} requests never waited for a lock"
            time.sleep(0.02)


@contextlib.contextmanager
def ledger_held():
    """Another connection holds the ledger's head row, as a long append would."""
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT size FROM ledger_treehead WHERE id = 1 FOR UPDATE")
        yield


def raced(first, second) -> tuple[Request, Request]:
    """`first` waits for the ledger, `second` for a lock too; then the ledger is free."""
    with ledger_held():
        a = Request(first, "first")
        waiting_for_locks(1)
        b = Request(second, "second")
        waiting_for_locks(2)
    a.finished()
    b.finished()
    return a, b


def outcomes(*requests: Request) -> list[str]:
    return sorted(r.outcome for r in requests)


def sgtins(packs):
    return [(p.gtin, p.serial) for p in packs]


def submitted(signed) -> dict:
    """A signed statement as an API client sends it."""
    return {"statement": signed.statement, "signature": base64.b64encode(signed.signature).decode()}


def custody_event(org, kind, *, epcs=(), lots=None, **fields) -> dict:
    step, disposition = STEPS[kind]
    body = epcis_shapes.object_event(
        action="OBSERVE",
        biz_step=step,
        disposition=disposition,
        epcs=list(epcs),
        when=timezone.now(),
        **fields,
    )
    if lots:
        body["quantityList"] = epcis_shapes.quantity_list(lots)
    return submitted(custodial_sign(organisation=org, kind=kind, body=body))


def shipped(sender, receiver, shipment_id, *, packs=(), lots=None) -> dict:
    return custody_event(
        sender,
        "ship",
        epcs=[epcis_shapes.sgtin_uri(p.gtin, p.serial) for p in packs],
        lots=lots,
        sourceList=epcis_shapes.parties("source", sender.gln),
        destinationList=epcis_shapes.parties("destination", receiver.gln),
        shipment=str(shipment_id),
    )


def received(shipment: Shipment, packs) -> dict:
    return custody_event(
        shipment.receiver,
        "receive",
        epcs=[epcis_shapes.sgtin_uri(p.gtin, p.serial) for p in packs],
        sourceList=epcis_shapes.parties("source", shipment.sender.gln),
        destinationList=epcis_shapes.parties("destination", shipment.receiver.gln),
        shipment=str(shipment.public_id),
        shippedEntry=shipment.shipped_entry,
    )


def ingest(org, *statements):
    return lambda: statements_ingest(organisation=org, submitted=list(statements))


# -- 1. receipts ---------------------------------------------------------------


def test_a_receipt_sent_by_api_and_the_same_receipt_from_the_web_do_not_deadlock(
    on_postgres, batch, manufacturer, distributor
):
    packs = list(batch.packs.order_by("pk")[:3])
    shipment = shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins(packs))
    api, web = raced(
        ingest(distributor, received(shipment, packs)),
        lambda: shipment_receive(receiver=distributor, shipment=shipment),
    )
    assert (api.outcome, web.outcome) == (
        "done",
        "CustodyRefused: this shipment was received already",
    )
    assert set(
        batch.packs.filter(pk__in=[p.pk for p in packs]).values_list("custodian", flat=True)
    ) == {distributor.pk}


def test_two_lot_receipts_into_a_holding_the_pharmacy_does_not_have_yet_add_up(
    on_postgres, bulk_lot, manufacturer, pharmacy
):
    lot = (bulk_lot.product.gtin, bulk_lot.lot)
    first = shipment_create(sender=manufacturer, receiver=pharmacy, lots={lot: 5})
    second = shipment_create(sender=manufacturer, receiver=pharmacy, lots={lot: 7})
    a, b = raced(
        lambda: shipment_receive(receiver=pharmacy, shipment=first),
        lambda: shipment_receive(receiver=pharmacy, shipment=second),
    )
    assert outcomes(a, b) == ["done", "done"]
    assert on_hand(bulk_lot, pharmacy) == 12
    assert on_hand(bulk_lot, manufacturer) == 88


# -- 2. recall answers ---------------------------------------------------------


def test_a_holder_acknowledging_a_recall_twice_at_once_is_told_it_already_did(
    on_postgres, batch, manufacturer, regulator
):
    recall = recall_issue(
        issuer=regulator,
        batches=[batch],
        recall_class="II",
        reason="label misprint",
        instructions="quarantine all units",
    )
    a, b = raced(
        lambda: recall_acknowledge(holder=manufacturer, recall=recall),
        lambda: recall_acknowledge(holder=manufacturer, recall=recall),
    )
    assert outcomes(a, b) == [
        "RecallRefused: Acme Pharma has already acknowledged this",
        "done",
    ]
    assert RecallResponse.objects.filter(recall=recall).count() == 1


# -- 3. key revocation ----------------------------------------------------------


def test_a_shipment_signed_while_its_key_is_being_revoked_is_refused_as_revoked(
    on_postgres, batch, manufacturer, distributor, regulator, monkeypatch
):
    """The shipment checks its key, then the revocation is appended before it is."""
    key = custodial_key_for(manufacturer)
    checked, revoked = threading.Event(), threading.Event()
    append = storage.append

    def append_after_the_revocation(entries, **kwargs):
        if threading.current_thread().name == "signer":
            checked.set()
            assert revoked.wait(WAIT)
        return append(entries, **kwargs)

    monkeypatch.setattr(statement_log.storage, "append", append_after_the_revocation)
    packs = list(batch.packs.order_by("pk")[:2])
    signer = Request(
        lambda: shipment_create(sender=manufacturer, receiver=distributor, sgtins=sgtins(packs)),
        "signer",
    )
    assert checked.wait(WAIT)
    key_revoke(key=key, revoked_by=regulator, reason="the laptop holding it was stolen")
    revoked.set()
    assert signer.finished() == f"CustodyRefused: signer.key {key.key_id} is revoked"
    assert not Shipment.objects.exists()
    assert not Pack.objects.filter(shipment__isnull=False).exists()


# -- 4. replayed nonce -----------------------------------------------------------


def test_the_same_signed_statement_sent_twice_at_once_is_appended_once(
    on_postgres, bulk_lot, manufacturer, distributor
):
    lot = (bulk_lot.product.gtin, bulk_lot.lot)
    statement = shipped(manufacturer, distributor, uuid.uuid4(), lots={lot: 5})
    size = storage.head_size()
    a, b = raced(ingest(manufacturer, statement), ingest(manufacturer, statement))
    assert outcomes(a, b) == [
        "StatementRejected: statement[0]: nonce was already used: a replayed statement",
        "done",
    ]
    assert storage.head_size() == size + 1
    assert Shipment.objects.count() == 1
    assert on_hand(bulk_lot, manufacturer) == 95


def test_the_same_signed_shipment_of_packs_sent_twice_at_once_is_refused_as_a_replay(
    on_postgres, batch, manufacturer, distributor
):
    """The second waits for the packs, finds them in transit, and is told why."""
    packs = list(batch.packs.order_by("pk")[:2])
    statement = shipped(manufacturer, distributor, uuid.uuid4(), packs=packs)
    a, b = raced(ingest(manufacturer, statement), ingest(manufacturer, statement))
    assert outcomes(a, b) == [
        "StatementRejected: statement[0]: nonce was already used: a replayed statement",
        "done",
    ]
    assert Shipment.objects.count() == 1


# -- 5. new names ------------------------------------------------------------------


def test_two_requests_packing_into_the_same_new_case_one_packs_the_other_is_told(
    on_postgres, batch, manufacturer
):
    packs = list(batch.packs.order_by("pk")[:4])
    sscc = sscc_new(manufacturer)
    a, b = raced(
        lambda: case_pack(holder=manufacturer, sscc=sscc, sgtins=sgtins(packs[:2])),
        lambda: case_pack(holder=manufacturer, sscc=sscc, sgtins=sgtins(packs[2:])),
    )
    assert outcomes(a, b) == [
        f"CustodyRefused: case {sscc} was created meanwhile by another request; send again",
        "done",
    ]
    case = Case.objects.get(sscc=sscc)
    assert case.packs.count() == 2


def test_two_shipments_with_the_same_client_given_id_one_ships_the_other_is_told(
    on_postgres, batch, manufacturer, distributor
):
    packs = list(batch.packs.order_by("pk")[:4])
    shipment_id = uuid.uuid4()
    a, b = raced(
        ingest(manufacturer, shipped(manufacturer, distributor, shipment_id, packs=packs[:2])),
        ingest(manufacturer, shipped(manufacturer, distributor, shipment_id, packs=packs[2:])),
    )
    assert outcomes(a, b) == [
        f"StatementRejected: statement[0]: body.shipment {shipment_id} was created meanwhile "
        "by another request",
        "done",
    ]
    assert Shipment.objects.get().pack_count == 2


# -- 6. EPCIS capture ----------------------------------------------------------------


def test_the_same_epcis_document_captured_twice_at_once_is_stored_once_and_both_succeed(
    on_postgres, batch, manufacturer, distributor
):
    packs = list(batch.packs.order_by("pk")[:2])
    shipping, inspecting = (f"urn:uuid:7d1c2f4e-0000-4000-8000-00000000000{n}" for n in (1, 2))
    doc = document(
        object_event(
            shipping,
            "shipping",
            [pack_uri(p) for p in packs],
            disposition="in_transit",
            destinationList=to(distributor),
        ),
        object_event(inspecting, "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"]),
    )
    clients = bearer(manufacturer, "erp"), bearer(manufacturer, "warehouse")
    a, b = raced(lambda: capture(clients[0], doc), lambda: capture(clients[1], doc))
    responses = [a.result, b.result]
    assert [r.status_code for r in responses] == [202, 202], [r.content for r in responses]
    duplicates = sorted(json.loads(r.content)["duplicateCount"] for r in responses)
    assert duplicates == [0, 2]
    assert Shipment.objects.count() == 1
    assert EpcisEvent.objects.filter(event_id__in=[shipping, inspecting]).count() == 2


# -- 7. the same goods, two ways ------------------------------------------------------
# Either request may reach the ledger first; the other then waits for the goods'
# locks, reads them as the first left them, and is told why it cannot go on.


def race(requests: dict, first: str) -> tuple[Request, Request]:
    """Race two named requests, `first` to the ledger first: (first, second)."""
    (second,) = requests.keys() - {first}
    return raced(requests[first], requests[second])


def pack_name(pack) -> str:
    return f"pack {pack.gtin}/{pack.serial}"


@pytest.mark.parametrize("first", ["pack", "ship"])
def test_packing_a_pack_into_a_case_while_it_is_shipped_one_wins_the_other_is_told(
    on_postgres, batch, manufacturer, distributor, first
):
    pack = batch.packs.order_by("pk").first()
    sscc = sscc_new(manufacturer)
    winner, loser = race(
        {
            "pack": lambda: case_pack(holder=manufacturer, sscc=sscc, sgtins=sgtins([pack])),
            "ship": lambda: shipment_create(
                sender=manufacturer, receiver=distributor, sgtins=sgtins([pack])
            ),
        },
        first,
    )
    assert winner.outcome == "done"
    assert (
        loser.outcome
        == {
            "pack": f"CustodyRefused: {pack_name(pack)} is packed in case {sscc}: move the case",
            "ship": f"CustodyRefused: {pack_name(pack)} is already in transit",
        }[first]
    )
    pack.refresh_from_db()
    assert (pack.case is not None, pack.shipment is not None) == (first == "pack", first == "ship")
    assert differences() == []


@pytest.mark.parametrize("first", ["unpack", "ship"])
def test_unpacking_a_case_while_it_is_shipped_one_wins_the_other_is_told(
    on_postgres, batch, manufacturer, distributor, first
):
    packs = list(batch.packs.order_by("pk")[:3])
    case = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=sgtins(packs))
    winner, loser = race(
        {
            "unpack": lambda: case_unpack(holder=manufacturer, sscc=case.sscc),
            "ship": lambda: shipment_create(
                sender=manufacturer, receiver=distributor, ssccs=[case.sscc]
            ),
        },
        first,
    )
    assert winner.outcome == "done"
    assert (
        loser.outcome
        == {
            "unpack": f"CustodyRefused: case {case.sscc} is empty",
            "ship": f"CustodyRefused: case {case.sscc} is in transit",
        }[first]
    )
    packed = Pack.objects.filter(case=case)
    assert packed.count() == (3 if first == "ship" else 0)
    assert packed.filter(shipment__isnull=False).count() == packed.count()
    assert differences() == []


@pytest.mark.parametrize("first", ["dispense", "ship"])
def test_dispensing_a_pack_while_it_is_shipped_one_wins_the_other_is_told(
    on_postgres, batch, manufacturer, distributor, pharmacy, first
):
    pack = batch.packs.order_by("pk").first()
    delivery = shipment_create(sender=manufacturer, receiver=pharmacy, sgtins=sgtins([pack]))
    shipment_receive(receiver=pharmacy, shipment=delivery)
    winner, loser = race(
        {
            "dispense": lambda: packs_decommission(
                holder=pharmacy, status=Pack.Status.SUPPLIED, sgtins=sgtins([pack])
            ),
            "ship": lambda: shipment_create(
                sender=pharmacy, receiver=distributor, sgtins=sgtins([pack])
            ),
        },
        first,
    )
    assert winner.outcome == "done"
    assert (
        loser.outcome
        == {
            "dispense": f"CustodyRefused: {pack_name(pack)} is supplied and can no longer move",
            "ship": f"CustodyRefused: {pack_name(pack)} is already in transit",
        }[first]
    )
    pack.refresh_from_db()
    assert pack.status == (Pack.Status.SUPPLIED if first == "dispense" else Pack.Status.ACTIVE)
    assert Shipment.objects.filter(sender=pharmacy).count() == (first == "ship")
    assert differences() == []


def test_a_pack_shipped_on_its_own_while_its_case_is_shipped_is_refused(
    on_postgres, batch, manufacturer, distributor, pharmacy
):
    """The loose pack waits for the case's shipment to let go of it, then finds it
    gone. (Sent first, it is refused at once: it is packed in the case.)"""
    packs = list(batch.packs.order_by("pk")[:3])
    case = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=sgtins(packs))
    whole, loose = raced(
        lambda: shipment_create(sender=manufacturer, receiver=distributor, ssccs=[case.sscc]),
        lambda: shipment_create(sender=manufacturer, receiver=pharmacy, sgtins=sgtins(packs[1:2])),
    )
    assert (whole.outcome, loose.outcome) == (
        "done",
        f"CustodyRefused: {pack_name(packs[1])} is already in transit",
    )
    assert list(Shipment.objects.values_list("receiver", "pack_count")) == [(distributor.pk, 3)]
    assert differences() == []


@pytest.mark.parametrize("first", ["web", "api"])
def test_two_lot_shipments_that_together_exceed_the_holding_one_ships_the_other_is_told(
    on_postgres, bulk_lot, manufacturer, distributor, pharmacy, first
):
    lot = (bulk_lot.product.gtin, bulk_lot.lot)
    winner, loser = race(
        {
            "web": lambda: shipment_create(sender=manufacturer, receiver=pharmacy, lots={lot: 60}),
            "api": ingest(
                manufacturer, shipped(manufacturer, distributor, uuid.uuid4(), lots={lot: 50})
            ),
        },
        first,
    )
    assert winner.outcome == "done"
    left = 100 - (60 if first == "web" else 50)
    refused = f"Acme Pharma has only {left} of lot BULK7 on hand"
    assert (
        loser.outcome
        == {
            "web": f"StatementRejected: statement[0]: {refused}",
            "api": f"CustodyRefused: {refused}",
        }[first]
    )
    assert on_hand(bulk_lot, manufacturer) == left
    assert sum(Shipment.objects.values_list("lines__quantity", flat=True)) == 100 - left
    assert differences() == []


def test_two_requests_each_naming_a_case_and_a_pack_in_the_others_case_queue(
    on_postgres, batch, manufacturer, monkeypatch
):
    """Each has locked its own case when both go on to the packs. Were the packs
    in its case locked before the one it names in the other's case, each would
    hold a pack the other waits for: PostgreSQL would kill one (a 500)."""
    packs = list(batch.packs.order_by("pk")[:4])
    ours = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=sgtins(packs[:2]))
    theirs = case_pack(holder=manufacturer, sscc=sscc_new(manufacturer), sgtins=sgtins(packs[2:]))
    cases_locked = threading.Barrier(2, timeout=WAIT)
    read_packs = custody_state._read_packs

    def once_both_hold_their_cases(state, named, lock):
        if lock:
            cases_locked.wait()
        read_packs(state, named, lock)

    monkeypatch.setattr(custody_state, "_read_packs", once_both_hold_their_cases)

    def destroy(case, pack):
        return lambda: packs_decommission(
            holder=manufacturer,
            status=Pack.Status.DESTROYED,
            ssccs=[case.sscc],
            sgtins=sgtins([pack]),
        )

    a = Request(destroy(ours, packs[2]), "a")
    b = Request(destroy(theirs, packs[0]), "b")
    a.finished()
    b.finished()
    winner, loser = sorted([a, b], key=lambda r: r.outcome != "done")
    assert winner.outcome == "done"
    lost = packs[0] if winner is a else packs[2]
    assert loser.outcome == f"CustodyRefused: {pack_name(lost)} is destroyed and can no longer move"
    assert differences() == []


@contextlib.contextmanager
def case_held(case: Case):
    """Another connection holds a case's row, as a request moving it would."""
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT 1 FROM traceability_case WHERE id = %s FOR UPDATE", [case.pk])
        yield


def test_two_requests_each_naming_a_case_on_the_others_pallet_queue(
    on_postgres, batch, manufacturer
):
    """A names pallet P1 and case C2, which is on pallet P3; B names P3 and case C4,
    which is on P1. Locked level by level, A held C2 and waited for C4 while B held
    C4 and waited for C2: PostgreSQL killed one (a 500)."""
    packs = sgtins(batch.packs.order_by("pk")[:4])
    new_case = functools.partial(case_pack, holder=manufacturer)
    c2 = new_case(sscc=sscc_new(manufacturer), sgtins=packs[:2])
    c4 = new_case(sscc=sscc_new(manufacturer), sgtins=packs[2:])
    p1 = new_case(sscc=sscc_new(manufacturer), ssccs=[c4.sscc])
    p3 = new_case(sscc=sscc_new(manufacturer), ssccs=[c2.sscc])

    def destroy(*cases):
        return lambda: packs_decommission(
            holder=manufacturer, status=Pack.Status.DESTROYED, ssccs=[c.sscc for c in cases]
        )

    with case_held(p3):  # B takes C4 (the lower id), then waits here for P3
        b = Request(destroy(p3, c4), "b")
        waiting_for_locks(1)
        a = Request(destroy(p1, c2), "a")  # A takes C2 and P1, then needs C4
        waiting_for_locks(2)
    # B holds the lowest id A needs, so B goes first and destroys all four packs.
    assert b.finished() == "done"
    assert a.finished().startswith("CustodyRefused: case ")
    assert a.outcome.endswith("which is destroyed")
    assert differences() == []
