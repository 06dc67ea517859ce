"""State derived from the ledger, applied a batch of statements at a time.

Services append statements and then call `apply_batch`; `rebuild_projections`
replays every entry through the same function. So what the live tables
say is, by construction, what the ledger says.

Statements are applied in ledger order. A run of consecutive custody events
(ship, receive, dispense, destroy) is read with a few queries, applied in
memory in order, and written with a few more, however long it is. The other
kinds are rare and keep one handler per statement.
"""

import base64
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime

from django.db import connection
from django.db.models import Q

from traceability import epcis_shapes
from traceability.models import (
    Batch,
    BatchEvent,
    Organisation,
    Pack,
    PackEvent,
    Product,
    Shipment,
    SigningKey,
    StatementRecord,
)
from traceability.statements import SignedStatement

Applied = Sequence[tuple[SignedStatement, int]]  # statements with their ledger indices

APPLY: dict[str, Callable[[SignedStatement, int], None]] = {}
CUSTODY_KINDS = frozenset({"ship", "receive", "dispense", "destroy"})
RUN_PACKS = 10_000  # packs one custody run may name
PACK_UPDATES = 1_000  # packs per UPDATE statement (5 parameters each)
PACK_STATUS = {"dispense": Pack.Status.SUPPLIED, "destroy": Pack.Status.DESTROYED}


def applies_to(*kinds: str):
    def register(fn):
        for kind in kinds:
            APPLY[kind] = fn
        return fn

    return register


def apply_batch(batch: Applied) -> None:
    """Update the projections for appended statements, in ledger order."""
    for custody, run in _runs(batch):
        if custody:
            CustodyRun(run).apply()
        else:
            for signed, entry in run:
                handler = APPLY.get(signed.kind)
                if handler is not None:
                    handler(signed, entry)
    pack_events_record(batch)


def _runs(batch: Applied) -> Iterator[tuple[bool, Applied]]:
    """Consecutive statements that are custody events or not, in order; a custody
    run is cut after RUN_PACKS packs so that what it reads fits in memory."""
    for custody, group in itertools.groupby(batch, key=lambda item: item[0].kind in CUSTODY_KINDS):
        run, packs = [], 0
        for signed, entry in group:
            run.append((signed, entry))
            packs += len(signed.body["epcList"]) if custody else 0
            if packs >= RUN_PACKS:
                yield custody, run
                run, packs = [], 0
        if run:
            yield custody, run


def statement_records(batch: Applied, keys: dict[str, SigningKey]) -> list[StatementRecord]:
    """The index rows for `batch`, given the signing keys by id."""
    return [
        StatementRecord(
            entry=entry,
            kind=signed.kind,
            organisation_id=keys[signed.signer_key].organisation_id,
            key=keys[signed.signer_key],
            nonce=signed.nonce,
            issued_at=signed.issued_at,
        )
        for signed, entry in batch
    ]


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
    sgtins = [epcis_shapes.sgtin_parse(uri) for uri in body["epcList"]]
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


def packs_by_sgtin(sgtins: Iterable[tuple[str, str]], *, lock: bool = False) -> dict:
    """The packs that exist among `sgtins`, by (GTIN, serial): one query.

    With `lock`, the rows are locked in primary-key order, so concurrent
    batches touching the same packs queue up instead of deadlocking.
    """
    serials_by_gtin: dict[str, set[str]] = {}
    for gtin, serial in sgtins:
        serials_by_gtin.setdefault(gtin, set()).add(serial)
    if not serials_by_gtin:
        return {}
    query = Q()
    for gtin, serials in serials_by_gtin.items():
        query |= Q(gtin=gtin, serial__in=serials)
    packs = Pack.objects.filter(query)
    if lock:
        packs = packs.select_for_update().order_by("pk")
    return {(p.gtin, p.serial): p for p in packs}


def organisations_by_gln(glns: Iterable[str]) -> dict[str, Organisation]:
    return {org.gln: org for org in Organisation.objects.filter(gln__in=set(glns))}


