"""Custody events applied to the projections, a run of consecutive events at a time.

What a run names is read at once (custody_state.read_state, the same reader
the rules use), the events are applied in ledger order to those rows in
memory, and the changes are written with a few queries however long the run
is. The rules were checked when the events were appended; replaying the
ledger applies them again without checking.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from traceability.bulk_sql import insert_rows, insert_rows_with_ids, update_rows
from traceability.custody_state import (
    PACK_STATE_KINDS,
    SHIPPING_KINDS,
    Named,
    State,
    destination_gln,
    named_in,
    read_state,
    shipment_id,
)
from traceability.models import (
    BatchEvent,
    Case,
    Holding,
    Organisation,
    Pack,
    PackEvent,
    Shipment,
    ShipmentLine,
)
from traceability.statements import SignedStatement

PACK_CUSTODY = [  # what custody events change on a pack; the key first
    "id",
    "shipment_id",
    "custodian_id",
    "status",
    "last_entry",
    "case_id",
    "received_from_id",
]
PACK_STATUS = {"dispense": Pack.Status.SUPPLIED, "destroy": Pack.Status.DESTROYED}


def _event_time(body: dict) -> datetime:
    return datetime.fromisoformat(body["eventTime"])


@dataclass(slots=True)
class NewShipment:
    """A shipment this run creates, as the row it will be: a model instance
    per shipment would cost more than the rest of its event."""

    public_id: uuid.UUID
    sender_id: int
    receiver_id: int
    returning: bool
    shipped_entry: int
    shipped_at: datetime
    pack_count: int = 0
    status: str = Shipment.Status.IN_TRANSIT
    received_entry: int | None = None
    received_at: datetime | None = None
    pk: int | None = None


class CustodyRun:
    def __init__(self, run, checked: State | None = None):
        """`checked`: the state the rules read for these events, if they were just
        checked in this transaction; reading it again would find the same rows."""
        if checked is not None and checked.read_for([signed for signed, _ in run]):
            self.run = [(s, e, n) for (s, n), (_, e) in zip(checked.events, run, strict=True)]
            self.state = checked
        else:
            self.run = [(s, entry, named_in(s.kind, s.body)) for s, entry in run]
            self.state = read_state([(s, n) for s, _, n in self.run], lock=False)
        self.shipments: dict[uuid.UUID, Shipment | NewShipment] = {}  # created or changed here
        # lot quantities shipped in this run, by (id(shipment), batch id)
        self.lines: dict[tuple[int, int], tuple[Shipment | NewShipment, int]] = {}
        self.quantities: dict[tuple[int, int], int] = {}
        self.touched_packs: dict[int, Pack] = {}
        self.touched_cases: dict[int, Case] = {}  # by id(): new cases have no pk yet
        # Where things went, as objects: a shipment or case created in this run
        # has no primary key until the run is written.
        self.in_shipment: dict[int, Shipment | NewShipment | None] = {}  # by id(pack or case)
        self.in_case: dict[int, Case | None] = {}  # by id(pack or case)
        self.touched_holdings: dict[tuple[int, int], Holding] = {}
        # index rows as dict keys: a pack named and also inside a named case is indexed once
        self.events: dict[tuple[int, int, str, int], None] = {}  # BatchEvent rows
        self.pack_events: dict[tuple[int, int, str], None] = {}  # each pack's chain of custody

    def apply(self) -> None:
        for signed, entry, named in self.run:
            packs = [self.state.packs[s] for s in named.sgtins if s in self.state.packs]
            cases = [self.state.cases[s] for s in named.ssccs if s in self.state.cases]
            kind = signed.kind
            if kind in SHIPPING_KINDS:
                self._ship(signed, entry, packs, cases, named)
            elif kind == "receive":
                self._receive(signed, entry, packs, cases, named)
            elif kind in PACK_STATUS:
                self._decommission(signed, entry, packs, cases, named)
            elif kind in PACK_STATE_KINDS:
                self._state_changed(signed, entry, packs)
            elif kind == "pack":
                self._pack(signed, entry, named.parent, packs, cases)
            else:
                self._unpack(signed, entry, packs, cases)
        self._save()

    # -- reading helpers -------------------------------------------------------

    def _org(self, gln: str) -> Organisation:
        try:
            return self.state.orgs[gln]
        except KeyError:
            raise Organisation.DoesNotExist(f"no organisation has GLN {gln}") from None

    def _shipment(self, public_id: uuid.UUID) -> Shipment | NewShipment | None:
        return self.shipments.get(public_id) or self.state.shipments.get(public_id)

    def _everything(self, packs: list[Pack], cases: list[Case]) -> tuple[list[Pack], list[Case]]:
        """The named packs and cases plus whatever the cases hold."""
        all_packs, all_cases = list(packs), list(cases)
        for case in cases:
            inner_cases, inner_packs = self.state.contents(case)
            all_cases += inner_cases
            all_packs += inner_packs
        return all_packs, all_cases

    def _touch(self, entry: int, packs: list[Pack], cases: list[Case]) -> None:
        for pack in packs:
            pack.last_entry = entry
            self.touched_packs[pack.pk] = pack
        for case in cases:
            case.last_entry = entry
            self.touched_cases[id(case)] = case

    def _holding(self, batch_id: int, holder_id: int) -> Holding:
        key = (batch_id, holder_id)
        holding = self.state.holdings.get(key)
        if holding is None:
            holding = self.state.holdings[key] = Holding(batch_id=batch_id, holder_id=holder_id)
        self.touched_holdings[key] = holding
        return holding

    def _lots(self, named: Named) -> list[tuple[int, int]]:
        return [(self.state.batches[lot].pk, count) for lot, count in named.lots.items()]

    # -- the events ------------------------------------------------------------

    def _ship(self, signed: SignedStatement, entry: int, packs, cases, named: Named) -> None:
        body = signed.body
        receiver = self._org(destination_gln(body))
        public_id = shipment_id(body)
        shipment = self._shipment(public_id)
        if shipment is None:  # else a large shipment signed as several events
            shipment = NewShipment(
                public_id=public_id,
                sender_id=self._org(signed.signer_org).pk,
                receiver_id=receiver.pk,
                returning=signed.kind == "return",
                shipped_entry=entry,
                shipped_at=_event_time(body),
            )
        self.shipments[shipment.public_id] = shipment
        all_packs, all_cases = self._everything(packs, cases)
        shipment.pack_count += len(all_packs)
        for item in [*all_packs, *all_cases]:
            self.in_shipment[id(item)] = shipment
        for batch_id, count in self._lots(named):
            self._holding(batch_id, shipment.sender_id).on_hand -= count
            line = (id(shipment), batch_id)
            self.lines[line] = (shipment, batch_id)
            self.quantities[line] = self.quantities.get(line, 0) + count
        self._touch(entry, all_packs, all_cases)
        self._index(signed.kind, entry, all_packs, named, shipment.sender_id, receiver.pk)

    def _receive(self, signed: SignedStatement, entry: int, packs, cases, named: Named) -> None:
        body = signed.body
        shipment = self._shipment(shipment_id(body))
        if shipment is None:
            raise Shipment.DoesNotExist(f"entry {entry} receives an unknown shipment")
        if shipment.status == Shipment.Status.IN_TRANSIT:
            shipment.status = Shipment.Status.RECEIVED
            shipment.received_entry, shipment.received_at = entry, _event_time(body)
            self.shipments[shipment.public_id] = shipment
        all_packs, all_cases = self._everything(packs, cases)
        for item in [*all_packs, *all_cases]:
            self.in_shipment[id(item)] = None
            item.custodian_id, item.received_from_id = shipment.receiver_id, shipment.sender_id
        for batch_id, count in self._lots(named):
            self._holding(batch_id, shipment.receiver_id).on_hand += count
        self._touch(entry, all_packs, all_cases)
        self._index(signed.kind, entry, all_packs, named, shipment.sender_id, shipment.receiver_id)

    def _decommission(self, signed: SignedStatement, entry: int, packs, cases, named) -> None:
        holder = self._org(signed.signer_org)
        for pack in packs:  # taken out of its case to be dispensed or destroyed
            self._move(pack, None)
        all_packs, all_cases = self._everything(packs, cases)
        for pack in all_packs:
            pack.status = PACK_STATUS[signed.kind]
        counter = "dispensed" if signed.kind == "dispense" else "destroyed"
        for batch_id, count in self._lots(named):
            holding = self._holding(batch_id, holder.pk)
            holding.on_hand -= count
            setattr(holding, counter, getattr(holding, counter) + count)
        self._touch(entry, all_packs, all_cases)
        self._index(signed.kind, entry, all_packs, named, holder.pk)

    def _state_changed(self, signed: SignedStatement, entry: int, packs: list[Pack]) -> None:
        """Stolen, sample or a dispense undone: the status changes, custody does not."""
        for pack in packs:
            pack.status = PACK_STATE_KINDS[signed.kind]
        self._touch(entry, packs, [])
        self._index(signed.kind, entry, packs, Named([], [], {}), self._org(signed.signer_org).pk)

    def _pack(self, signed: SignedStatement, entry: int, sscc: str, packs, cases) -> None:
        holder = self._org(signed.signer_org)
        parent = self.state.cases.get(sscc)
        if parent is None:
            parent = Case(sscc=sscc, custodian=holder, packed_entry=entry, last_entry=entry)
            self.state.cases[sscc] = parent
        for item in [*packs, *cases]:
            self._move(item, parent)
        all_packs, all_cases = self._everything(packs, cases)
        self._touch(entry, all_packs, [parent, *all_cases])
        self._index(signed.kind, entry, all_packs, Named([], [], {}), holder.pk)

    def _unpack(self, signed: SignedStatement, entry: int, packs, cases) -> None:
        for item in [*packs, *cases]:
            self._move(item, None)
        all_packs, all_cases = self._everything(packs, cases)
        self._touch(entry, all_packs, all_cases)
        holder = self._org(signed.signer_org)
        self._index(signed.kind, entry, all_packs, Named([], [], {}), holder.pk)

    def _move(self, item: Pack | Case, case: Case | None) -> None:
        """Put a pack or case into `case` (or take it out: None)."""
        self.in_case[id(item)] = case
        if isinstance(item, Pack):  # membership is read off the rows (State.contents)
            item.case_id = case.pk if case else None
        else:
            item.parent_id = case.pk if case else None

    def _index(self, kind: str, entry: int, packs, named: Named, *org_ids: int) -> None:
        """Record that `entry` concerns these packs, and the batches it moved for
        each party."""
        self.pack_events.update(dict.fromkeys((p.pk, entry, kind) for p in packs))
        batch_ids = {p.batch_id for p in packs} | {b for b, _ in self._lots(named)}
        for batch_id in batch_ids:
            for org_id in set(org_ids):
                self.events[(batch_id, entry, kind, org_id)] = None

    # -- writing ---------------------------------------------------------------

    def _placed(self, item: Pack | Case) -> None:
        """Set the foreign keys of where `item` went, now that every row has a key."""
        if id(item) in self.in_shipment:
            shipment = self.in_shipment[id(item)]
            item.shipment_id = shipment.pk if shipment else None
        if id(item) in self.in_case:
            case = self.in_case[id(item)]
            if isinstance(item, Pack):
                item.case_id = case.pk if case else None
            else:
                item.parent_id = case.pk if case else None

    def _save(self) -> None:
        # Split before creating: creating gives the new ones their keys.
        new = [s for s in self.shipments.values() if s.pk is None]
        changed = [s for s in self.shipments.values() if s.pk is not None]
        _shipments_create(new)
        update_rows(
            Shipment,
            ["id", "pack_count", "status", "received_entry", "received_at"],
            [(s.pk, s.pack_count, s.status, s.received_entry, s.received_at) for s in changed],
        )
        self._save_cases()
        for pack in self.touched_packs.values():
            self._placed(pack)
        update_rows(Pack, PACK_CUSTODY, [_custody_row(p) for p in self.touched_packs.values()])
        self._save_lines()
        holdings = list(self.touched_holdings.values())
        Holding.objects.bulk_create([h for h in holdings if h.pk is None])
        Holding.objects.bulk_update(
            [h for h in holdings if h.pk is not None], ["on_hand", "dispensed", "destroyed"]
        )
        insert_rows(BatchEvent, ["batch_id", "entry", "kind", "organisation_id"], list(self.events))
        insert_rows(PackEvent, ["pack_id", "entry", "kind"], list(self.pack_events))

    def _save_cases(self) -> None:
        cases = list(self.touched_cases.values())
        Case.objects.bulk_create([c for c in cases if c.pk is None])
        for case in cases:
            self._placed(case)
        Case.objects.bulk_update(
            cases, ["custodian", "parent", "shipment", "received_from", "last_entry"]
        )

    def _save_lines(self) -> None:
        if not self.lines:
            return
        existing = {
            (line.shipment_id, line.batch_id): line
            for line in ShipmentLine.objects.filter(
                shipment__in=[shipment.pk for shipment, _ in self.lines.values()]
            )
        }
        new = []
        for key, (shipment, batch_id) in self.lines.items():
            quantity = self.quantities[key]
            known = existing.get((shipment.pk, batch_id))  # pk: created above if it is new
            if known is None:
                new.append(
                    ShipmentLine(shipment_id=shipment.pk, batch_id=batch_id, quantity=quantity)
                )
            else:
                known.quantity += quantity
                known.save(update_fields=["quantity"])
        ShipmentLine.objects.bulk_create(new)


def _custody_row(pack: Pack) -> tuple:
    return tuple(getattr(pack, column) for column in PACK_CUSTODY)


SHIPMENT_COLUMNS = [
    "public_id",
    "sender_id",
    "receiver_id",
    "status",
    "returning",
    "pack_count",
    "shipped_entry",
    "received_entry",
    "shipped_at",
    "received_at",
]


def _shipments_create(shipments: list[NewShipment]) -> None:
    """Insert new shipments and give each its primary key."""
    rows = [tuple(getattr(s, column) for column in SHIPMENT_COLUMNS) for s in shipments]
    ids = insert_rows_with_ids(Shipment, SHIPMENT_COLUMNS, rows)
    for shipment, pk in zip(shipments, ids, strict=True):
        shipment.pk = pk
