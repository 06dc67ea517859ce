"""Reads for the custody screens, each scoped to the organisation that asks.

Regulators see everything. Trading partners see the batches they handled
(held, shipped or received: a BatchEvent names them) and, like
`selectors.entry_visible_to`, every ledger entry about those batches.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ledger.models import Entry
from traceability import epcis_shapes, statements
from traceability.models import (
    Batch,
    BatchEvent,
    Case,
    Organisation,
    Pack,
    PackEvent,
    Shipment,
    ShipmentLine,
    SigningKey,
    StatementRecord,
)
from traceability.models import Holding as LotStock
from traceability.selectors import handled_batch_ids

KIND_LABELS = {
    "root.establish": "root key established",
    "key.register": "key registered",
    "key.revoke": "key revoked",
    "product.register": "product registered",
    "commission": "commissioned",
    "ship": "shipped",
    "return": "returned to sender",
    "receive": "received",
    "pack": "packed into a case",
    "unpack": "unpacked from a case",
    "dispense": "dispensed",
    "destroy": "destroyed",
    "stolen": "reported stolen",
    "sample": "supplied as free sample",
    "dispense.undo": "dispense undone",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def is_regulator(org: Organisation) -> bool:
    return org.role == Organisation.Role.REGULATOR


def sees_every_holder(org: Organisation, batch: Batch) -> bool:
    """Regulators and the batch's manufacturer see who holds every pack of it."""
    return is_regulator(org) or batch.product.manufacturer_id == org.pk


def batches_visible_to(org: Organisation) -> QuerySet[Batch]:
    batches = Batch.objects.select_related("product", "product__manufacturer")
    if is_regulator(org):
        return batches
    return batches.filter(pk__in=handled_batch_ids(org))


def shipments_visible_to(org: Organisation) -> QuerySet[Shipment]:
    shipments = Shipment.objects.select_related("sender", "receiver")
    if is_regulator(org):
        return shipments
    return shipments.filter(Q(sender=org) | Q(receiver=org))


def shipments_inbound(org: Organisation) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(receiver=org, status=Shipment.Status.IN_TRANSIT)
        .select_related("sender")
        .order_by("shipped_at", "pk")  # the longest waiting first
    )


def shipments_outbound(org: Organisation) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(sender=org, status=Shipment.Status.IN_TRANSIT)
        .select_related("receiver")
        .order_by("-shipped_at", "-pk")
    )


def shipment_contents(shipments) -> dict[int, list[tuple[Batch, int]]]:
    """What is on each (in-transit) shipment: (batch, packs or units) per batch."""
    rows = list(
        Pack.objects.filter(shipment__in=[s.pk for s in shipments])
        .values("shipment", "batch")
        .annotate(packs=Count("pk"))
    )
    rows += ShipmentLine.objects.filter(shipment__in=[s.pk for s in shipments]).values(
        "shipment", "batch", packs=F("quantity")
    )
    batches = Batch.objects.select_related("product").in_bulk({r["batch"] for r in rows})
    contents = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["shipment"], r["batch"])):
        contents[row["shipment"]].append((batches[row["batch"]], row["packs"]))
    return contents


def packs_in_stock(org: Organisation) -> QuerySet[Pack]:
    """Active packs the organisation holds and has not shipped: what it can move."""
    return Pack.objects.filter(custodian=org, status=Pack.Status.ACTIVE, shipment__isnull=True)


def loose_packs_in_stock(org: Organisation) -> QuerySet[Pack]:
    """Packs in stock that are not packed in a case: what can ship one by one."""
    return packs_in_stock(org).filter(case__isnull=True)


def _count(queryset, column: str):
    """A subquery annotation: `column` summed over `queryset` rows of the outer batch."""
    summed = queryset.filter(batch=OuterRef("pk")).values("batch").annotate(n=column).values("n")
    return Coalesce(Subquery(summed, output_field=IntegerField()), Value(0))


def stock_by_batch(org: Organisation) -> QuerySet[Batch]:
    """Batches the organisation has in stock, serialized packs (loose or in
    cases) or lot-level units, `in_stock` counted, the first to expire first."""
    packs = _count(packs_in_stock(org), Count("pk"))
    units = _count(LotStock.objects.filter(holder=org), Sum("on_hand"))
    return (
        Batch.objects.annotate(in_stock=packs + units)
        .filter(in_stock__gt=0)
        .select_related("product")
        .order_by("expires_on", "product__name", "lot", "pk")
    )


