"""What custody events name and the state they act on.

The rules (custody_rules) check events against this state and the
projections apply events to it; both read it the same way, with a few
queries for a whole batch. With `lock`, rows are locked in a fixed order
(shipments, then cases, then packs, then lot holdings, each by primary key)
so concurrent batches on the same goods queue up instead of deadlocking.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.db import connection
from django.db.models import Q

from traceability import epcis_shapes
from traceability.models import Batch, Case, Holding, Organisation, Pack, Shipment, ShipmentLine
from traceability.statements import SignedStatement

HOLDING_ROLES = {
    Organisation.Role.MANUFACTURER,
    Organisation.Role.DISTRIBUTOR,
    Organisation.Role.PHARMACY,
}
# kind -> (EPCIS event type, action, bizStep, disposition): the shape each event must have
EVENT_SHAPE = {
    "ship": ("ObjectEvent", "OBSERVE", "shipping", "in_transit"),
    "return": ("ObjectEvent", "OBSERVE", "shipping", "returned"),
    "receive": ("ObjectEvent", "OBSERVE", "receiving", "in_progress"),
    "dispense": ("ObjectEvent", "OBSERVE", "dispensing", "dispensed"),
    "destroy": ("ObjectEvent", "OBSERVE", "destroying", "destroyed"),
    "pack": ("AggregationEvent", "ADD", "packing", "container_closed"),
    "unpack": ("AggregationEvent", "DELETE", "unpacking", "in_progress"),
    "stolen": ("ObjectEvent", "OBSERVE", "decommissioning", "stolen"),
    "sample": ("ObjectEvent", "OBSERVE", "sampling", "non_sellable_other"),
    "dispense.undo": ("ObjectEvent", "OBSERVE", "stocking", "active"),
}
# The counter's pack states (EMVS): each sets the status of the packs it names.
PACK_STATE_KINDS = {
    "stolen": Pack.Status.STOLEN,
    "sample": Pack.Status.SAMPLE,
    "dispense.undo": Pack.Status.ACTIVE,
}
CUSTODY_KINDS = frozenset(EVENT_SHAPE)
SHIPPING_KINDS = frozenset({"ship", "return"})
MEANWHILE = "was created meanwhile by another request"
NESTING_DEPTH = 2  # packs in cases on pallets: the rules refuse deeper trees


class Refused(ValueError):
    """One event breaks a rule; the message names it."""


@dataclass
class Named:
    """What one event names: packs by (GTIN, serial), cases by SSCC, lot quantities."""

    sgtins: list[tuple[str, str]]
    ssccs: list[str]
    lots: dict[tuple[str, str], int]
    parent: str | None = None  # the case an AggregationEvent packs into or unpacks from


def named_in(kind: str, body: dict) -> Named:
    """Check the event's shape and read what it names; Refused saying what is wrong."""
    if kind not in EVENT_SHAPE:
        raise Refused(f"kind {kind!r} is not a custody event; use one of {sorted(EVENT_SHAPE)}")
    event_type, action, biz_step, disposition = EVENT_SHAPE[kind]
    if body.get("type") != event_type or body.get("action") != action:
        raise Refused(f"a {kind} is an EPCIS {event_type} with action {action}")
    if body.get("bizStep") != biz_step or body.get("disposition") != disposition:
        raise Refused(f"a {kind} has bizStep {biz_step!r} and disposition {disposition!r}")
    if not isinstance(body.get("eventTime"), str):
        raise Refused("body.eventTime is required")
    try:
        when = datetime.fromisoformat(body["eventTime"])  # what the projections will read it with
    except ValueError:
        raise Refused("body.eventTime must be a date and time, e.g. 2026-11-23T09:30:00Z") from None
    if not epcis_shapes.in_utc_range(when):
        raise Refused(f"body.eventTime {body['eventTime']!r} is outside years 1 to 9999 in UTC")
    try:
        if event_type == "AggregationEvent":
            named = _aggregation_named(body)
        else:
            sgtins, ssccs = epcis_shapes.epcs_split(body.get("epcList", []))
            lots = epcis_shapes.quantities_parse(body.get("quantityList", []))
            named = Named(sgtins, ssccs, lots)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if not (named.sgtins or named.ssccs or named.lots):
        raise Refused("body.epcList or body.quantityList must name at least one pack, case or lot")
    if len(set(named.sgtins)) != len(named.sgtins) or len(set(named.ssccs)) != len(named.ssccs):
        raise Refused("the event names a pack or case twice")
    return named


