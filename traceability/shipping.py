"""Custody transfer: the sender signs a shipment, the receiver signs its receipt.

Packs are locked in primary-key order before any rule is checked, so two
concurrent attempts on the same pack queue up and exactly one wins.
"""

import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.keys import custodial_sign
from traceability.models import Organisation, Pack, Shipment
from traceability.projections import packs_by_sgtin
from traceability.statement_log import statements_append

HOLDING_ROLES = {
    Organisation.Role.MANUFACTURER,
    Organisation.Role.DISTRIBUTOR,
    Organisation.Role.PHARMACY,
}
MAX_PACKS_PER_SHIPMENT = 10_000
EPCS_PER_STATEMENT = 500


def packs_locked(sgtins: Sequence[tuple[str, str]]) -> list[Pack]:
    """The named packs, row-locked in a fixed order; refuses any that do not exist."""
    wanted = set(sgtins)
    found = packs_by_sgtin(wanted, lock=True)
    missing = sorted(wanted - found.keys())
    if missing:
        gtin, serial = missing[0]
        raise CustodyRefused(f"pack {gtin}/{serial} is unknown")
    return list(found.values())  # primary-key order, as locked


def check_movable(pack: Pack, sender: Organisation) -> None:
    """The pack is active, in the sender's hands and not on its way anywhere."""
    where = f"pack {pack.gtin}/{pack.serial}"
    if pack.status != Pack.Status.ACTIVE:
        raise CustodyRefused(f"{where} is {pack.status} and can no longer move")
    if pack.custodian_id != sender.pk:
        raise CustodyRefused(f"{where} is not held by {sender.name}")
    if pack.shipment_id is not None:
        raise CustodyRefused(f"{where} is already in transit")


def _signed_events(org: Organisation, kind: str, packs: list[Pack], **event) -> list:
    now = timezone.now()
    signed = []
    for start in range(0, len(packs), EPCS_PER_STATEMENT):
        chunk = packs[start : start + EPCS_PER_STATEMENT]
        body = epcis_shapes.object_event(
            action="OBSERVE",
            epcs=[epcis_shapes.sgtin_uri(p.gtin, p.serial) for p in chunk],
            when=now,
            **event,
        )
        signed.append(custodial_sign(organisation=org, kind=kind, body=body))
    return signed


@transaction.atomic
def shipment_create(
    *, sender: Organisation, receiver: Organisation, sgtins: Sequence[tuple[str, str]]
) -> Shipment:
    """Ship packs, named by (GTIN, serial), from `sender` to `receiver`."""
    if sender.role not in HOLDING_ROLES:
        raise CustodyRefused(f"a {sender.role} does not hold stock and cannot ship")
    if receiver.role not in HOLDING_ROLES:
        raise CustodyRefused(f"{receiver.name} is a {receiver.role} and cannot receive stock")
    if receiver.pk == sender.pk:
        raise CustodyRefused("sender and receiver are the same organisation")
    if not sgtins:
        raise CustodyRefused("a shipment needs at least one pack")
    if len(sgtins) > MAX_PACKS_PER_SHIPMENT:
        raise CustodyRefused(f"at most {MAX_PACKS_PER_SHIPMENT:,} packs per shipment")
    if len(set(sgtins)) != len(sgtins):
        raise CustodyRefused("a pack is named twice in this shipment")
    packs = packs_locked(sgtins)
    for pack in packs:
        check_movable(pack, sender)
    public_id = uuid.uuid4()
    statements_append(
        _signed_events(
            sender,
            "ship",
            packs,
            biz_step="shipping",
            disposition="in_transit",
            sourceList=epcis_shapes.parties("source", sender.gln),
            destinationList=epcis_shapes.parties("destination", receiver.gln),
            shipment=str(public_id),
        )
    )
    return Shipment.objects.get(public_id=public_id)


@transaction.atomic
def shipment_receive(*, receiver: Organisation, shipment: Shipment) -> Shipment:
    """The receiver signs the receipt; custody of every pack passes to it."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.receiver_id != receiver.pk:
        raise CustodyRefused(f"this shipment is addressed to {shipment.receiver.name}")
    if shipment.status != Shipment.Status.IN_TRANSIT:
        raise CustodyRefused("this shipment was received already")
    packs = list(Pack.objects.select_for_update().filter(shipment=shipment).order_by("pk"))
    statements_append(
        _signed_events(
            receiver,
            "receive",
            packs,
            biz_step="receiving",
            disposition="in_progress",
            sourceList=epcis_shapes.parties("source", shipment.sender.gln),
            destinationList=epcis_shapes.parties("destination", receiver.gln),
            shipment=str(shipment.public_id),
            shippedEntry=shipment.shipped_entry,
        )
    )
    shipment.refresh_from_db()
    return shipment


DECOMMISSION = {
    # new status: (kind, EPCIS bizStep, disposition, roles that may do it)
    Pack.Status.SUPPLIED: ("dispense", "dispensing", "dispensed", {Organisation.Role.PHARMACY}),
    Pack.Status.DESTROYED: ("destroy", "destroying", "destroyed", HOLDING_ROLES),
}


@transaction.atomic
def packs_decommission(
    *, holder: Organisation, sgtins: Sequence[tuple[str, str]], status: str
) -> list[Pack]:
    """Dispense (pharmacies) or destroy (any holder) packs the holder has in hand."""
    if status not in DECOMMISSION:
        raise CustodyRefused(f"cannot decommission a pack to {status!r}")
    kind, biz_step, disposition, roles = DECOMMISSION[status]
    if holder.role not in roles:
        raise CustodyRefused(f"a {holder.role} may not {kind} packs")
    if not sgtins:
        raise CustodyRefused(f"name at least one pack to {kind}")
    if len(set(sgtins)) != len(sgtins):
        raise CustodyRefused(f"a pack is named twice in this {kind}")
    packs = packs_locked(sgtins)
    for pack in packs:
        check_movable(pack, holder)
    statements_append(
        _signed_events(holder, kind, packs, biz_step=biz_step, disposition=disposition)
    )
    return list(Pack.objects.filter(pk__in=[p.pk for p in packs]).order_by("pk"))
