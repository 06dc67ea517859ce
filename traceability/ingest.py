"""Statements that API clients signed with their own keys.

The client sends EPCIS-shaped statements; each kind is held to the same
custody rules as the web path (shipping.check_movable and friends). The
batch is all or nothing: the first refused statement is named by position
and nothing is written. Statements in one batch are checked against the
state before the batch, so one may not depend on another; a pack may
appear in only one statement per batch.

That state is read for the whole batch at once (packs locked, receivers,
shipments), so checking costs a few queries however many statements come.
"""

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import transaction

from traceability import epcis_shapes, projections, statements
from traceability.commissioning import CustodyRefused
from traceability.models import Organisation, Pack, Shipment, StatementRecord
from traceability.shipping import HOLDING_ROLES, check_movable
from traceability.statement_log import StatementRejected, statements_append, statements_check

MAX_STATEMENTS = 10_000
# kind -> (bizStep, disposition) the event must carry, as the web path writes them
EVENT_SHAPE = {
    "ship": ("shipping", "in_transit"),
    "receive": ("receiving", "in_progress"),
    "dispense": ("dispensing", "dispensed"),
    "destroy": ("destroying", "destroyed"),
}


def _event_sgtins(body: dict) -> list[tuple[str, str]]:
    epcs = body.get("epcList")
    if not isinstance(epcs, list) or not epcs:
        raise ValueError("body.epcList must list at least one pack URI")
    sgtins = [epcis_shapes.sgtin_parse(uri) for uri in epcs]
    if len(set(sgtins)) != len(sgtins):
        raise ValueError("body.epcList names a pack twice")
    return sgtins


def _check_shape(kind: str, body: dict) -> None:
    if kind not in EVENT_SHAPE:
        raise ValueError(f"kind {kind!r} cannot be submitted; use one of {sorted(EVENT_SHAPE)}")
    biz_step, disposition = EVENT_SHAPE[kind]
    if body.get("type") != "ObjectEvent" or body.get("action") != "OBSERVE":
        raise ValueError("body must be an EPCIS ObjectEvent with action OBSERVE")
    if body.get("bizStep") != biz_step or body.get("disposition") != disposition:
        raise ValueError(f"a {kind} has bizStep {biz_step!r} and disposition {disposition!r}")
    if not isinstance(body.get("eventTime"), str):
        raise ValueError("body.eventTime is required")


def _shipment_id(body: dict) -> uuid.UUID:
    try:
        return uuid.UUID(str(body["shipment"]))
    except (KeyError, ValueError):
        raise ValueError("body.shipment must be the shipment's UUID") from None


def _destination_gln(body: dict) -> str:
    try:
        return epcis_shapes.gln_parse(body["destinationList"][0]["destination"])
    except (KeyError, IndexError, TypeError):
        raise ValueError("body.destinationList must name the receiver's GLN") from None


def _named(read: Callable[[dict], object], bodies: list[dict]) -> list:
    """read(body) for each body that is well formed; _check_one names the others."""
    found = []
    for body in bodies:
        try:
            found.append(read(body))
        except ValueError:
            continue
    return found


@dataclass
class _State:
    """What the rules look at, read for the whole batch before any statement is checked."""

    packs: dict[tuple[str, str], Pack]  # every pack named, by SGTIN
    receivers: dict[str, Organisation]  # organisations that ships name, by GLN
    shipments: dict[uuid.UUID, Shipment]  # existing shipments that statements name
    shipment_packs: dict[int, set[int]]  # pack ids in each shipment named by a receive
    # shipments started in this batch -> receiver: a large shipment may span statements
    started: dict[uuid.UUID, Organisation] = field(default_factory=dict)


def _read_state(parsed: list) -> _State:
    """Lock every named pack (in primary-key order), then read the rest: a few queries."""
    ships = [s.body for s in parsed if s.kind == "ship"]
    receives = [s.body for s in parsed if s.kind == "receive"]
    sgtins = itertools.chain.from_iterable(_named(_event_sgtins, [s.body for s in parsed]))
    packs = projections.packs_by_sgtin(sgtins, lock=True)
    receivers = projections.organisations_by_gln(_named(_destination_gln, ships))
    received_ids = _named(_shipment_id, receives)
    named = Shipment.objects.filter(public_id__in=_named(_shipment_id, ships) + received_ids)
    shipments = {s.public_id: s for s in named.select_related("receiver")}
    received = [shipments[i].pk for i in received_ids if i in shipments]
    return _State(packs, receivers, shipments, _pack_ids_by_shipment(received))


