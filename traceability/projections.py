"""State derived from the ledger: one `apply` per statement kind.

Services append statements and then call `apply`; `rebuild_projections`
replays every entry through the same functions. So what the live tables
say is, by construction, what the ledger says.
"""

import base64
from collections.abc import Callable
from datetime import date, datetime

from traceability import epcis_shapes
from traceability.models import (
    Batch,
    BatchEvent,
    Organisation,
    Pack,
    Product,
    Shipment,
    SigningKey,
    StatementRecord,
)
from traceability.statements import SignedStatement

APPLY: dict[str, Callable[[SignedStatement, int], None]] = {}
PACK_STATUS = {"dispense": Pack.Status.SUPPLIED, "destroy": Pack.Status.DESTROYED}


def applies_to(*kinds: str):
    def register(fn):
        for kind in kinds:
            APPLY[kind] = fn
        return fn

    return register


def apply(signed: SignedStatement, entry: int) -> None:
    """Update the projections for one appended statement."""
    handler = APPLY.get(signed.kind)
    if handler is not None:
        handler(signed, entry)


def record(signed: SignedStatement, entry: int) -> StatementRecord:
    key = SigningKey.objects.select_related("organisation").get(key_id=signed.signer_key)
    return StatementRecord(
        entry=entry,
        kind=signed.kind,
        organisation=key.organisation,
        key=key,
        nonce=signed.nonce,
        issued_at=signed.issued_at,
    )


sgtin_from_uri = epcis_shapes.sgtin_parse
gln_from_uri = epcis_shapes.gln_parse


def _index_batches(signed: SignedStatement, entry: int, packs, *parties: Organisation) -> None:
    """Record that `entry` concerns the batches of `packs`, for each party."""
    batch_ids = set(packs.values_list("batch_id", flat=True))
    BatchEvent.objects.bulk_create(
        [
            BatchEvent(batch_id=b, entry=entry, kind=signed.kind, organisation=org)
            for b in batch_ids
            for org in {o.pk: o for o in parties}.values()
        ],
        ignore_conflicts=True,
    )


def _event_time(body: dict) -> datetime:
    return datetime.fromisoformat(body["eventTime"])


def _org(gln: str) -> Organisation:
    return Organisation.objects.get(gln=gln)


def _organisation_upsert(details: dict) -> Organisation:
    org, _ = Organisation.objects.update_or_create(
        gln=details["gln"],
        defaults={k: details[k] for k in ("name", "role", "licence_number", "country")},
    )
    return org


@applies_to("root.establish", "key.register")
def _key_registered(signed: SignedStatement, entry: int) -> None:
    org = _organisation_upsert(signed.body["org"])
    key = signed.body["key"]
    SigningKey.objects.update_or_create(
        key_id=key["id"],
        defaults={
            "organisation": org,
            "public_key": base64.b64decode(key["public_key"]),
            "is_root": signed.kind == "root.establish",
            "status": SigningKey.Status.ACTIVE,
            "registered_entry": entry,
        },
    )


@applies_to("key.revoke")
def _key_revoked(signed: SignedStatement, entry: int) -> None:
    SigningKey.objects.filter(key_id=signed.body["key"]["id"]).update(
        status=SigningKey.Status.REVOKED, revoked_entry=entry
    )


@applies_to("product.register")
def _product_registered(signed: SignedStatement, entry: int) -> None:
    Product.objects.create(
        gtin=signed.body["gtin"],
        name=signed.body["name"],
        manufacturer=_org(signed.signer_org),
        registered_entry=entry,
    )


@applies_to("commission")
def _commissioned(signed: SignedStatement, entry: int) -> None:
    body = signed.body
    sgtins = [sgtin_from_uri(uri) for uri in body["epcList"]]
    gtin = sgtins[0][0]
    ilmd = body["ilmd"]
    batch, created = Batch.objects.get_or_create(
        product=Product.objects.get(gtin=gtin),
        lot=ilmd["lotNumber"],
        defaults={
            "manufactured_on": date.fromisoformat(ilmd["productionDate"]),
            "expires_on": date.fromisoformat(ilmd["itemExpirationDate"]),
            "quantity": len(sgtins),
            "created_entry": entry,
        },
    )
    if not created:  # a large batch spans several commission statements
        batch.quantity += len(sgtins)
        batch.save(update_fields=["quantity"])
    custodian = _org(signed.signer_org)
    BatchEvent.objects.get_or_create(
        batch=batch, entry=entry, organisation=custodian, defaults={"kind": signed.kind}
    )
    Pack.objects.bulk_create(
        Pack(
            batch=batch,
            gtin=gtin,
            serial=serial,
            custodian=custodian,
            commissioned_entry=entry,
            last_entry=entry,
        )
        for gtin, serial in sgtins
    )


def _packs(body: dict):
    by_gtin: dict[str, list[str]] = {}
    for gtin, serial in map(sgtin_from_uri, body["epcList"]):
        by_gtin.setdefault(gtin, []).append(serial)
    packs = Pack.objects.none()
    for gtin, serials in by_gtin.items():
        packs = packs | Pack.objects.filter(gtin=gtin, serial__in=serials)
    return packs


@applies_to("ship")
def _shipped(signed: SignedStatement, entry: int) -> None:
    body = signed.body
    receiver = _org(gln_from_uri(body["destinationList"][0]["destination"]))
    shipment, created = Shipment.objects.get_or_create(
        public_id=body["shipment"],
        defaults={
            "sender": _org(signed.signer_org),
            "receiver": receiver,
            "pack_count": len(body["epcList"]),
            "shipped_entry": entry,
            "shipped_at": _event_time(body),
        },
    )
    if not created:
        shipment.pack_count += len(body["epcList"])
        shipment.save(update_fields=["pack_count"])
    packs = _packs(body)
    _index_batches(signed, entry, packs, shipment.sender, receiver)
    packs.update(shipment=shipment, last_entry=entry)


@applies_to("receive")
def _received(signed: SignedStatement, entry: int) -> None:
    body = signed.body
    shipment = Shipment.objects.get(public_id=body["shipment"])
    if shipment.status == Shipment.Status.IN_TRANSIT:
        shipment.status = Shipment.Status.RECEIVED
        shipment.received_entry, shipment.received_at = entry, _event_time(body)
        shipment.save(update_fields=["status", "received_entry", "received_at"])
    packs = _packs(body)
    _index_batches(signed, entry, packs, shipment.sender, shipment.receiver)
    packs.update(shipment=None, custodian=shipment.receiver, last_entry=entry)


@applies_to("dispense", "destroy")
def _decommissioned(signed: SignedStatement, entry: int) -> None:
    packs = _packs(signed.body)
    _index_batches(signed, entry, packs, _org(signed.signer_org))
    packs.update(status=PACK_STATUS[signed.kind], last_entry=entry)
