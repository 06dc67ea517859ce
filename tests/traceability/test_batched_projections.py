"""Batches of custody events are projected a batch at a time, live and on replay alike."""

import importlib.util
import uuid
from datetime import date, datetime
from pathlib import Path

import nacl.signing
import pytest
from django.core.management import call_command

from ledger import storage
from tests import factories
from traceability import keys, projections, rebuild
from traceability.commissioning import batch_commission, product_register
from traceability.ingest import statements_ingest
from traceability.models import Organisation, Pack, Shipment
from traceability.rebuild import differences, snapshot
from traceability.shipping import shipment_create, shipment_receive
from traceability.statement_log import StatementRejected

pytestmark = pytest.mark.django_db

CLIENT_PATH = Path(__file__).resolve().parents[2] / "examples" / "client.py"
spec = importlib.util.spec_from_file_location("example_client", CLIENT_PATH)
client_example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(client_example)


def own_key(org, regulator) -> bytes:
    """A key the organisation signs with itself, registered by the regulator."""
    private = nacl.signing.SigningKey.generate()
    keys.key_register(
        organisation=org, registered_by=regulator, public_key=bytes(private.verify_key)
    )
    return bytes(private)


@pytest.fixture
def packs(manufacturer):
    product = product_register(manufacturer=manufacturer, gtin="09506000134352", name="Pills")
    batch = batch_commission(
        manufacturer=manufacturer,
        product=product,
        lot="BIG1",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 1, 1),
        quantity=1_300,
    )
    return [(p.gtin, p.serial) for p in batch.packs.order_by("pk")]


def ship(sender, receiver, sgtins, seed, shipment=None):
    body = client_example.ship_event(sender.gln, receiver.gln, sgtins)
    body["shipment"] = shipment or body["shipment"]
    return client_example.sign("ship", body, sender.gln, seed)


def receive(receiver, sender, sgtins, seed, shipment):
    body = client_example.ship_event(sender.gln, receiver.gln, sgtins)
    body.update(bizStep="receiving", disposition="in_progress", shipment=str(shipment))
    return client_example.sign("receive", body, receiver.gln, seed)


def event_time(signed) -> datetime:
    return datetime.fromisoformat(signed["statement"]["body"]["eventTime"])


def pack_state(gtin, serial):
    pack = Pack.objects.select_related("shipment", "custodian").get(gtin=gtin, serial=serial)
    shipment = pack.shipment.public_id if pack.shipment else None
    return shipment, pack.custodian, pack.status, pack.last_entry


def test_a_batch_of_ships_to_several_receivers_projects_every_pack_and_shipment(
    manufacturer, distributor, pharmacy, regulator, packs
):
    other = factories.organisation(Organisation.Role.DISTRIBUTOR, name="Southern Wholesale")
    receivers = [distributor, pharmacy, other]
    seed = own_key(manufacturer, regulator)
    submitted, shipped = [], {}  # shipped: position -> (receiver, its packs)
    for position in range(60):
        sgtins = packs[position * 3 : position * 3 + 1 + position % 3]
        submitted.append(ship(manufacturer, receivers[position % 3], sgtins, seed))
        shipped[position] = (receivers[position % 3], sgtins)
    # one shipment signed as two statements, as the web path does past 500 packs
    split = submitted[7]["statement"]["body"]["shipment"]
    submitted.append(ship(manufacturer, receivers[7 % 3], packs[200:203], seed, shipment=split))
    shipped[60] = (receivers[7 % 3], packs[200:203])

    records = statements_ingest(organisation=manufacturer, submitted=submitted)

    counts: dict[uuid.UUID, int] = {}
    for position, (receiver, sgtins) in shipped.items():
        public_id = uuid.UUID(submitted[position]["statement"]["body"]["shipment"])
        counts[public_id] = counts.get(public_id, 0) + len(sgtins)
        for gtin, serial in sgtins:
            assert pack_state(gtin, serial) == (
                public_id,
                manufacturer,
                Pack.Status.ACTIVE,
                records[position].entry,
            )
        shipment = Shipment.objects.get(public_id=public_id)
        first = 7 if position == 60 else position
        assert (shipment.sender, shipment.receiver, shipment.status) == (
            manufacturer,
            receiver,
            Shipment.Status.IN_TRANSIT,
        )
        assert shipment.shipped_entry == records[first].entry
        assert shipment.shipped_at == event_time(submitted[first])
        assert shipment.received_entry is None
    assert dict(Shipment.objects.values_list("public_id", "pack_count")) == counts
    assert counts[uuid.UUID(split)] == 1 + 7 % 3 + 3
    untouched = Pack.objects.filter(shipment=None, custodian=manufacturer)
    assert untouched.count() == len(packs) - sum(len(s) for _, s in shipped.values())
    assert differences() == []
    call_command("rebuild_projections", "--check")