def _shipment_id(body: dict) -> uuid.UUID:
    return uuid.UUID(str(body["shipment"]))


def _destination_gln(body: dict) -> str:
    return epcis_shapes.gln_parse(body["destinationList"][0]["destination"])


class CustodyRun:
    """Consecutive custody events: what they name is read at once, the events
    are applied in order to those rows in memory, and the changes are written
    with a few queries. Shipments, packs and organisations are therefore read
    once per run, not once per statement."""

    def __init__(self, run: Applied):
        self.run = [(signed, entry, _sgtins(signed.body)) for signed, entry in run]
        ships = [signed.body for signed, _ in run if signed.kind == "ship"]
        moves = [signed.body for signed, _ in run if signed.kind in ("ship", "receive")]
        self.orgs = organisations_by_gln(
            [signed.signer_org for signed, _ in run] + [_destination_gln(body) for body in ships]
        )
        self.packs = packs_by_sgtin(itertools.chain.from_iterable(s for _, _, s in self.run))
        shipments = Shipment.objects.filter(public_id__in={_shipment_id(body) for body in moves})
        self.shipments = {s.public_id: s for s in shipments}
        self.moved: dict[int, Shipment | None] = {}  # pack id -> the shipment it is now in
        self.events: list[BatchEvent] = []

    def apply(self) -> None:
        for signed, entry, sgtins in self.run:
            packs = [self.packs[s] for s in sgtins if s in self.packs]
            if signed.kind == "ship":
                self._ship(signed, entry, packs)
            elif signed.kind == "receive":
                self._receive(signed, entry, packs)
            else:
                self._decommission(signed, entry, packs)
        self._save()

    def _org(self, gln: str) -> Organisation:
        try:
            return self.orgs[gln]
        except KeyError:
            raise Organisation.DoesNotExist(f"no organisation has GLN {gln}") from None

    def _ship(self, signed: SignedStatement, entry: int, packs: list[Pack]) -> None:
        body = signed.body
        receiver = self._org(_destination_gln(body))
        shipment = self.shipments.get(_shipment_id(body))
        if shipment is None:  # else a shipment of many packs, signed as several statements
            shipment = Shipment(
                public_id=_shipment_id(body),
                sender=self._org(signed.signer_org),
                receiver=receiver,
                pack_count=0,
                shipped_entry=entry,
                shipped_at=_event_time(body),
            )
            self.shipments[shipment.public_id] = shipment
        shipment.pack_count += len(body["epcList"])
        self._index(signed.kind, entry, packs, shipment.sender_id, receiver.pk)
        for pack in packs:
            pack.last_entry = entry
            self.moved[pack.pk] = shipment

    def _receive(self, signed: SignedStatement, entry: int, packs: list[Pack]) -> None:
        body = signed.body
        try:
            shipment = self.shipments[_shipment_id(body)]
        except KeyError:
            raise Shipment.DoesNotExist(f"entry {entry} receives an unknown shipment") from None
        if shipment.status == Shipment.Status.IN_TRANSIT:
            shipment.status = Shipment.Status.RECEIVED
            shipment.received_entry, shipment.received_at = entry, _event_time(body)
        self._index(signed.kind, entry, packs, shipment.sender_id, shipment.receiver_id)
        for pack in packs:
            pack.custodian_id, pack.last_entry = shipment.receiver_id, entry
            self.moved[pack.pk] = None

    def _decommission(self, signed: SignedStatement, entry: int, packs: list[Pack]) -> None:
        self._index(signed.kind, entry, packs, self._org(signed.signer_org).pk)
        for pack in packs:
            pack.status, pack.last_entry = PACK_STATUS[signed.kind], entry

    def _index(self, kind: str, entry: int, packs: list[Pack], *org_ids: int) -> None:
        """Record that `entry` concerns the batches of `packs`, for each party."""
        for batch_id in {p.batch_id for p in packs}:
            for org_id in set(org_ids):
                self.events.append(
                    BatchEvent(batch_id=batch_id, entry=entry, kind=kind, organisation_id=org_id)
                )

    def _save(self) -> None:
        new = [s for s in self.shipments.values() if s.pk is None]
        existing = [s for s in self.shipments.values() if s.pk is not None]
        Shipment.objects.bulk_create(new)  # sets their primary keys (PostgreSQL, SQLite 3.35+)
        Shipment.objects.bulk_update(
            existing, ["pack_count", "status", "received_entry", "received_at"]
        )
        packs = list(self.packs.values())
        for pack in packs:
            if pack.pk in self.moved:
                shipment = self.moved[pack.pk]
                pack.shipment_id = shipment.pk if shipment else None
        for start in range(0, len(packs), PACK_UPDATES):
            _packs_update(packs[start : start + PACK_UPDATES])
        BatchEvent.objects.bulk_create(self.events, ignore_conflicts=True)