def cases_in_stock(org: Organisation) -> QuerySet[Case]:
    """Top-level cases and pallets the organisation holds and has not shipped,
    with the packs directly in them counted."""
    return (
        Case.objects.filter(custodian=org, shipment__isnull=True, parent__isnull=True)
        .annotate(
            pack_count=Count("packs", distinct=True), case_count=Count("cases", distinct=True)
        )
        .order_by("sscc")
    )


def entry_batches(entries, org: Organisation) -> dict[int, list[Batch]]:
    """The batches each entry concerns, limited to those the organisation may open."""
    events = BatchEvent.objects.filter(entry__in=list(entries))
    if not is_regulator(org):
        events = events.filter(batch__in=handled_batch_ids(org))
    pairs = set(events.values_list("entry", "batch"))
    batches = Batch.objects.select_related("product").in_bulk({b for _, b in pairs})
    found = defaultdict(list)
    for entry, batch in sorted(pairs):
        found[entry].append(batches[batch])
    return found


@dataclass(frozen=True)
class Holding:
    organisation: Organisation
    counts: dict[str, int]  # "in_stock", "in_transit", then other pack statuses

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def holdings(batch: Batch, org: Organisation) -> list[Holding]:
    """Packs of the batch per holder and state. Only regulators and the batch's
    manufacturer see every holder; anyone else sees their own row."""
    packs = batch.packs.all()
    if not sees_every_holder(org, batch):
        packs = packs.filter(custodian=org)
    rows = packs.values("custodian", "status", "shipment").annotate(n=Count("pk"))
    per_holder: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        state = row["status"]
        if state == Pack.Status.ACTIVE:
            state = "in_stock" if row["shipment"] is None else "in_transit"
        per_holder[row["custodian"]][state] += row["n"]
    if not batch.serialized:
        _lot_holdings(batch, org, per_holder)
    orgs = Organisation.objects.in_bulk(per_holder)
    return sorted(
        (Holding(orgs[pk], dict(counts)) for pk, counts in per_holder.items()),
        key=lambda h: (-h.counts.get("in_stock", 0), h.organisation.name),
    )


def _lot_holdings(batch: Batch, org: Organisation, per_holder) -> None:
    """Units of a lot-level batch per holder: on hand, in transit (counted with
    the sender until received), dispensed, destroyed."""
    stock = LotStock.objects.filter(batch=batch)
    lines = ShipmentLine.objects.filter(batch=batch, shipment__status=Shipment.Status.IN_TRANSIT)
    if not sees_every_holder(org, batch):
        stock, lines = stock.filter(holder=org), lines.filter(shipment__sender=org)
    for holding in stock:
        counts = per_holder[holding.holder_id]
        for state, n in (
            ("in_stock", holding.on_hand),
            (Pack.Status.SUPPLIED.value, holding.dispensed),
            (Pack.Status.DESTROYED.value, holding.destroyed),
        ):
            if n:
                counts[state] += n
    for sender, n in lines.values_list("shipment__sender", "quantity"):
        per_holder[sender]["in_transit"] += n


def entry_units(batch: Batch, checked: dict[int, "CheckedEntry"]) -> dict[int, int]:
    """How many packs or units of `batch` each checked entry moved. Custody
    events count what they moved, cases' contents included (PackEvent);
    commissioning counts the packs it names; lot-level events their quantity."""
    moved = dict(
        PackEvent.objects.filter(entry__in=list(checked), pack__batch=batch)
        .values("entry")
        .annotate(n=Count("pk"))
        .values_list("entry", "n")
    )
    lot = (batch.product.gtin, batch.lot)
    return {
        entry: moved.get(entry) or packs_of_batch_among(batch, c.sgtins) + c.lots.get(lot, 0)
        for entry, c in checked.items()
    }


def batch_history(batch: Batch) -> QuerySet[StatementRecord]:
    """Every ledger statement about the batch, in ledger order.

    Whoever may open the batch page handled the batch, so by the entry
    visibility rule every one of these entries is theirs to read.
    """
    entries = BatchEvent.objects.filter(batch=batch).values("entry")
    return (
        StatementRecord.objects.filter(entry__in=entries)
        .select_related("organisation")
        .order_by("entry")
    )


