"""Replay the ledger into the projections, or check that replaying changes nothing."""

import base64
import itertools
from collections.abc import Callable

from django.db import connection, transaction

from ledger.models import Entry
from traceability import projections, statements
from traceability.epcis import index as epcis_index
from traceability.models import (
    Batch,
    BatchEvent,
    Case,
    EpcisEvent,
    Holding,
    Pack,
    PackEvent,
    Product,
    Recall,
    RecallResponse,
    Shipment,
    ShipmentLine,
    SigningKey,
    StatementRecord,
)

# Children before parents, so deleting never trips a PROTECT foreign key.
PROJECTIONS = [
    RecallResponse,
    Recall.batches.through,
    Recall,
    StatementRecord,
    BatchEvent,
    PackEvent,
    ShipmentLine,
    Holding,
    Pack,
    Case,
    Shipment,
    Batch,
    Product,
    SigningKey,
]
CHUNK = 2_000


class ReplayFailed(Exception):
    """The ledger cannot be replayed; the message names the entry."""


def snapshot() -> dict[str, list[tuple]]:
    """Every projection row by natural keys (GLNs, GTINs, key ids), sorted."""
    return {
        "signing keys": sorted(
            (k.key_id, k.organisation.gln, bytes(k.public_key), k.is_root, k.status,
             k.registered_entry, k.revoked_entry)
            for k in SigningKey.objects.select_related("organisation")
        ),
        "products": sorted(
            Product.objects.values_list("gtin", "name", "manufacturer__gln", "registered_entry")
        ),
        "batches": sorted(
            Batch.objects.values_list(
                "product__gtin", "lot", "manufactured_on", "expires_on", "quantity", "serialized",
                "created_entry",
            )
        ),
        "packs": sorted(
            Pack.objects.values_list(
                "gtin", "serial", "batch__lot", "status", "custodian__gln",
                "shipment__public_id", "case__sscc", "received_from__gln", "commissioned_entry",
                "last_entry",
            )
        ),
        "cases": sorted(
            Case.objects.values_list(
                "sscc", "custodian__gln", "parent__sscc", "shipment__public_id",
                "received_from__gln", "packed_entry", "last_entry",
            )
        ),
        "holdings": sorted(
            Holding.objects.values_list(
                "batch__product__gtin", "batch__lot", "holder__gln", "on_hand", "dispensed",
                "destroyed",
            )
        ),
        "shipment lines": sorted(
            ShipmentLine.objects.values_list(
                "shipment__public_id", "batch__product__gtin", "batch__lot", "quantity"
            )
        ),
        "shipments": sorted(
            Shipment.objects.values_list(
                "public_id", "sender__gln", "receiver__gln", "status", "returning", "pack_count",
                "shipped_entry", "received_entry", "shipped_at", "received_at",
            )
        ),
        "batch events": sorted(
            BatchEvent.objects.values_list(
                "batch__product__gtin", "batch__lot", "entry", "kind", "organisation__gln"
            )
        ),
        "pack events": sorted(
            PackEvent.objects.values_list("pack__gtin", "pack__serial", "entry", "kind")
        ),
        "recalls": sorted(
            (r.public_id, r.issuer.gln, r.recall_class, r.reason, r.instructions,
             r.issued_entry, r.issued_at, r.amended_entry, r.amended_at,
             tuple(sorted(r.batches.values_list("product__gtin", "lot"))))
            for r in Recall.objects.select_related("issuer")
        ),
        "recall responses": sorted(
            RecallResponse.objects.values_list(
                "recall__public_id", "organisation__gln", "kind", "entry", "issued_at"
            )
        ),
        "epcis events": sorted(
            EpcisEvent.objects.filter(role=EpcisEvent.Role.CUSTODY).values_list(
                "event_id", "entry", "event_type", "biz_step", "event_time"
            )
        ),
        "statements": sorted(
            StatementRecord.objects.values_list(
                "entry", "kind", "organisation__gln", "key__key_id", "nonce", "issued_at"
            )
        ),
    }  # fmt: skip


def _clear() -> None:
    epcis_index.custody_events_clear()  # EPCIS: custody rows only; observations stay
    with connection.cursor() as cursor:
        for model in PROJECTIONS:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608


def _parsed(index: int, data: bytes) -> statements.SignedStatement:
    try:
        return statements.parse_entry(data)
    except statements.StatementError as exc:
        raise ReplayFailed(f"entry {index}: {exc}") from None


def _verify(signed: statements.SignedStatement, index: int, keys: dict[str, bytes]) -> None:
    """Check the signature with the keys registered so far (`keys`, updated in ledger order)."""
    if signed.kind in ("root.establish", "key.register"):  # the root key signs its own entry
        key = signed.body["key"]
        keys[key["id"]] = base64.b64decode(key["public_key"])
    if signed.signer_key not in keys:
        raise ReplayFailed(
            f"entry {index}: signed by {signed.signer_key}, a key not registered before it"
        )
    try:
        statements.verify(signed, keys[signed.signer_key])
    except statements.StatementError as exc:
        raise ReplayFailed(f"entry {index}: {exc}") from None


def _replay(rows: list[tuple[int, bytes]], keys: dict[str, bytes]) -> None:
    """Verify a chunk of entries, then apply it as the live path applies an append."""
    batch = [(_parsed(index, bytes(data)), index) for index, data in rows]
    for signed, index in batch:
        _verify(signed, index, keys)
    projections.apply_batch(batch)
    signing_keys = SigningKey.objects.filter(key_id__in={s.signer_key for s, _ in batch})
    records = projections.statement_records(batch, {k.key_id: k for k in signing_keys})
    StatementRecord.objects.bulk_create(records)


def rebuild(progress: Callable[[int, int], None] | None = None) -> int:
    """Clear the projections and replay every ledger entry; the number replayed."""
    total = Entry.objects.count()
    done, keys = 0, {}
    with transaction.atomic():
        _clear()
        rows = Entry.objects.order_by("index").values_list("index", "data").iterator(CHUNK)
        while chunk := list(itertools.islice(rows, CHUNK)):
            _replay(chunk, keys)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done


class _Rollback(Exception):
    pass


def differences() -> list[str]:
    """Rebuild aside (in a transaction that is rolled back) and list what differs."""
    found: list[str] = []
    try:
        with transaction.atomic():
            live = snapshot()
            rebuild()
            replayed = snapshot()
            for name in live:
                found.extend(_diff(name, live[name], replayed[name]))
            raise _Rollback
    except _Rollback:
        pass
    return found


def _diff(name: str, live: list[tuple], replayed: list[tuple]) -> list[str]:
    only_live = sorted(set(live) - set(replayed))
    only_replayed = sorted(set(replayed) - set(live))
    out = [f"{name}: live has {row} but the ledger does not say so" for row in only_live[:5]]
    out += [f"{name}: the ledger says {row} but live does not have it" for row in only_replayed[:5]]
    return out
