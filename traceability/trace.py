"""Where every unit of a batch is: the trace behind recalls.

Each unit of the batch is counted exactly once, against one organisation:

- in_transit: on a shipment addressed to it that it has not received yet;
- dispensed: dispensed (or supplied as a free sample) by it;
- destroyed: destroyed by it;
- returned: in its hands, having come back to it by a return shipment (for
  lot-level stock, which is fungible: its units on hand up to the quantity
  returned to it);
- quarantined: in its hands, after it signed recall.quarantine for a recall
  of the batch (returned stock is counted as returned, not quarantined);
- on_hand: in its hands otherwise (active or recalled, also expired, locked
  or withdrawn packs: they are physically there).

`unaccounted` is what no organisation can account for: packs reported
stolen or exported. So the holders' numbers plus `unaccounted` are always
the batch quantity. Cases need no walk of their own: packing a case does not
change who holds its packs, and shipping one moves every pack in it
(custody_apply), so the pack rows already say where each unit is.

Holders are every organisation that holds or held units, with the path the
units took from the manufacturer: the transfers (who passed how many to
whom, when, and the ledger indices of the shipping and receiving events).
"""

import base64
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from ledger import storage
from traceability.models import (
    Batch,
    BatchEvent,
    Holding,
    Organisation,
    Pack,
    PackEvent,
    RecallResponse,
    Shipment,
    ShipmentLine,
    StatementRecord,
)

BUCKETS = ("on_hand", "in_transit", "dispensed", "destroyed", "returned", "quarantined")
IN_HAND = {
    Pack.Status.ACTIVE,
    Pack.Status.RECALLED,
    Pack.Status.EXPIRED,
    Pack.Status.LOCKED,
    Pack.Status.WITHDRAWN,
}
STATUS_BUCKET = {
    Pack.Status.SUPPLIED: "dispensed",
    Pack.Status.SAMPLE: "dispensed",
    Pack.Status.DESTROYED: "destroyed",
    **{status: "on_hand" for status in IN_HAND},
}
MOVES = ("ship", "return", "receive")


@dataclass
class Transfer:
    """Units of the batch one organisation passed to another."""

    sender: Organisation
    receiver: Organisation
    returning: bool = False
    shipped: int = 0
    received: int = 0
    first_shipped_at: datetime | None = None
    last_received_at: datetime | None = None
    shipped_entries: list[int] = field(default_factory=list)
    received_entries: list[int] = field(default_factory=list)


@dataclass
class Holder:
    org: Organisation
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    path: list[Transfer] = field(default_factory=list)  # from the manufacturer to it

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Checkpoint:
    size: int
    root: bytes
    note: str

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode()


@dataclass
class Trace:
    batch: Batch
    holders: list[Holder]
    unaccounted: int
    transfers: list[Transfer]
    checkpoint: Checkpoint
    computed_at: datetime

    def totals(self) -> dict[str, int]:
        return {b: sum(h.counts[b] for h in self.holders) for b in BUCKETS}


def batch_trace(batch: Batch) -> Trace:
    """The trace of `batch` as of the latest checkpoint. On PostgreSQL, outside
    another transaction, every read sees one snapshot, so the numbers and the
    checkpoint agree."""
    if connection.in_atomic_block:
        return _trace(batch)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _trace(batch)


def _trace(batch: Batch) -> Trace:
    latest = storage.checkpoint_latest()
    checkpoint = Checkpoint(latest.size, bytes(latest.root), latest.note)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(BUCKETS, 0))
    if batch.serialized:
        unaccounted = _count_packs(batch, counts)
    else:
        _count_lots(batch, counts)
        unaccounted = 0
    transfers = _transfers(batch)
    _quarantine(batch, counts)
    involved = set(counts) | {t.sender.pk for t in transfers} | {t.receiver.pk for t in transfers}
    orgs = Organisation.objects.in_bulk(involved)
    for t in transfers:
        t.sender, t.receiver = orgs[t.sender.pk], orgs[t.receiver.pk]
    paths = _paths(batch.product.manufacturer_id, transfers)
    holders = [
        Holder(orgs[pk], counts[pk], paths.get(pk, []))
        for pk in sorted(involved, key=lambda pk: (_depth(paths, pk), orgs[pk].name))
    ]
    if not batch.serialized:
        unaccounted = batch.quantity - sum(h.total for h in holders)
    return Trace(batch, holders, unaccounted, transfers, checkpoint, timezone.now())


def _depth(paths, pk) -> int:
    return len(paths[pk]) if pk in paths else len(paths) + 1  # unreachable ones last