def test_receipts_in_one_batch_pass_custody_of_every_shipment(
    manufacturer, distributor, regulator, packs
):
    sender_seed, receiver_seed = own_key(manufacturer, regulator), own_key(distributor, regulator)
    ships = [
        ship(manufacturer, distributor, packs[i * 5 : i * 5 + 5], sender_seed) for i in range(8)
    ]
    statements_ingest(organisation=manufacturer, submitted=ships)
    receipts = [
        receive(
            distributor,
            manufacturer,
            packs[i * 5 : i * 5 + 5],
            receiver_seed,
            s["statement"]["body"]["shipment"],
        )
        for i, s in enumerate(ships)
    ]

    records = statements_ingest(organisation=distributor, submitted=receipts)

    for i, signed in enumerate(receipts):
        shipment = Shipment.objects.get(public_id=signed["statement"]["body"]["shipment"])
        assert (shipment.status, shipment.received_entry, shipment.received_at) == (
            Shipment.Status.RECEIVED,
            records[i].entry,
            event_time(signed),
        )
        for gtin, serial in packs[i * 5 : i * 5 + 5]:
            assert pack_state(gtin, serial) == (
                None,
                distributor,
                Pack.Status.ACTIVE,
                records[i].entry,
            )
    assert differences() == []


def test_batched_receipt_checks_name_the_statement_that_breaks_a_rule(
    manufacturer, distributor, pharmacy, regulator, packs
):
    sender_seed, receiver_seed = own_key(manufacturer, regulator), own_key(distributor, regulator)
    to_distributor = ship(manufacturer, distributor, packs[:2], sender_seed)
    to_pharmacy = ship(manufacturer, pharmacy, packs[2:4], sender_seed)
    statements_ingest(organisation=manufacturer, submitted=[to_distributor, to_pharmacy])
    mine, theirs = (s["statement"]["body"]["shipment"] for s in (to_distributor, to_pharmacy))

    with pytest.raises(StatementRejected, match="not a shipment you can see") as refused:
        statements_ingest(
            organisation=distributor,
            submitted=[
                receive(distributor, manufacturer, packs[:2], receiver_seed, mine),
                receive(distributor, manufacturer, packs[2:4], receiver_seed, theirs),
            ],
        )
    assert refused.value.position == 1
    with pytest.raises(StatementRejected, match="addressed to Corner Pharmacy") as refused:
        statements_ingest(
            organisation=manufacturer,
            submitted=[
                ship(manufacturer, distributor, packs[10:11], sender_seed),
                receive(manufacturer, manufacturer, packs[2:4], sender_seed, theirs),
            ],
        )
    assert refused.value.position == 1
    with pytest.raises(StatementRejected, match="exactly the packs and cases of the shipment"):
        statements_ingest(
            organisation=distributor,
            submitted=[receive(distributor, manufacturer, packs[:1], receiver_seed, mine)],
        )
    with pytest.raises(StatementRejected, match="id of an existing shipment") as refused:
        statements_ingest(
            organisation=manufacturer,
            submitted=[
                ship(manufacturer, distributor, packs[10:11], sender_seed),
                ship(manufacturer, distributor, packs[11:12], sender_seed, shipment=mine),
            ],
        )
    assert refused.value.position == 1
    with pytest.raises(StatementRejected, match="is not an organisation that can receive stock"):
        statements_ingest(
            organisation=manufacturer,
            submitted=[ship(manufacturer, regulator, packs[10:11], sender_seed)],
        )


@pytest.mark.parametrize("chunk", [1, 2, rebuild.CHUNK])
def test_a_custodial_shipment_of_1200_packs_counts_1200_live_and_replayed(
    manufacturer, distributor, packs, chunk, monkeypatch
):
    monkeypatch.setattr(projections, "RUN_ITEMS", 500)  # cut the live batch into runs too
    shipment = shipment_create(sender=manufacturer, receiver=distributor, sgtins=packs[:1_200])
    assert shipment.pack_count == 1_200
    assert Pack.objects.filter(shipment=shipment).count() == 1_200
    live = snapshot()

    monkeypatch.setattr(rebuild, "CHUNK", chunk)  # the replay splits the shipment's statements
    rebuild.rebuild()

    assert snapshot() == live
    replayed = Shipment.objects.get(public_id=shipment.public_id)
    assert (replayed.pack_count, replayed.shipped_entry, replayed.shipped_at) == (
        1_200,
        shipment.shipped_entry,
        shipment.shipped_at,
    )
    received = shipment_receive(receiver=distributor, shipment=replayed)
    assert received.status == Shipment.Status.RECEIVED
    assert Pack.objects.filter(custodian=distributor, shipment=None).count() == 1_200
    assert differences() == []


def test_a_forged_statement_deep_in_a_large_batch_is_named_and_nothing_is_written(
    manufacturer, distributor, regulator, packs
):
    seed = own_key(manufacturer, regulator)
    submitted = [ship(manufacturer, distributor, [sgtin], seed) for sgtin in packs[:400]]
    forged = submitted[371]["statement"]["body"]
    forged["destinationList"][0]["destination"] = "https://id.gs1.org/414/4012345000009"
    size = storage.head_size()

    with pytest.raises(StatementRejected, match="signature does not verify") as refused:
        statements_ingest(organisation=manufacturer, submitted=submitted)

    assert refused.value.position == 371
    assert storage.head_size() == size
    assert not Shipment.objects.exists()