def _packs_update(packs: list[Pack]) -> None:
    """Write the custody fields of `packs` with one UPDATE ... FROM (VALUES ...).

    Pack.objects.bulk_update would build a CASE with a branch per pack and
    field: for a thousand packs, slower than the rest of an append together.
    """
    table = Pack._meta.db_table
    row = "(%s, CAST(%s AS bigint), %s, %s, %s)"  # shipment_id may be NULL in every row
    values = ", ".join([row] * len(packs))
    params = [
        value
        for p in packs
        for value in (p.pk, p.shipment_id, p.custodian_id, p.status, p.last_entry)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET shipment_id = v.column2, custodian_id = v.column3,"  # noqa: S608
            f" status = v.column4, last_entry = v.column5"
            f" FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
            params,
        )


def _sgtins(body: dict) -> list[tuple[str, str]]:
    return [epcis_shapes.sgtin_parse(uri) for uri in body["epcList"]]


# --- Pack states and the per-pack custody chain (verification, issue 5) ---
# Rare statements about single packs: reported stolen, supplied as a free
# sample, a dispense undone. Each sets the pack's status; every statement that
# names packs after commissioning is indexed per pack (PackEvent), so a
# verification reads a pack's chain without scanning its batch's events.
PACK_STATE_KINDS = {
    "stolen": Pack.Status.STOLEN,
    "sample": Pack.Status.SAMPLE,
    "dispense.undo": Pack.Status.ACTIVE,
}
PACK_EVENT_KINDS = CUSTODY_KINDS | PACK_STATE_KINDS.keys()


@applies_to(*PACK_STATE_KINDS)
def _pack_state_changed(signed: SignedStatement, entry: int) -> None:
    packs = packs_by_sgtin(_sgtins(signed.body)).values()
    signer = _org(signed.signer_org)
    Pack.objects.filter(pk__in=[p.pk for p in packs]).update(
        status=PACK_STATE_KINDS[signed.kind], last_entry=entry
    )
    BatchEvent.objects.bulk_create(
        [
            BatchEvent(batch_id=batch_id, entry=entry, kind=signed.kind, organisation=signer)
            for batch_id in {p.batch_id for p in packs}
        ],
        ignore_conflicts=True,
    )


def pack_events_record(batch: Applied) -> None:
    """Index each pack-naming statement after commissioning under every pack it names."""
    named = [
        (entry, signed.kind, sgtin)
        for signed, entry in batch
        if signed.kind in PACK_EVENT_KINDS
        for sgtin in _sgtins(signed.body)
    ]
    for start in range(0, len(named), RUN_PACKS):
        chunk = named[start : start + RUN_PACKS]
        packs = packs_by_sgtin(sgtin for _, _, sgtin in chunk)
        PackEvent.objects.bulk_create(
            [
                PackEvent(pack_id=packs[sgtin].pk, entry=entry, kind=kind)
                for entry, kind, sgtin in chunk
                if sgtin in packs
            ],
            ignore_conflicts=True,
        )
