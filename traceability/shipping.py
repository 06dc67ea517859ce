"""Custody transfer: the sender signs a shipment (or a return), the receiver
signs its receipt, and holders dispense or destroy what they hold.

Each service builds the EPCIS events, signs them with the organisation's
custodial key and hands them to custody_rules, the same rules client-signed
statements meet, so the web path and the API cannot disagree.
"""

import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.custody_rules import custody_check
from traceability.custody_state import HOLDING_ROLES, packs_by_sgtin
from traceability.keys import custodial_sign
from traceability.models import Case, Organisation, Pack, Shipment
from traceability.statement_log import StatementRejected, statements_append

__all__ = [
    "HOLDING_ROLES",
    "packs_decommission",
    "shipment_create",
    "shipment_receive",
]

MAX_PACKS_PER_SHIPMENT = 10_000
EPCS_PER_STATEMENT = 500  # keeps each ledger entry well under its size limit
Lots = dict[tuple[str, str], int]  # (GTIN, lot) -> units of a lot-level batch


def custody_append(org: Organisation, signed: list) -> None:
    """Check signed custody events against the rules, then append them."""
    try:
        checked = custody_check(org, signed)
        statements_append(signed, checked=checked)
    except StatementRejected as exc:
        raise CustodyRefused(exc.reason) from None


def _epcs(sgtins: Sequence[tuple[str, str]], ssccs: Sequence[str]) -> list[str]:
    if len(set(sgtins)) != len(sgtins) or len(set(ssccs)) != len(ssccs):
        raise CustodyRefused("a pack or case is named twice")
    cases = [epcis_shapes.sscc_uri(s) for s in ssccs]
    return cases + [epcis_shapes.sgtin_uri(gtin, serial) for gtin, serial in sgtins]


def _signed_events(org: Organisation, kind: str, epcs: list[str], lots: Lots, **event) -> list:
    """Events of at most EPCS_PER_STATEMENT EPCs; lot quantities ride in the first."""
    now = timezone.now()
    signed = []
    for start in range(0, max(len(epcs), 1), EPCS_PER_STATEMENT):
        body = epcis_shapes.object_event(
            action="OBSERVE", epcs=epcs[start : start + EPCS_PER_STATEMENT], when=now, **event
        )
        if start == 0 and lots:
            body["quantityList"] = epcis_shapes.quantity_list(lots)
        signed.append(custodial_sign(organisation=org, kind=kind, body=body))
    return signed


@transaction.atomic
def shipment_create(
    *,
    sender: Organisation,
    receiver: Organisation,
    sgtins: Sequence[tuple[str, str]] = (),
    ssccs: Sequence[str] = (),
    lots: Lots | None = None,
    returning: bool = False,
) -> Shipment:
    """Ship packs (GTIN, serial), cases (SSCC, with what they hold) and lot-level
    quantities from `sender` to `receiver`; `returning` sends them back to whoever
    sent them."""
    if sender.role not in HOLDING_ROLES:
        raise CustodyRefused(f"a {sender.role} does not hold stock and cannot ship")
    if receiver.role not in HOLDING_ROLES:
        raise CustodyRefused(f"{receiver.name} is a {receiver.role} and cannot receive stock")
    if receiver.pk == sender.pk:
        raise CustodyRefused("sender and receiver are the same organisation")
    if not (sgtins or ssccs or lots):
        raise CustodyRefused("a shipment needs at least one pack, case or quantity")
    if len(sgtins) + len(ssccs) > MAX_PACKS_PER_SHIPMENT:
        raise CustodyRefused(f"at most {MAX_PACKS_PER_SHIPMENT:,} packs and cases per shipment")
    public_id = uuid.uuid4()
    custody_append(
        sender,
        _signed_events(
            sender,
            "return" if returning else "ship",
            _epcs(sgtins, ssccs),
            lots or {},
            biz_step="shipping",
            disposition="returned" if returning else "in_transit",
            sourceList=epcis_shapes.parties("source", sender.gln),
            destinationList=epcis_shapes.parties("destination", receiver.gln),
            shipment=str(public_id),
        ),
    )
    return Shipment.objects.get(public_id=public_id)


def _shipped(shipment: Shipment) -> tuple[list[tuple[str, str]], list[str], Lots]:
    """What the sender put in `shipment`: loose packs, top-level cases, quantities."""
    packs = shipment.packs.filter(case=None).order_by("pk").values_list("gtin", "serial")
    cases = shipment.cases.filter(parent=None).order_by("pk").values_list("sscc", flat=True)
    lots = {
        (line.batch.product.gtin, line.batch.lot): line.quantity
        for line in shipment.lines.select_related("batch__product")
    }
    return list(packs), list(cases), lots


@transaction.atomic
def shipment_receive(*, receiver: Organisation, shipment: Shipment) -> Shipment:
    """The receiver signs the receipt; custody of everything in it passes to it."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.receiver_id != receiver.pk:
        raise CustodyRefused(f"this shipment is addressed to {shipment.receiver.name}")
    if shipment.status != Shipment.Status.IN_TRANSIT:
        raise CustodyRefused("this shipment was received already")
    sgtins, ssccs, lots = _shipped(shipment)
    custody_append(
        receiver,
        _signed_events(
            receiver,
            "receive",
            _epcs(sgtins, ssccs),
            lots,
            biz_step="receiving",
            disposition="in_progress",
            sourceList=epcis_shapes.parties("source", shipment.sender.gln),
            destinationList=epcis_shapes.parties("destination", receiver.gln),
            shipment=str(shipment.public_id),
            shippedEntry=shipment.shipped_entry,
        ),
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
    *,
    holder: Organisation,
    status: str,
    sgtins: Sequence[tuple[str, str]] = (),
    ssccs: Sequence[str] = (),
    lots: Lots | None = None,
) -> list[Pack]:
    """Dispense (pharmacies) or destroy (any holder) what the holder has in hand:
    packs, whole cases (destroy only) or lot-level quantities."""
    if status not in DECOMMISSION:
        raise CustodyRefused(f"cannot decommission a pack to {status!r}")
    kind, biz_step, disposition, roles = DECOMMISSION[status]
    if holder.role not in roles:
        raise CustodyRefused(f"a {holder.role} may not {kind} packs")
    if not (sgtins or ssccs or lots):
        raise CustodyRefused(f"name at least one pack to {kind}")
    custody_append(
        holder,
        _signed_events(
            holder,
            kind,
            _epcs(sgtins, ssccs),
            lots or {},
            biz_step=biz_step,
            disposition=disposition,
        ),
    )
    cases = Case.objects.filter(sscc__in=ssccs)
    named = Pack.objects.filter(pk__in=[p.pk for p in packs_by_sgtin(sgtins).values()])
    inside = Pack.objects.filter(case__in=cases) | Pack.objects.filter(case__parent__in=cases)
    return list((named | inside).distinct().order_by("pk"))