@dataclass(frozen=True)
class CheckedEntry:
    """What a ledger entry says, and whether its signature verifies."""

    signature_ok: bool
    signature_detail: str
    sgtins: list[tuple[str, str]]  # packs the entry names (not those inside named cases)
    lots: dict[tuple[str, str], int]  # lot-level quantities it names
    cases: list[str] = ()  # SSCCs it names as EPCs or children
    parent: str | None = None  # the case a packing or unpacking is about


def entries_checked(indices) -> dict[int, CheckedEntry]:
    """Parse each entry and verify its signature with the registered signer key."""
    entries = Entry.objects.filter(index__in=list(indices))
    parsed: dict[int, statements.SignedStatement | str] = {}
    for entry in entries:
        try:
            parsed[entry.index] = statements.parse_entry(bytes(entry.data))
        except statements.StatementError as exc:
            parsed[entry.index] = f"unreadable entry: {exc}"
    key_ids = {s.signer_key for s in parsed.values() if not isinstance(s, str)}
    keys = {
        k.key_id: k
        for k in SigningKey.objects.select_related("organisation").filter(key_id__in=key_ids)
    }
    checked = {}
    for index, signed in parsed.items():
        if isinstance(signed, str):
            checked[index] = CheckedEntry(False, signed, [], {})
            continue
        checked[index] = CheckedEntry(
            *_signature_status(signed, keys.get(signed.signer_key)), *_named(signed)
        )
    return checked


def _signature_status(signed: statements.SignedStatement, key: SigningKey | None):
    if key is None:
        return False, f"signer key {signed.signer_key} is not registered"
    if key.organisation.gln != signed.signer_org:
        return False, f"key {key.key_id} does not belong to GLN {signed.signer_org}"
    try:
        statements.verify(signed, bytes(key.public_key))
    except statements.StatementError as exc:
        return False, str(exc)
    return True, f"valid (key {key.key_id} of {key.organisation.name})"


def _named(signed: statements.SignedStatement) -> tuple:
    """The packs, lot quantities, cases and parent case an entry names; nothing
    for entries of other shapes."""
    body = signed.body
    try:
        sgtins, cases = epcis_shapes.epcs_split(body.get("epcList") or body.get("childEPCs") or [])
        lots = epcis_shapes.quantities_parse(body.get("quantityList", []))
        parent = epcis_shapes.sscc_parse(body["parentID"]) if "parentID" in body else None
    except ValueError:
        return [], {}, [], None
    return sgtins, lots, cases, parent


def packs_of_batch_among(batch: Batch, sgtins: list[tuple[str, str]]) -> int:
    serials = [serial for gtin, serial in sgtins if gtin == batch.product.gtin]
    return batch.packs.filter(serial__in=serials).count() if serials else 0


def entry_parties(batch: Batch, entries) -> dict[int, list[Organisation]]:
    """Who took part in each entry about the batch (signer and counterpart)."""
    found = defaultdict(list)
    events = BatchEvent.objects.filter(batch=batch, entry__in=list(entries)).select_related(
        "organisation"
    )
    for event in events.order_by("entry", "organisation__name"):
        found[event.entry].append(event.organisation)
    return found


def inbound_shipment_holding(org: Organisation, scan) -> tuple[Shipment | None, str]:
    """The in-transit shipment addressed to `org` that holds the scanned pack or case,
    or why there is none. Shipments to others are never found: the message is the same."""
    on_its_way = {"shipment__receiver": org, "shipment__status": Shipment.Status.IN_TRANSIT}
    if scan.gtin and scan.serial:
        item = Pack.objects.filter(gtin=scan.gtin, serial=scan.serial, **on_its_way)
        named = f"pack {scan.gtin} / {scan.serial}"
    elif scan.sscc:
        item = Case.objects.filter(sscc=scan.sscc, **on_its_way)
        named = f"case {scan.sscc}"
    else:
        return None, (
            f"This code names product {scan.gtin} but no serial number (21); "
            "scan the 2D code of a pack, or a case's label."
        )
    found = item.select_related("shipment__sender").first()
    if found is None:
        return None, (
            f"No shipment on its way to you holds {named}. "
            "It may be received already, or sent somewhere else."
        )
    return found.shipment, ""
