"""Captured EPCIS events about the platform's packs, as custody statements.

Each event becomes one statement body in the platform's EPCIS shape
(epcis_shapes), keeping the captured eventID, eventTime, readPoint,
bizLocation and bizTransactionList. Ship, receive, dispense and destroy are
then held to the rules in ingest.custody_check, exactly as client-signed
statements are; commissioning, which names serials the platform has not
seen, is checked here.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.epcis.identifiers import gln_of
from traceability.gs1 import validate_gs1_text
from traceability.models import Batch, Organisation, Product, Shipment
from traceability.shipping import HOLDING_ROLES

# CBV bizStep -> (statement kind, actions accepted, dispositions accepted)
CUSTODY_STEPS = {
    "commissioning": ("commission", {"ADD"}, {"active"}),
    "shipping": ("ship", {"OBSERVE"}, {"in_transit"}),
    "receiving": ("receive", {"OBSERVE"}, {"in_progress", "active"}),
    "dispensing": ("dispense", {"OBSERVE", "DELETE"}, {"dispensed"}),
    "destroying": ("destroy", {"OBSERVE", "DELETE"}, {"destroyed"}),
}
# kind -> (bizStep, disposition) the statement carries, as the web path writes them
STATEMENT_SHAPE = {
    "commission": ("ADD", "commissioning", "active"),
    "ship": ("OBSERVE", "shipping", "in_transit"),
    "receive": ("OBSERVE", "receiving", "in_progress"),
    "dispense": ("OBSERVE", "dispensing", "dispensed"),
    "destroy": ("OBSERVE", "destroying", "destroyed"),
}
KEPT_FIELDS = ("readPoint", "bizLocation", "bizTransactionList")
PARTY_TYPES = ("possessing_party", "owning_party")  # custody follows possession first
ILMD_KEYS = {
    "lot": ("cbvmda:lotNumber", "lotNumber"),
    "expires": ("cbvmda:itemExpirationDate", "itemExpirationDate"),
    "made": ("dt:productionDate", "cbvmda:productionDate", "productionDate"),
}


@dataclass
class CustodyEvent:
    index: int
    event_id: str
    raw: dict
    kind: str
    sgtins: list[tuple[str, str]]


def move_body(event: CustodyEvent, **extra) -> dict:
    action, biz_step, disposition = STATEMENT_SHAPE[event.kind]
    body = {
        "type": "ObjectEvent",
        "eventID": event.event_id,
        "eventTime": event.raw["eventTime"],
        "eventTimeZoneOffset": event.raw["eventTimeZoneOffset"],
        "action": action,
        "bizStep": biz_step,
        "disposition": disposition,
        "epcList": [epcis_shapes.sgtin_uri(*s) for s in event.sgtins],
    }
    body.update({name: event.raw[name] for name in KEPT_FIELDS if name in event.raw})
    body.update(extra)
    return body


def party_gln(entries, field: str) -> str | None:
    by_type = {e.get("type"): e.get(field) for e in entries or () if isinstance(e, dict)}
    for party_type in PARTY_TYPES:
        if isinstance(by_type.get(party_type), str):
            gln = gln_of(by_type[party_type])
            if gln is None:
                raise CustodyRefused(f"{field} {by_type[party_type]!r} names no GLN")
            return gln
    return None


def destination_gln_or_none(raw: dict) -> str | None:
    """For reading receivers ahead: the rules name a bad destination later."""
    try:
        return party_gln(raw.get("destinationList"), "destination")
    except CustodyRefused:
        return None


def _check_source(org: Organisation, raw: dict) -> None:
    source = party_gln(raw.get("sourceList"), "source")
    if source is not None and source != org.gln:
        raise CustodyRefused(f"sourceList names GLN {source}, but you are {org.gln}")


def ship_body(org: Organisation, event: CustodyEvent, receivers: dict) -> dict:
    _check_source(org, event.raw)
    gln = party_gln(event.raw.get("destinationList"), "destination")
    if gln is None:
        raise CustodyRefused("shipping needs a destinationList with the receiving party's GLN")
    receiver = receivers.get(gln)
    if receiver is None or receiver.role not in HOLDING_ROLES:
        raise CustodyRefused(f"GLN {gln} is not an organisation on the platform that holds stock")
    return move_body(
        event,
        sourceList=epcis_shapes.parties("source", org.gln),
        destinationList=epcis_shapes.parties("destination", receiver.gln),
        shipment=str(uuid.uuid4()),
    )


def receive_body(org: Organisation, event: CustodyEvent, packs: dict) -> dict:
    """The shipment is the one the packs are travelling in; the rules then
    require the event to list exactly its packs."""
    shipment_ids = set()
    for sgtin in event.sgtins:
        pack = packs.get(sgtin)
        if pack is None:
            raise CustodyRefused(f"pack {sgtin[0]}/{sgtin[1]} is unknown")
        if pack.shipment_id is None:
            raise CustodyRefused(f"pack {sgtin[0]}/{sgtin[1]} is not in transit")
        shipment_ids.add(pack.shipment_id)
    if len(shipment_ids) > 1:
        raise CustodyRefused(
            "the packs travel in different shipments; receive each in its own event"
        )
    shipment = Shipment.objects.select_related("sender", "receiver").get(pk=shipment_ids.pop())
    if shipment.receiver_id != org.pk:
        raise CustodyRefused(f"this shipment is addressed to {shipment.receiver.name}")
    return move_body(
        event,
        sourceList=epcis_shapes.parties("source", shipment.sender.gln),
        destinationList=epcis_shapes.parties("destination", org.gln),
        shipment=str(shipment.public_id),
        shippedEntry=shipment.shipped_entry,
    )


def _ilmd(raw: dict, what: str) -> str | None:
    ilmd = raw.get("ilmd") or {}
    for key in ILMD_KEYS[what]:
        if isinstance(ilmd.get(key), str):
            return ilmd[key]
    return None


def _date(raw: dict, what: str, default: date | None = None) -> date:
    text = _ilmd(raw, what)
    if text is None and default is not None:
        return default
    if text is None:
        raise CustodyRefused(f"commissioning needs ilmd {ILMD_KEYS[what][0]} (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CustodyRefused(f"ilmd {ILMD_KEYS[what][0]} {text!r} is not a date") from None


def commission_body(org: Organisation, event: CustodyEvent, products: dict, packs: dict) -> dict:
    """A manufacturer commissions new serials of its own product into a lot."""
    if org.role != Organisation.Role.MANUFACTURER:
        raise CustodyRefused(f"only a manufacturer may commission packs; you are a {org.role}")
    gtins = {gtin for gtin, _ in event.sgtins}
    if len(gtins) != 1:
        raise CustodyRefused("a commissioning event names packs of one product")
    product: Product = products[gtins.pop()]
    if product.manufacturer_id != org.pk:
        raise CustodyRefused(f"{product} is not {org.name}'s product")
    lot = _ilmd(event.raw, "lot")
    if lot is None:
        raise CustodyRefused(f"commissioning needs ilmd {ILMD_KEYS['lot'][0]}")
    expires = _date(event.raw, "expires")
    made = _date(event.raw, "made", default=datetime.fromisoformat(event.raw["eventTime"]).date())
    if expires <= made:
        raise CustodyRefused("itemExpirationDate must be after the production date")
    try:
        validate_gs1_text(lot)
        for _, serial in event.sgtins:
            validate_gs1_text(serial)
    except ValidationError as exc:
        raise CustodyRefused(" ".join(exc.messages)) from None
    batch = Batch.objects.filter(product=product, lot=lot).first()
    if batch and (batch.manufactured_on, batch.expires_on) != (made, expires):
        raise CustodyRefused(
            f"lot {lot} was commissioned with production date {batch.manufactured_on} "
            f"and expiry {batch.expires_on}"
        )
    taken = [s for s in event.sgtins if s in packs]
    if taken:
        raise CustodyRefused(f"pack {taken[0][0]}/{taken[0][1]} is commissioned already")
    ilmd = epcis_shapes.batch_ilmd(lot=lot, manufactured_on=made, expires_on=expires)
    return move_body(event, ilmd=ilmd)