def _count_packs(batch: Batch, counts) -> int:
    unaccounted = 0
    rows = (
        Pack.objects.filter(batch=batch)
        .values_list("custodian", "status", "shipment__receiver")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for custodian, status, receiver, n in rows:
        if receiver is not None:
            counts[receiver]["in_transit"] += n
        elif status in STATUS_BUCKET:
            counts[custodian][STATUS_BUCKET[status]] += n
        else:  # stolen, exported: nobody can account for them
            unaccounted += n
    for holder, n in _returned_packs(batch).items():
        counts[holder]["on_hand"] -= n
        counts[holder]["returned"] += n
    return unaccounted


def _returned_packs(batch: Batch) -> dict[int, int]:
    """Packs in hand whose latest move was a return: per holder."""
    returned = PackEvent.objects.filter(pack__batch=batch, kind="return").values("pack")
    latest: dict[int, tuple[int, str]] = {}
    events = PackEvent.objects.filter(pack__in=returned, kind__in=["ship", "return"])
    for pack, entry, kind in events.values_list("pack", "entry", "kind"):
        if pack not in latest or entry > latest[pack][0]:
            latest[pack] = (entry, kind)
    came_back = [pack for pack, (_, kind) in latest.items() if kind == "return"]
    in_hand = Pack.objects.filter(pk__in=came_back, shipment=None, status__in=IN_HAND)
    return dict(in_hand.values_list("custodian").annotate(n=Count("pk")).order_by())


def _count_lots(batch: Batch, counts) -> None:
    for h in Holding.objects.filter(batch=batch):
        row = counts[h.holder_id]
        row["on_hand"] += h.on_hand
        row["dispensed"] += h.dispensed
        row["destroyed"] += h.destroyed
    lines = ShipmentLine.objects.filter(batch=batch)
    in_transit = lines.filter(shipment__status=Shipment.Status.IN_TRANSIT)
    for receiver, n in in_transit.values_list("shipment__receiver").annotate(n=Sum("quantity")):
        counts[receiver]["in_transit"] += n
    returns = lines.filter(shipment__status=Shipment.Status.RECEIVED, shipment__returning=True)
    for receiver, n in returns.values_list("shipment__receiver").annotate(n=Sum("quantity")):
        row = counts[receiver]
        moved = min(row["on_hand"], n)  # fungible: what it holds, up to what came back
        row["on_hand"] -= moved
        row["returned"] += moved


def _quarantine(batch: Batch, counts) -> None:
    quarantined = RecallResponse.objects.filter(
        recall__batches=batch, kind=RecallResponse.Kind.QUARANTINE
    ).values_list("organisation", flat=True)
    for org in set(quarantined):
        row = counts[org]
        row["quarantined"] += row["on_hand"]
        row["on_hand"] = 0


def _transfers(batch: Batch) -> list[Transfer]:
    if batch.serialized:
        return _pack_transfers(batch)
    return _lot_transfers(batch)


def _lot_transfers(batch: Batch) -> list[Transfer]:
    found: dict[tuple[int, int], Transfer] = {}
    lines = ShipmentLine.objects.filter(batch=batch).select_related("shipment")
    for line in lines.order_by("shipment__shipped_entry"):
        s = line.shipment
        t = _transfer(found, s.sender_id, s.receiver_id)
        t.returning |= s.returning
        _shipped(t, line.quantity, s.shipped_entry, s.shipped_at)
        if s.received_entry is not None:
            _received(t, line.quantity, s.received_entry, s.received_at)
    return list(found.values())


def _pack_transfers(batch: Batch) -> list[Transfer]:
    """Moves from the per-pack event index: how many packs of the batch each
    shipping or receiving entry moved, who signed it and who was the other party."""
    moved = dict(
        PackEvent.objects.filter(pack__batch=batch, kind__in=MOVES)
        .values_list("entry")
        .annotate(n=Count("pk"))
        .order_by()
    )
    records = StatementRecord.objects.filter(entry__in=list(moved)).values_list(
        "entry", "kind", "organisation", "issued_at"
    )
    parties = defaultdict(set)
    for entry, org in BatchEvent.objects.filter(batch=batch, entry__in=list(moved)).values_list(
        "entry", "organisation"
    ):
        parties[entry].add(org)
    found: dict[tuple[int, int], Transfer] = {}
    for entry, kind, signer, issued_at in sorted(records):
        other = next(iter(parties[entry] - {signer}), None)
        if other is None:
            continue
        if kind == "receive":
            _received(_transfer(found, other, signer), moved[entry], entry, issued_at)
        else:
            t = _transfer(found, signer, other)
            t.returning |= kind == "return"
            _shipped(t, moved[entry], entry, issued_at)
    return list(found.values())


def _transfer(found, sender: int, receiver: int) -> Transfer:
    key = (sender, receiver)
    if key not in found:
        found[key] = Transfer(Organisation(pk=sender), Organisation(pk=receiver))
    return found[key]


def _shipped(t: Transfer, n: int, entry: int, when: datetime) -> None:
    t.shipped += n
    t.shipped_entries.append(entry)
    if t.first_shipped_at is None or when < t.first_shipped_at:
        t.first_shipped_at = when


def _received(t: Transfer, n: int, entry: int, when: datetime) -> None:
    t.received += n
    t.received_entries.append(entry)
    if t.last_received_at is None or when > t.last_received_at:
        t.last_received_at = when


def _paths(origin: int, transfers: list[Transfer]) -> dict[int, list[Transfer]]:
    """For each organisation, the shortest chain of forward transfers from `origin`."""
    onward = defaultdict(list)
    for t in transfers:
        if not t.returning:
            onward[t.sender.pk].append(t)
    paths: dict[int, list[Transfer]] = {origin: []}
    queue = deque([origin])
    while queue:
        here = queue.popleft()
        for t in sorted(onward[here], key=lambda t: t.receiver.name):
            if t.receiver.pk not in paths:
                paths[t.receiver.pk] = [*paths[here], t]
                queue.append(t.receiver.pk)
    return paths


def traceable_batches(org: Organisation | None):
    """Batches `org` may trace: regulators all, manufacturers their own."""
    batches = Batch.objects.select_related("product", "product__manufacturer")
    if org is None:
        return batches.none()
    if org.role == Organisation.Role.REGULATOR:
        return batches
    return batches.filter(product__manufacturer=org)
