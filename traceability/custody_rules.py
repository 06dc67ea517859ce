"""The custody rules, in one place: the web forms, the statement API and EPCIS
capture all hand their signed custody events to `custody_check`.

A batch of events is all or nothing; the first refused event is named by its
position. Events in one batch see the state before the batch, so one may not
depend on another and a pack or case may appear in only one of them; a
shipment (or its receipt) may span several events, and lot quantities drawn
are counted across the batch.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from traceability.custody_state import (
    HOLDING_ROLES,
    SHIPPING_KINDS,
    Named,
    Refused,
    State,
    destination_gln,
    named_in,
    read_state,
    shipment_id,
)
from traceability.gs1 import validate_sscc
from traceability.models import Case, Organisation, Pack, Shipment, ShipmentLine, StatementRecord
from traceability.recall_state import batch_is_recalled
from traceability.statement_log import StatementRejected
from traceability.statements import SignedStatement

UNDO_WINDOW = timedelta(days=10)  # EMVS: a dispense may be undone within 10 days


def custody_check(org: Organisation, batch: Sequence[SignedStatement]) -> State:
    """Check every custody event `org` signed in `batch`; the state they act on,
    or StatementRejected naming the first that breaks a rule."""
    events = []
    for position, signed in enumerate(batch):
        try:
            events.append((signed, named_in(signed.kind, signed.body)))
        except Refused as exc:
            raise StatementRejected(position, str(exc)) from None
        # A rule for new events only: replaying the ledger reads older ones as they are.
        if datetime.fromisoformat(signed.body["eventTime"]).tzinfo is None:
            raise StatementRejected(
                position, "body.eventTime needs a time zone offset, e.g. Z or +01:00"
            )
    state = read_state(events, lock=True)
    rules = Rules(org, state)
    for position, (signed, named) in enumerate(events):
        try:
            rules.check(signed, named, position)
        except Refused as exc:
            raise StatementRejected(position, str(exc)) from None
    rules.finish()
    return state


def _pack_name(pack: Pack) -> str:
    return f"pack {pack.gtin}/{pack.serial}"


class Rules:
    def __init__(self, org: Organisation, state: State):
        self.org, self.state = org, state
        self.claimed: set[tuple[str, int]] = set()
        self.drawn: dict[int, int] = {}  # lot quantity taken from org's hands, by batch id
        self.started: dict[uuid.UUID, Organisation] = {}  # shipments begun in this batch
        self.receipts: dict[int, tuple[set, set, dict, int]] = {}  # what receipts named so far

    def check(self, signed: SignedStatement, named: Named, position: int) -> None:
        kind = signed.kind
        if kind != "receive" and self.org.role not in HOLDING_ROLES:
            raise Refused(f"a {self.org.role} does not hold stock")
        packs = self._packs(named)
        cases = self._cases(named)
        if kind in SHIPPING_KINDS:
            self._ship(signed.body, kind, packs, cases, named)
        elif kind == "receive":
            self._receive(signed.body, packs, cases, named, position)
        elif kind in ("dispense", "destroy"):
            self._decommission(kind, packs, cases, named)
        elif kind == "pack":
            self._pack(named.parent, packs, cases)
        elif kind == "unpack":
            self._unpack(named.parent, packs, cases)
        else:
            self._pack_state(kind, signed.body, packs, cases, named)
        self._claim(packs, cases)

    # -- what is named ---------------------------------------------------------

    def _packs(self, named: Named) -> list[Pack]:
        missing = [s for s in named.sgtins if s not in self.state.packs]
        if missing:
            raise Refused(f"pack {missing[0][0]}/{missing[0][1]} is unknown")
        return [self.state.packs[s] for s in named.sgtins]

    def _cases(self, named: Named) -> list[Case]:
        missing = [s for s in named.ssccs if s not in self.state.cases]
        if missing:
            raise Refused(f"case {missing[0]} is unknown")
        return [self.state.cases[s] for s in named.ssccs]

    def _claim(self, packs: list[Pack], cases: list[Case]) -> None:
        ids = {("pack", p.pk) for p in packs}
        for case in cases:
            inner_cases, inner_packs = self.state.contents(case)
            ids |= {("case", c.pk) for c in [case, *inner_cases]}
            ids |= {("pack", p.pk) for p in inner_packs}
        if ids & self.claimed:
            raise Refused("a pack or case appears in two events of this batch")
        self.claimed |= ids

    # -- the rules ---------------------------------------------------------------

    def movable(self, pack: Pack, *, loose: bool, recalled_ok: bool = False) -> None:
        """Active, in org's hands, not on its way anywhere (and not inside a case,
        when it is to move on its own). `recalled_ok`: a recall return or
        destruction, which recalled packs may undergo."""
        if pack.status != Pack.Status.ACTIVE and not (
            recalled_ok and pack.status == Pack.Status.RECALLED
        ):
            raise Refused(f"{_pack_name(pack)} is {pack.status} and can no longer move")
        if pack.custodian_id != self.org.pk:
            raise Refused(f"{_pack_name(pack)} is not held by {self.org.name}")
        if pack.shipment_id is not None:
            raise Refused(f"{_pack_name(pack)} is already in transit")
        if loose and pack.case_id is not None:
            raise Refused(f"{_pack_name(pack)} is packed in case {pack.case.sscc}: move the case")

    def _case_movable(self, case: Case, *, top_level: bool = True, recalled_ok=False) -> None:
        if case.custodian_id != self.org.pk:
            raise Refused(f"case {case.sscc} is not held by {self.org.name}")
        if case.shipment_id is not None:
            raise Refused(f"case {case.sscc} is already in transit")
        if top_level and case.parent_id is not None:
            raise Refused(f"case {case.sscc} is packed in case {case.parent.sscc}: move that")
        inner_packs = self.state.contents(case)[1]
        if not inner_packs:
            raise Refused(f"case {case.sscc} is empty")
        allowed = {Pack.Status.ACTIVE} | ({Pack.Status.RECALLED} if recalled_ok else set())
        for pack in inner_packs:
            if pack.status not in allowed:
                raise Refused(f"case {case.sscc} holds {_pack_name(pack)}, which is {pack.status}")

    def _draw(self, lots: dict[tuple[str, str], int], *, recalled_ok: bool = False) -> None:
        """Take lot-level quantities out of org's hands."""
        for (gtin, lot), count in lots.items():
            batch = self.state.batches.get((gtin, lot))
            if batch is None:
                raise Refused(f"lot {lot} of GTIN {gtin} is unknown")
            if batch.serialized:
                raise Refused(f"lot {lot} is serialized: name its packs, not a quantity")
            if not recalled_ok and batch_is_recalled(batch):
                raise Refused(f"lot {lot} is recalled and can only be returned or destroyed")
            holding = self.state.holdings.get((batch.pk, self.org.pk))
            on_hand = (holding.on_hand if holding else 0) - self.drawn.get(batch.pk, 0)
            if count > on_hand:
                raise Refused(f"{self.org.name} has only {on_hand:,} of lot {lot} on hand")
            self.drawn[batch.pk] = self.drawn.get(batch.pk, 0) + count

    def _ship(self, body: dict, kind: str, packs, cases, named: Named) -> None:
        receiver = self.state.orgs.get(destination_gln(body))
        if receiver is None or receiver.role not in HOLDING_ROLES:
            raise Refused(f"{destination_gln(body)} is not an organisation that can receive stock")
        if receiver.pk == self.org.pk:
            raise Refused("sender and receiver are the same organisation")
        public_id = shipment_id(body)
        if public_id in self.state.shipments:
            raise Refused("body.shipment is the id of an existing shipment")
        if self.started.setdefault(public_id, receiver) != receiver:
            raise Refused("body.shipment goes to another receiver earlier in this batch")
        recall_return = kind == "return"  # recalled goods go back to their sender
        for pack in packs:
            self.movable(pack, loose=True, recalled_ok=recall_return)
        for case in cases:
            self._case_movable(case, recalled_ok=recall_return)
        self._draw(named.lots, recalled_ok=recall_return)
        if kind == "return":
            self._returned_to(receiver, packs, cases, named)

    def _returned_to(self, receiver: Organisation, packs, cases, named: Named) -> None:
        """Goods go back only to whoever sent them."""
        for item in [*packs, *cases]:
            if item.received_from_id != receiver.pk:
                what = _pack_name(item) if isinstance(item, Pack) else f"case {item.sscc}"
                raise Refused(f"{what} did not come from {receiver.name}: return it to its sender")
        for gtin, lot in named.lots:
            came_from = ShipmentLine.objects.filter(
                batch=self.state.batches[(gtin, lot)],
                shipment__sender=receiver,
                shipment__receiver=self.org,
                shipment__status=Shipment.Status.RECEIVED,
            )
            if not came_from.exists():
                raise Refused(f"lot {lot} did not come from {receiver.name}")

    def _receive(self, body: dict, packs, cases, named: Named, position: int) -> None:
        shipment = self.state.shipments.get(shipment_id(body))
        if shipment is None or self.org.pk not in (shipment.receiver_id, shipment.sender_id):
            raise Refused("body.shipment is not a shipment you can see")
        if shipment.receiver_id != self.org.pk:
            raise Refused(f"this shipment is addressed to {shipment.receiver.name}")
        if shipment.status != Shipment.Status.IN_TRANSIT:
            raise Refused("this shipment was received already")
        loose, top, lines = self.state.shipped[shipment.pk]
        got_packs, got_cases, got_lines, _ = self.receipts.get(shipment.pk, (set(), set(), {}, 0))
        got_packs |= {p.pk for p in packs}
        got_cases |= {c.pk for c in cases}
        for (gtin, lot), count in named.lots.items():
            batch = self.state.batches.get((gtin, lot))
            if batch is None or batch.pk not in lines:
                raise Refused(f"lot {lot} of GTIN {gtin} is not in this shipment")
            got_lines[batch.pk] = got_lines.get(batch.pk, 0) + count
        if not (got_packs <= loose and got_cases <= top):
            raise Refused("body.epcList must list exactly the packs and cases of the shipment")
        self.receipts[shipment.pk] = (got_packs, got_cases, got_lines, position)

    def finish(self) -> None:
        """Every receipt in the batch took its whole shipment."""
        for shipment_pk, (packs, cases, lines, position) in self.receipts.items():
            loose, top, shipped_lines = self.state.shipped[shipment_pk]
            if (packs, cases) != (loose, top):
                raise StatementRejected(
                    position, "body.epcList must list exactly the packs and cases of the shipment"
                )
            if lines != shipped_lines:
                raise StatementRejected(
                    position, "body.quantityList must list exactly the quantities shipped"
                )

    def _decommission(self, kind: str, packs, cases, named: Named) -> None:
        if kind == "dispense" and self.org.role != Organisation.Role.PHARMACY:
            raise Refused(f"a {self.org.role} may not dispense packs")
        if kind == "dispense" and cases:
            raise Refused(f"dispense packs, not cases: unpack case {cases[0].sscc} first")
        destroying = kind == "destroy"  # recalled goods may be destroyed, never dispensed
        for pack in packs:
            self.movable(pack, loose=False, recalled_ok=destroying)
        for case in cases:
            self._case_movable(case, top_level=False, recalled_ok=destroying)
        self._draw(named.lots, recalled_ok=destroying)

    def _pack(self, sscc: str, packs, cases) -> None:
        parent = self.state.cases.get(sscc)
        if parent is None:
            try:
                validate_sscc(sscc)
            except ValidationError as exc:
                raise Refused(exc.messages[0]) from None
        else:
            if parent.custodian_id != self.org.pk:
                raise Refused(f"case {sscc} is not held by {self.org.name}")
            if parent.shipment_id is not None:
                raise Refused(f"case {sscc} is already in transit")
            if cases and parent.parent_id is not None:
                raise Refused(f"case {sscc} is itself packed in a case: cases go on pallets only")
        for pack in packs:
            self.movable(pack, loose=True)
        for case in cases:
            self._case_movable(case)
            if self.state.inner_cases.get(case.pk):
                raise Refused(f"case {case.sscc} holds cases: a pallet does not go into a case")

    def _unpack(self, sscc: str, packs, cases) -> None:
        parent = self.state.cases.get(sscc)
        if parent is None:
            raise Refused(f"case {sscc} is unknown")
        if parent.custodian_id != self.org.pk:
            raise Refused(f"case {sscc} is not held by {self.org.name}")
        if parent.shipment_id is not None:
            raise Refused(f"case {sscc} is in transit")
        for pack in packs:
            if pack.case_id != parent.pk:
                raise Refused(f"{_pack_name(pack)} is not in case {sscc}")
        for case in cases:
            if case.parent_id != parent.pk:
                raise Refused(f"case {case.sscc} is not in case {sscc}")

    def _pack_state(self, kind: str, body: dict, packs, cases, named: Named) -> None:
        if cases or named.lots:
            raise Refused(f"a {kind} names packs by serial, not cases or quantities")
        if kind != "dispense.undo":  # stolen, sample: the holder's packs, as for a dispense
            for pack in packs:
                self.movable(pack, loose=False)
            return
        if self.org.role != Organisation.Role.PHARMACY:
            raise Refused(f"a {self.org.role} may not undo a dispense")
        for pack in packs:
            refusal = undo_refusal(pack, self.org)
            if refusal:
                raise Refused(refusal)
            if body.get("undoes") != pack.last_entry:
                raise Refused(
                    f"body.undoes must be {pack.last_entry}, the ledger index of the dispense "
                    f"of {_pack_name(pack)}"
                )


def undo_refusal(pack: Pack, pharmacy: Organisation, *, now=None) -> str | None:
    """Why `pharmacy` may not undo the pack's dispense now, or None if it may: only the
    same pharmacy, within UNDO_WINDOW, while the pack is not recalled or expired."""
    where = _pack_name(pack)
    if pack.status != Pack.Status.SUPPLIED:
        return f"{where} is {pack.status}, not dispensed"
    dispensed = StatementRecord.objects.filter(entry=pack.last_entry).first()
    if dispensed is None or dispensed.kind != "dispense":
        return f"{where} was not dispensed by its latest event"
    if dispensed.organisation_id != pharmacy.pk:
        return f"only the pharmacy that dispensed {where} may undo it"
    now = now or timezone.now()
    if now - dispensed.issued_at > UNDO_WINDOW:
        return f"{where} was dispensed more than {UNDO_WINDOW.days} days ago"
    if batch_is_recalled(pack.batch):
        return f"{where} belongs to recalled lot {pack.batch.lot}"
    if pack.batch.expires_on < now.date():
        return f"{where} expired on {pack.batch.expires_on.isoformat()}"
    return None
