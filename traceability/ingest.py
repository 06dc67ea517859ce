"""Statements that API clients signed with their own keys.

The client sends EPCIS-shaped statements; each kind is held to the same
custody rules as the web path (shipping.check_movable and friends). The
batch is all or nothing: the first refused statement is named by position
and nothing is written. Statements in one batch are checked against the
state before the batch, so one may not depend on another; a pack may
appear in only one statement per batch.
"""

import uuid
from collections.abc import Sequence

from django.db import transaction

from traceability import epcis_shapes, statements
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


def _destination(body: dict) -> Organisation:
    try:
        gln = epcis_shapes.gln_parse(body["destinationList"][0]["destination"])
    except (KeyError, IndexError, TypeError):
        raise ValueError("body.destinationList must name the receiver's GLN") from None
    receiver = Organisation.objects.filter(gln=gln).first()
    if receiver is None or receiver.role not in HOLDING_ROLES:
        raise ValueError(f"{gln} is not an organisation that can receive stock")
    return receiver


def _check_ship(org: Organisation, body: dict, packs: list[Pack]) -> None:
    receiver = _destination(body)
    if receiver.pk == org.pk:
        raise ValueError("sender and receiver are the same organisation")
    if Shipment.objects.filter(public_id=_shipment_id(body)).exists():
        raise ValueError("body.shipment is the id of an existing shipment")
    for pack in packs:
        check_movable(pack, org)


def _check_receive(org: Organisation, body: dict, packs: list[Pack]) -> None:
    shipment = Shipment.objects.filter(public_id=_shipment_id(body)).first()
    if shipment is None or org.pk not in (shipment.receiver_id, shipment.sender_id):
        raise ValueError("body.shipment is not a shipment you can see")
    if shipment.receiver_id != org.pk:
        raise ValueError(f"this shipment is addressed to {shipment.receiver.name}")
    if shipment.status != Shipment.Status.IN_TRANSIT:
        raise ValueError("this shipment was received already")
    if {p.pk for p in packs} != set(shipment.packs.values_list("pk", flat=True)):
        raise ValueError("body.epcList must list exactly the packs of the shipment")


def _check_decommission(org: Organisation, body: dict, packs: list[Pack], kind: str) -> None:
    if kind == "dispense" and org.role != Organisation.Role.PHARMACY:
        raise ValueError(f"a {org.role} may not dispense packs")
    for pack in packs:
        check_movable(pack, org)


def _check_one(org: Organisation, signed, packs_by_sgtin: dict) -> list[Pack]:
    body = signed.body
    _check_shape(signed.kind, body)
    sgtins = _event_sgtins(body)
    missing = [s for s in sgtins if s not in packs_by_sgtin]
    if missing:
        raise ValueError(f"pack {missing[0][0]}/{missing[0][1]} is unknown")
    packs = [packs_by_sgtin[s] for s in sgtins]
    if signed.kind == "ship":
        _check_ship(org, body, packs)
    elif signed.kind == "receive":
        _check_receive(org, body, packs)
    else:
        _check_decommission(org, body, packs, signed.kind)
    return packs


def _lock_packs(parsed: list) -> dict[tuple[str, str], Pack]:
    """Every pack any statement names, row-locked in primary-key order."""
    by_gtin: dict[str, set[str]] = {}
    for signed in parsed:
        try:
            for gtin, serial in _event_sgtins(signed.body):
                by_gtin.setdefault(gtin, set()).add(serial)
        except ValueError:
            continue  # reported with its position by _check_one
    if not by_gtin:
        return {}
    query = Pack.objects.none()
    for gtin, serials in by_gtin.items():
        query = query | Pack.objects.filter(gtin=gtin, serial__in=serials)
    locked = Pack.objects.select_for_update().filter(pk__in=query.values("pk")).order_by("pk")
    return {(p.gtin, p.serial): p for p in locked}


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
    packs_by_sgtin = _lock_packs(parsed)
    claimed: set[int] = set()
    for position, signed in enumerate(parsed):
        try:
            packs = _check_one(organisation, signed, packs_by_sgtin)
        except (ValueError, CustodyRefused) as exc:
            raise StatementRejected(position, str(exc)) from None
        pks = {p.pk for p in packs}
        if pks & claimed:
            raise StatementRejected(position, "a pack appears in two statements of this batch")
        claimed |= pks
    return statements_append(parsed, keys=keys)
