"""Captured EPCIS events about the platform's goods, as custody statements.

Each event becomes one statement body in the platform's EPCIS shape
(epcis_shapes, custody_state.EVENT_SHAPE), keeping the captured eventID,
eventTime, readPoint, bizLocation and bizTransactionList. Ship, return,
receive, dispense, destroy, pack and unpack are then held to
custody_rules.custody_check, exactly as the web forms' and API clients'
events are; commissioning, which names serials or lots the platform has not
seen, is checked here.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.custody_state import EVENT_SHAPE, HOLDING_ROLES
from traceability.epcis.identifiers import gln_of
from traceability.gs1 import validate_gs1_text
from traceability.models import Batch, Case, Organisation, Product, Shipment, ShipmentLine

# ObjectEvent bizStep -> (statement kind, actions accepted, dispositions accepted);
# shipping with disposition "returned" is a return (see object_kind)
OBJECT_STEPS = {
    "commissioning": ("commission", {"ADD"}, {"active"}),
    "shipping": ("ship", {"OBSERVE"}, {"in_transit", "returned"}),
    "receiving": ("receive", {"OBSERVE"}, {"in_progress", "active"}),
    "dispensing": ("dispense", {"OBSERVE", "DELETE"}, {"dispensed"}),
    "destroying": ("destroy", {"OBSERVE", "DELETE"}, {"destroyed"}),
    "decommissioning": ("stolen", {"OBSERVE", "DELETE"}, {"stolen"}),
    "sampling": ("sample", {"OBSERVE"}, {"non_sellable_other"}),
}
# A pack decommissioned for another reason (EMVS "locked", "exported"...) has no
# state here: refusing it beats leaving the pack active as if nothing happened.
DISPOSITION_REQUIRED = {"decommissioning"}
# AggregationEvent action -> (kind, bizSteps accepted)
AGGREGATION_ACTIONS = {"ADD": ("pack", {"packing"}), "DELETE": ("unpack", {"unpacking"})}
SHAPE = {
    **{k: v[1:] for k, v in EVENT_SHAPE.items()},
    "commission": ("ADD", "commissioning", "active"),
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
    sgtins: list[tuple[str, str]] = field(default_factory=list)
    ssccs: list[str] = field(default_factory=list)
    lots: dict[tuple[str, str], int] = field(default_factory=dict)
    parent: str | None = None  # the case an aggregation packs into or unpacks from

    def named(self) -> set:
        """What the event names, for telling which events depend on which."""
        cases = [*self.ssccs, *([self.parent] if self.parent else [])]
        lots = {("lot", lot) for lot in self.lots}
        return {("pack", s) for s in self.sgtins} | {("case", c) for c in cases} | lots


def _epcs(event: CustodyEvent) -> list[str]:
    cases = [epcis_shapes.sscc_uri(s) for s in event.ssccs]
    return cases + [epcis_shapes.sgtin_uri(*s) for s in event.sgtins]


def move_body(event: CustodyEvent, **extra) -> dict:
    action, biz_step, disposition = SHAPE[event.kind]
    body = {
        "type": "ObjectEvent",
        "eventID": event.event_id,
        "eventTime": event.raw["eventTime"],
        "eventTimeZoneOffset": event.raw["eventTimeZoneOffset"],
        "action": action,
        "bizStep": biz_step,
        "disposition": disposition,
    }
    if event.parent is not None:
        body.update(type="AggregationEvent", parentID=epcis_shapes.sscc_uri(event.parent))
        body["childEPCs"] = _epcs(event)
    else:
        body["epcList"] = _epcs(event)
    if event.lots:
        body["quantityList"] = epcis_shapes.quantity_list(event.lots)
    body.update({name: event.raw[name] for name in KEPT_FIELDS if name in event.raw})
    body.update(extra)
    return body


def party_gln(entries, field_name: str) -> str | None:
    by_type = {e.get("type"): e.get(field_name) for e in entries or () if isinstance(e, dict)}
    for party_type in PARTY_TYPES:
        if isinstance(by_type.get(party_type), str):
            gln = gln_of(by_type[party_type])
            if gln is None:
                raise CustodyRefused(f"{field_name} {by_type[party_type]!r} names no GLN")
            return gln
    return None


def destination_gln_or_none(raw: dict) -> str | None:
    """For reading receivers ahead: the rules name a bad destination later."""
    try:
        return party_gln(raw.get("destinationList"), "destination")
    except CustodyRefused:
        return None


def ship_body(org: Organisation, event: CustodyEvent, receivers: dict) -> dict:
    source = party_gln(event.raw.get("sourceList"), "source")
    if source is not None and source != org.gln:
        raise CustodyRefused(f"sourceList names GLN {source}, but you are {org.gln}")
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


def _shipment_of(org: Organisation, event: CustodyEvent, packs: dict, cases: dict) -> Shipment:
    """The shipment the named goods travel in: one, addressed to `org`."""
    ids = set()
    for sgtin in event.sgtins:
        if sgtin not in packs:
            raise CustodyRefused(f"pack {sgtin[0]}/{sgtin[1]} is unknown")
        ids.add(packs[sgtin].shipment_id)
    for sscc in event.ssccs:
        if sscc not in cases:
            raise CustodyRefused(f"case {sscc} is unknown")
        ids.add(cases[sscc].shipment_id)
    if event.lots and not ids:  # quantities only: the one shipment to org carrying them
        lines = ShipmentLine.objects.filter(
            shipment__receiver=org,
            shipment__status=Shipment.Status.IN_TRANSIT,
            batch__product__gtin__in={gtin for gtin, _ in event.lots},
            batch__lot__in={lot for _, lot in event.lots},
        )
        ids = set(lines.values_list("shipment_id", flat=True)) or {None}
        if len(ids) > 1:
            raise CustodyRefused("several shipments carry these lots: name their packs or cases")
    if None in ids:
        raise CustodyRefused("the goods named are not in transit")
    if len(ids) > 1:
        raise CustodyRefused("the goods travel in different shipments; receive each on its own")
    shipment = Shipment.objects.select_related("sender", "receiver").get(pk=ids.pop())
    if shipment.receiver_id != org.pk:
        raise CustodyRefused(f"this shipment is addressed to {shipment.receiver.name}")
    return shipment


def receive_body(org: Organisation, event: CustodyEvent, packs: dict, cases: dict) -> dict:
    """The rules then require the event to list exactly the shipment's goods."""
    shipment = _shipment_of(org, event, packs, cases)
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


