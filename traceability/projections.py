"""State derived from the ledger, applied a batch of statements at a time.

Services append statements and then call `apply_batch`; `rebuild_projections`
replays every entry through the same function. So what the live tables
say is, by construction, what the ledger says.

Statements are applied in ledger order. A run of consecutive custody events
(ship, return, receive, dispense, destroy) is read with a few queries, applied
in memory in order, and written with a few more, however long it is
(custody_apply). Packing and unpacking change what later events' cases hold,
so each is a run of its own. The other kinds are rare and keep one handler
per statement.
"""

import base64
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date

from traceability import epcis_shapes
from traceability.custody_apply import CustodyRun
from traceability.custody_state import CUSTODY_KINDS, State, packs_by_sgtin
from traceability.epcis import index as epcis_index
from traceability.models import (
    Batch,
    BatchEvent,
    Holding,
    Organisation,
    Pack,
    Product,
    SigningKey,
    StatementRecord,
)
from traceability.statements import SignedStatement

__all__ = ["apply_batch", "organisations_by_gln", "packs_by_sgtin", "statement_records"]

Applied = Sequence[tuple[SignedStatement, int]]  # statements with their ledger indices

APPLY: dict[str, Callable[[SignedStatement, int], None]] = {}
RUN_ITEMS = 10_000  # packs, cases and lots one custody run may name
AGGREGATION_KINDS = frozenset({"pack", "unpack"})


def applies_to(*kinds: str):
    def register(fn):
        for kind in kinds:
            APPLY[kind] = fn
        return fn

    return register


def apply_batch(batch: Applied, *, checked: State | None = None) -> None:
    """Update the projections for appended statements, in ledger order.

    `checked`: what custody_rules.custody_check read for the batch, if it did.
    """
    for custody, run in _runs(batch):
        if custody:
            CustodyRun(run, checked).apply()
        else:
            for signed, entry in run:
                handler = APPLY.get(signed.kind)
                if handler is not None:
                    handler(signed, entry)
    # EPCIS: the custody events as queryable EPCIS events.
    epcis_index.custody_events_index(batch)


def _runs(batch: Applied) -> Iterator[tuple[bool, Applied]]:
    """Consecutive statements that are custody events or not, in order. A custody
    run is cut after RUN_ITEMS named items, so that what it reads fits in
    memory, and around each packing or unpacking."""
    for custody, group in itertools.groupby(batch, key=lambda item: item[0].kind in CUSTODY_KINDS):
        run, items = [], 0
        for signed, entry in group:
            if signed.kind in AGGREGATION_KINDS:
                if run:
                    yield custody, run
                yield custody, [(signed, entry)]
                run, items = [], 0
                continue
            run.append((signed, entry))
            body = signed.body
            items += len(body.get("epcList", [])) + len(body.get("quantityList", []))
            if items >= RUN_ITEMS:
                yield custody, run
                run, items = [], 0
        if run:
            yield custody, run


def statement_records(batch: Applied, keys: dict[str, SigningKey]) -> list[StatementRecord]:
    """The index rows for `batch`, given the signing keys by id."""
    records = []
    for signed, entry in batch:
        key = keys[signed.signer_key]
        # Fields in the model's order: keyword arguments cost twice as much, a
        # thousand records a batch.
        record = StatementRecord(
            entry, signed.kind, key.organisation_id, key.pk, signed.nonce, signed.issued_at
        )
        records.append(record)
    return records


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
    sgtins = [epcis_shapes.sgtin_parse(uri) for uri in body.get("epcList", [])]
    lots = epcis_shapes.quantities_parse(body.get("quantityList", []))
    if sgtins:
        gtin, count = sgtins[0][0], len(sgtins)
    else:  # a lot-level batch: a quantity, no serials
        gtin, count = next(iter(lots))[0], sum(lots.values())
    ilmd = body["ilmd"]
    batch, created = Batch.objects.get_or_create(
        product=Product.objects.get(gtin=gtin),
        lot=ilmd["lotNumber"],
        defaults={
            "manufactured_on": date.fromisoformat(ilmd["productionDate"]),
            "expires_on": date.fromisoformat(ilmd["itemExpirationDate"]),
            "quantity": count,
            "serialized": bool(sgtins),
            "created_entry": entry,
        },
    )
    if not created:  # a large batch spans several commission statements
        batch.quantity += count
        batch.save(update_fields=["quantity"])
    custodian = _org(signed.signer_org)
    BatchEvent.objects.get_or_create(
        batch=batch, entry=entry, organisation=custodian, defaults={"kind": signed.kind}
    )
    if lots:
        holding, _ = Holding.objects.get_or_create(batch=batch, holder=custodian)
        holding.on_hand += count
        holding.save(update_fields=["on_hand"])
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


def organisations_by_gln(glns: Iterable[str]) -> dict[str, Organisation]:
    return {org.gln: org for org in Organisation.objects.filter(gln__in=set(glns))}


# --- Recalls (issue 6): handlers live in recall_projections; importing it registers them.
from traceability import recall_projections  # noqa: E402, F401