def _pack_ids_by_shipment(shipment_pks: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {pk: set() for pk in shipment_pks}
    pairs = Pack.objects.filter(shipment__in=shipment_pks).values_list("shipment_id", "pk")
    for shipment, pack in pairs:
        found[shipment].add(pack)
    return found


def _destination(body: dict, state: _State) -> Organisation:
    gln = _destination_gln(body)
    receiver = state.receivers.get(gln)
    if receiver is None or receiver.role not in HOLDING_ROLES:
        raise ValueError(f"{gln} is not an organisation that can receive stock")
    return receiver


def _check_ship(org: Organisation, body: dict, packs: list[Pack], state: _State) -> None:
    receiver = _destination(body, state)
    if receiver.pk == org.pk:
        raise ValueError("sender and receiver are the same organisation")
    shipment_id = _shipment_id(body)
    if shipment_id in state.shipments:
        raise ValueError("body.shipment is the id of an existing shipment")
    if state.started.setdefault(shipment_id, receiver) != receiver:
        raise ValueError("body.shipment goes to another receiver earlier in this batch")
    for pack in packs:
        check_movable(pack, org)


def _check_receive(org: Organisation, body: dict, packs: list[Pack], state: _State) -> None:
    shipment = state.shipments.get(_shipment_id(body))
    if shipment is None or org.pk not in (shipment.receiver_id, shipment.sender_id):
        raise ValueError("body.shipment is not a shipment you can see")
    if shipment.receiver_id != org.pk:
        raise ValueError(f"this shipment is addressed to {shipment.receiver.name}")
    if shipment.status != Shipment.Status.IN_TRANSIT:
        raise ValueError("this shipment was received already")
    if {p.pk for p in packs} != state.shipment_packs[shipment.pk]:
        raise ValueError("body.epcList must list exactly the packs of the shipment")


def _check_decommission(org: Organisation, body: dict, packs: list[Pack], kind: str) -> None:
    if kind == "dispense" and org.role != Organisation.Role.PHARMACY:
        raise ValueError(f"a {org.role} may not dispense packs")
    for pack in packs:
        check_movable(pack, org)


def _check_one(org: Organisation, signed, state: _State) -> list[Pack]:
    body = signed.body
    _check_shape(signed.kind, body)
    sgtins = _event_sgtins(body)
    missing = [s for s in sgtins if s not in state.packs]
    if missing:
        raise ValueError(f"pack {missing[0][0]}/{missing[0][1]} is unknown")
    packs = [state.packs[s] for s in sgtins]
    if signed.kind == "ship":
        _check_ship(org, body, packs, state)
    elif signed.kind == "receive":
        _check_receive(org, body, packs, state)
    else:
        _check_decommission(org, body, packs, signed.kind)
    return packs


@transaction.atomic
def statements_ingest(*, organisation: Organisation, submitted: Sequence) -> list[StatementRecord]:
    """Check and append a batch of client-signed statements for `organisation`."""
    if not isinstance(submitted, list) or not submitted:
        raise StatementRejected(0, "statements must be a non-empty list")
    if len(submitted) > MAX_STATEMENTS:
        raise StatementRejected(0, f"at most {MAX_STATEMENTS:,} statements per request")
    parsed = []
    for position, item in enumerate(submitted):
        try:
            signed = statements.parse(item)
        except statements.StatementError as exc:
            raise StatementRejected(position, str(exc)) from None
        if signed.signer_org != organisation.gln:
            raise StatementRejected(position, "signer.org must be your organisation's GLN")
        parsed.append(signed)
    keys = statements_check(parsed)  # signatures first: no rule looks at unsigned content
    state = _read_state(parsed)
    claimed: set[int] = set()
    for position, signed in enumerate(parsed):
        try:
            packs = _check_one(organisation, signed, state)
        except (ValueError, CustodyRefused) as exc:
            raise StatementRejected(position, str(exc)) from None
        pks = {p.pk for p in packs}
        if pks & claimed:
            raise StatementRejected(position, "a pack appears in two statements of this batch")
        claimed |= pks
    return statements_append(parsed, keys=keys)