def _product(org: Organisation, event: CustodyEvent, products: dict) -> Product:
    if org.role != Organisation.Role.MANUFACTURER:
        raise CustodyRefused(f"only a manufacturer may commission packs; you are a {org.role}")
    if event.ssccs:
        raise CustodyRefused("commission packs or lot quantities; cases are made by packing")
    gtins = {gtin for gtin, _ in event.sgtins} | {gtin for gtin, _ in event.lots}
    if len(gtins) != 1 or (event.sgtins and event.lots) or len(event.lots) > 1:
        raise CustodyRefused("a commissioning event names serials of one product, or one lot")
    product = products[gtins.pop()]
    if product.manufacturer_id != org.pk:
        raise CustodyRefused(f"{product} is not {org.name}'s product")
    return product


def commission_body(org: Organisation, event: CustodyEvent, products: dict, packs: dict) -> dict:
    """A manufacturer commissions new serials, or a lot-level quantity, of its product."""
    product = _product(org, event, products)
    lot = next(iter(event.lots))[1] if event.lots else _ilmd(event.raw, "lot")
    if lot is None:
        raise CustodyRefused(f"commissioning needs ilmd {ILMD_KEYS['lot'][0]}")
    if event.lots and _ilmd(event.raw, "lot") not in (None, lot):
        raise CustodyRefused("ilmd lotNumber differs from the lot in quantityList")
    expires = _date(event.raw, "expires")
    made = _date(event.raw, "made", default=datetime.fromisoformat(event.raw["eventTime"]).date())
    if expires <= made:
        raise CustodyRefused("itemExpirationDate must be after the production date")
    try:
        for text in [lot, *(serial for _, serial in event.sgtins)]:
            validate_gs1_text(text)
    except ValidationError as exc:
        raise CustodyRefused(" ".join(exc.messages)) from None
    batch = Batch.objects.filter(product=product, lot=lot).first()
    if batch and (batch.manufactured_on, batch.expires_on) != (made, expires):
        raise CustodyRefused(
            f"lot {lot} was commissioned with production date {batch.manufactured_on} "
            f"and expiry {batch.expires_on}"
        )
    if batch and batch.serialized != bool(event.sgtins):
        raise CustodyRefused(f"lot {lot} is {'' if batch.serialized else 'not '}serialized")
    taken = [s for s in event.sgtins if s in packs]
    if taken:
        raise CustodyRefused(f"pack {taken[0][0]}/{taken[0][1]} is commissioned already")
    ilmd = epcis_shapes.batch_ilmd(lot=lot, manufactured_on=made, expires_on=expires)
    return move_body(event, ilmd=ilmd)


def cases_by_sscc(ssccs) -> dict[str, Case]:
    return {c.sscc: c for c in Case.objects.filter(sscc__in=set(ssccs))}