def _aggregation_named(body: dict) -> Named:
    parent = epcis_shapes.sscc_parse(body.get("parentID"))
    sgtins, ssccs = epcis_shapes.epcs_split(body.get("childEPCs"))
    if parent in ssccs:
        raise ValueError(f"case {parent} cannot be packed into itself")
    return Named(sgtins, ssccs, {}, parent)


def shipment_id(body: dict) -> uuid.UUID:
    try:
        return uuid.UUID(str(body["shipment"]))
    except (KeyError, ValueError):
        raise Refused("body.shipment must be the shipment's UUID") from None


def destination_gln(body: dict) -> str:
    try:
        return epcis_shapes.gln_parse(body["destinationList"][0]["destination"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise Refused("body.destinationList must name the receiver's GLN") from None


@dataclass
class State:
    """What the rules look at, read before any event is checked."""

    packs: dict[tuple[str, str], Pack] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)  # by SSCC
    inner_cases: dict[int, list[Case]] = field(default_factory=dict)  # by parent case id
    case_packs: dict[int, list[Pack]] = field(default_factory=dict)  # by case id
    batches: dict[tuple[str, str], Batch] = field(default_factory=dict)  # by (GTIN, lot)
    holdings: dict[tuple[int, int], Holding] = field(default_factory=dict)  # (batch, holder)
    orgs: dict[str, Organisation] = field(default_factory=dict)  # by GLN
    shipments: dict[uuid.UUID, Shipment] = field(default_factory=dict)
    # for each shipment a receipt names: its loose pack ids, top-level case ids, lot lines
    shipped: dict[int, tuple[set[int], set[int], dict[int, int]]] = field(default_factory=dict)
    # the events this state was read for, with what each names
    events: list[tuple[SignedStatement, Named | None]] = field(default_factory=list)

    def read_for(self, statements: Sequence[SignedStatement]) -> bool:
        """Whether this state was read for exactly `statements`, in this order."""
        return len(statements) == len(self.events) and all(
            mine is theirs for (mine, _), theirs in zip(self.events, statements, strict=True)
        )

    def taken_meanwhile(self) -> tuple[SignedStatement, str] | None:
        """A new shipment id or case SSCC of these events that another request
        created since the rules read this state, with the event that named it.
        Only appends create them, so asked under the ledger lock the answer holds."""
        shipments, cases = {}, {}
        for signed, named in self.events:
            if signed.kind in SHIPPING_KINDS:
                shipments.setdefault(shipment_id(signed.body), signed)
            elif signed.kind == "pack" and named.parent not in self.cases:
                cases.setdefault(named.parent, signed)
        taken = Shipment.objects.filter(public_id__any_of=list(shipments))
        public_id = shipments and taken.values_list("public_id", flat=True).first()
        if public_id:
            return shipments[public_id], f"body.shipment {public_id} {MEANWHILE}"
        taken = Case.objects.filter(sscc__in=list(cases))
        sscc = cases and taken.values_list("sscc", flat=True).first()
        if sscc:
            return cases[sscc], f"case {sscc} {MEANWHILE}; send again"
        return None

    def contents(self, case: Case) -> tuple[list[Case], list[Pack]]:
        """Every case and pack inside `case` now, at any depth. Applying events
        changes the rows in memory, so membership is read off the rows."""
        cases, packs, level = [], [], [case]
        while level:
            packs += [p for c in level for p in self.case_packs.get(c.pk, []) if p.case_id == c.pk]
            level = [
                inner
                for c in level
                for inner in self.inner_cases.get(c.pk, [])
                if inner.parent_id == c.pk
            ]
            cases += level
        return cases, packs


def _read_cases(state: State, ssccs: set[str], lock: bool) -> None:
    every = _case_trees_locked(ssccs) if lock else _case_trees(ssccs)
    for case in every:
        state.cases[case.sscc] = case
        if case.parent_id is not None:
            state.inner_cases.setdefault(case.parent_id, []).append(case)
    # Read, not locked: _read_packs locks them with the packs named by serial.
    for pack in Pack.objects.filter(case__in=every).order_by("pk"):
        state.packs[(pack.gtin, pack.serial)] = pack
        state.case_packs.setdefault(pack.case_id, []).append(pack)


def _case_trees(ssccs: set[str]) -> list[Case]:
    """The cases named and every case inside them, level by level."""
    level = list(Case.objects.filter(sscc__in=ssccs).order_by("pk"))
    every = list(level)
    for _ in range(NESTING_DEPTH):
        if not level:
            break
        level = list(Case.objects.filter(parent__in=level).order_by("pk"))
        every += level
    return every


def _case_trees_locked(ssccs: set[str]) -> list[Case]:
    """_case_trees, every case locked in one id order. Locked level by level, two
    requests each naming a case on the other's pallet deadlocked. What a case
    holds changes only under its lock, so once all are locked the trees are
    read again: a case put in meanwhile is locked too."""
    locked: set[int] = set()
    while True:
        every = _case_trees(ssccs)
        new = sorted({case.pk for case in every} - locked)
        if not new:
            return every
        list(Case.objects.filter(pk__in=new).order_by("pk").select_for_update().values("pk"))
        locked.update(new)


def packs_by_sgtin(sgtins, *, lock: bool = False) -> dict[tuple[str, str], Pack]:
    """The packs that exist among `sgtins`, by (GTIN, serial): one query."""
    # A serial with a NUL in it (a Digital Link's %00) names no pack, and
    # PostgreSQL cannot even compare text holding one.
    sgtins = {(gtin, serial) for gtin, serial in sgtins if "\x00" not in gtin + serial}
    if not sgtins:
        return {}
    if connection.vendor == "postgresql":
        packs = _packs_by_arrays(sgtins, lock)
    else:
        serials_by_gtin: dict[str, set[str]] = {}
        for gtin, serial in sgtins:
            serials_by_gtin.setdefault(gtin, set()).add(serial)
        query = Q()
        for gtin, serials in serials_by_gtin.items():
            query |= Q(gtin=gtin, serial__in=serials)
        packs = Pack.objects.filter(query)
        if lock:
            packs = packs.select_for_update().order_by("pk")
    return {(p.gtin, p.serial): p for p in packs}


def _packs_by_arrays(sgtins: set[tuple[str, str]], lock: bool) -> list[Pack]:
    """Thousands of (GTIN, serial) pairs as one JSON parameter: the ORM's one
    parameter per value costs more to build than the query costs to run, and
    so did two text[] literals (psycopg quotes each element in Python)."""
    fields = Pack._meta.concrete_fields
    columns = ", ".join(f"p.{connection.ops.quote_name(f.column)}" for f in fields)
    sql = (
        f"SELECT {columns} FROM {Pack._meta.db_table} p"  # noqa: S608
        " JOIN json_array_elements(%s::json) AS s(pair)"
        " ON p.gtin = s.pair ->> 0 AND p.serial = s.pair ->> 1"
    )
    if lock:
        sql += " ORDER BY p.id FOR UPDATE OF p"
    with connection.cursor() as cursor:
        cursor.execute(sql, [orjson.dumps(list(sgtins)).decode()])
        rows = cursor.fetchall()
    names, alias = [f.attname for f in fields], connection.alias  # a lookup per row costs 6 us
    return [Pack.from_db(alias, names, row) for row in rows]


def _read_packs(state: State, sgtins: set[tuple[str, str]], lock: bool) -> None:
    wanted = sgtins - state.packs.keys()
    if lock and state.case_packs:
        _lock_packs_at_once(state, wanted)
    else:
        state.packs.update(packs_by_sgtin(wanted, lock=lock))


def _lock_packs_at_once(state: State, wanted: set[tuple[str, str]]) -> None:
    """Lock the packs in the named cases and the packs named by serial in one
    query, by id, and read them again as locked. Locked in two steps, two
    requests each naming a case and a pack inside the other's case deadlocked."""
    named = packs_by_sgtin(wanted)  # for their ids
    ids = {p.pk for packs in state.case_packs.values() for p in packs}
    ids |= {p.pk for p in named.values()}
    case_ids = {case.pk for case in state.cases.values()}
    state.case_packs.clear()
    for pack in Pack.objects.filter(pk__in=ids).order_by("pk").select_for_update():
        state.packs[(pack.gtin, pack.serial)] = pack
        if pack.case_id in case_ids:  # as locked: it may have left its case meanwhile
            state.case_packs.setdefault(pack.case_id, []).append(pack)


def _read_lots(state: State, lots: set[tuple[str, str]], holder_ids: set[int], lock: bool):
    for batch in Batch.objects.filter(product__gtin__in={g for g, _ in lots}).select_related(
        "product"
    ):
        if (batch.product.gtin, batch.lot) in lots:
            state.batches[(batch.product.gtin, batch.lot)] = batch
    holdings = Holding.objects.filter(
        batch__in=list(state.batches.values()), holder__in=holder_ids
    ).order_by("pk")
    for holding in holdings.select_for_update() if lock else holdings:
        state.holdings[(holding.batch_id, holding.holder_id)] = holding


def _read_shipped(state: State, shipment_pks: list[int]) -> None:
    for pk in shipment_pks:
        state.shipped[pk] = (set(), set(), {})
    if not shipment_pks:
        return
    loose = Pack.objects.filter(shipment__id__any_of=shipment_pks, case=None)
    for shipment, pack in loose.values_list("shipment_id", "pk"):
        state.shipped[shipment][0].add(pack)
    top = Case.objects.filter(shipment__id__any_of=shipment_pks, parent=None)
    for shipment, case in top.values_list("shipment_id", "pk"):
        state.shipped[shipment][1].add(case)
    for line in ShipmentLine.objects.filter(shipment__id__any_of=shipment_pks):
        state.shipped[line.shipment_id][2][line.batch_id] = line.quantity


def read_state(events: Sequence[tuple[SignedStatement, Named | None]], *, lock: bool) -> State:
    """The goods, parties and shipments `events` name. Events whose shape was
    refused (None) are skipped: the check names them."""
    state = State(events=list(events))
    ok = [(signed, named) for signed, named in events if named is not None]
    _read_shipments(state, ok, lock)
    ssccs = {s for _, n in ok for s in n.ssccs} | {n.parent for _, n in ok if n.parent}
    _read_cases(state, ssccs, lock)
    _read_packs(state, {s for _, n in ok for s in n.sgtins}, lock)
    glns = {signed.signer_org for signed, _ in ok}
    for signed, _ in ok:
        if signed.kind in SHIPPING_KINDS:
            try:
                glns.add(destination_gln(signed.body))
            except Refused:
                continue
    state.orgs = {org.gln: org for org in Organisation.objects.filter(gln__in=glns)}
    for s in state.shipments.values():
        state.orgs.setdefault(s.sender.gln, s.sender)
        state.orgs.setdefault(s.receiver.gln, s.receiver)
    _read_shipped(state, [s.pk for s in state.shipments.values()])
    lots = {lot for _, n in ok for lot in n.lots}
    receipts = [s for s in state.shipments.values() if state.shipped[s.pk][2]]
    for s in receipts:
        for batch in Batch.objects.filter(pk__in=state.shipped[s.pk][2]).select_related("product"):
            lots.add((batch.product.gtin, batch.lot))
    holder_ids = {org.pk for org in state.orgs.values()}
    if lots and lock:
        _holdings_create(state, ok)
    if lots:
        _read_lots(state, lots, holder_ids, lock)
    return state


def _read_shipments(state: State, events, lock: bool) -> None:
    """The shipments that events ship or receive; locked first of all, as the web's
    receipt locks its shipment before it reads the goods."""
    ids = {
        _shipment_id_or_none(signed)
        for signed, _ in events
        if signed.kind in SHIPPING_KINDS | {"receive"}
    } - {None}
    shipments = Shipment.objects.filter(public_id__any_of=ids).select_related("sender", "receiver")
    if lock:
        shipments = shipments.select_for_update(of=("self",)).order_by("pk")
    else:
        shipments = shipments.order_by()
    state.shipments = {s.public_id: s for s in shipments}


def _holdings_create(state: State, events) -> None:
    """The receiver's holding of each lot its receipts bring, made now if it has
    none, so that it is locked with the others: made after the rules, two
    receipts into one new holding would both insert it. A concurrent insert of
    the same holding waits for this transaction and then does nothing."""
    received = {_shipment_id_or_none(signed) for signed, _ in events if signed.kind == "receive"}
    wanted = {
        (batch_id, shipment.receiver_id)
        for public_id, shipment in state.shipments.items()
        if public_id in received and shipment.status == Shipment.Status.IN_TRANSIT
        for batch_id in state.shipped[shipment.pk][2]
    }
    holdings = [Holding(batch_id=b, holder_id=h) for b, h in sorted(wanted)]
    Holding.objects.bulk_create(holdings, ignore_conflicts=True)


def _shipment_id_or_none(signed: SignedStatement) -> uuid.UUID | None:
    try:
        return shipment_id(signed.body)
    except Refused:
        return None
