"""What a verification reads: a pack with its whole custody chain (the entries'
bytes and the keys that signed them) and the latest checkpoint, in one prepared
query (prepared_sql): the counter runs it on every scan. The checkpoint alone
has its own query, for a scan that names no pack."""

import base64
import datetime
import functools
from dataclasses import dataclass

import orjson

from ledger import note, storage
from ledger.models import Checkpoint, Entry, LogKey
from traceability import statements
from traceability.models import (
    Batch,
    Organisation,
    Pack,
    PackEvent,
    Product,
    SigningKey,
    StatementRecord,
)
from traceability.prepared_sql import prepared_cursor

ENTRY_HEAD = b'{"signature":"'  # statements.SignedStatement.entry_bytes()

LATEST_CHECKPOINT = f"""
SELECT c.note, k.name, k.public_key
FROM {Checkpoint._meta.db_table} c JOIN {LogKey._meta.db_table} k ON k.id = c.key_id
ORDER BY c.size DESC LIMIT 1
"""  # noqa: S608 (table names only)


@dataclass(frozen=True)
class LatestCheckpoint:
    note: str  # C2SP signed note, as stored
    log_key: str  # verifier key of the log key that the row says signed it


def _latest_checkpoint_row():
    with prepared_cursor() as cursor:
        cursor.execute(LATEST_CHECKPOINT)
        return cursor.fetchone()


def checkpoint_latest() -> LatestCheckpoint:
    """The latest signed checkpoint with the key that signed it: one query."""
    row = _latest_checkpoint_row()
    if row is None:  # a fresh log: storage signs the empty tree's checkpoint
        storage.checkpoint_latest()
        row = _latest_checkpoint_row()
    text, name, public_key = row
    return _checkpoint(text, name, bytes(public_key))


# A new checkpoint comes with each append; every scan in between reads the same one.
@functools.lru_cache(maxsize=16)
def _checkpoint(text: str, name: str, public_key: bytes) -> LatestCheckpoint:
    return LatestCheckpoint(text, note.verifier_key(name, public_key))


# One query for what every verification reads: the pack, its batch, product and
# manufacturer, each entry of its custody chain with the key and organisation
# its statement index names, and the latest checkpoint (so the proof is made
# against a checkpoint of the same snapshot). The ORM would take six queries
# (and most of a verification's time compiling them); the counter needs an
# answer at once.
PACK_AND_CHAIN = """
WITH cp AS ({latest_checkpoint}), pk AS (
    SELECT p.id, p.status, p.custodian_id, p.shipment_id, p.commissioned_entry, p.last_entry,
           b.id AS batch_id, b.lot, b.manufactured_on, b.expires_on, b.quantity,
           b.created_entry, pr.id AS product_id, pr.name AS product_name, pr.registered_entry,
           m.id AS maker_id, m.name AS maker_name, m.gln AS maker_gln, m.role AS maker_role
    FROM {pack} p
    JOIN {batch} b ON b.id = p.batch_id
    JOIN {product} pr ON pr.id = b.product_id
    JOIN {org} m ON m.id = pr.manufacturer_id
    WHERE p.gtin = %s AND p.serial = %s
), chain AS (
    SELECT commissioned_entry AS entry FROM pk
    UNION SELECT last_entry FROM pk
    UNION SELECT pe.entry FROM {pack_event} pe JOIN pk ON pe.pack_id = pk.id
)
SELECT pk.*, chain.entry, e.data, k.key_id, k.public_key, o.id, o.name, o.gln, cp.*
FROM pk
JOIN chain ON 1 = 1
LEFT JOIN cp ON 1 = 1
LEFT JOIN {entry} e ON e."index" = chain.entry
LEFT JOIN {record} sr ON sr.entry = chain.entry
LEFT JOIN {key} k ON k.id = sr.key_id
LEFT JOIN {org} o ON o.id = k.organisation_id
ORDER BY chain.entry
""".format(  # noqa: S608, UP032 (table names only; f-string would be less readable)
    latest_checkpoint=LATEST_CHECKPOINT.strip(),
    pack=Pack._meta.db_table,
    batch=Batch._meta.db_table,
    product=Product._meta.db_table,
    org=Organisation._meta.db_table,
    pack_event=PackEvent._meta.db_table,
    entry=Entry._meta.db_table,
    record=StatementRecord._meta.db_table,
    key=SigningKey._meta.db_table,
)


def _date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


@dataclass(frozen=True)
class PackRead:
    pack: Pack | None
    entries: dict[int, bytes | None]  # the custody chain's entry bytes by ledger index
    keys: dict[str, SigningKey]  # the keys the chain's statement index names, by key id
    checkpoint: LatestCheckpoint | None  # None when there is no pack (or no checkpoint yet)


# The signer of each chain entry as a model instance, made once per process for
# the same row (a key's id, bytes and organisation): a scan names a handful of
# keys, and building instances costs more than the rest of reading the chain.
@functools.lru_cache(maxsize=1024)
def _signing_key(key_id, public_key: bytes, org_id, org_name, org_gln) -> SigningKey:
    signer = Organisation(id=org_id, name=org_name, gln=org_gln)
    return SigningKey(key_id=key_id, public_key=public_key, organisation=signer)


def pack_and_chain(gtin: str, serial: str) -> PackRead:
    with prepared_cursor(binary=True) as cursor:
        cursor.execute(PACK_AND_CHAIN, [gtin, serial])
        rows = cursor.fetchall()
    if not rows:
        return PackRead(None, {}, {}, None)
    (pack_id, status, custodian_id, shipment_id, commissioned, last, batch_id, lot, made,
     expires, quantity, created, product_id, product_name, registered, maker_id, maker_name,
     maker_gln, maker_role) = rows[0][:19]  # fmt: skip
    maker = Organisation(id=maker_id, name=maker_name, gln=maker_gln, role=maker_role)
    product = Product(
        id=product_id, gtin=gtin, name=product_name, manufacturer=maker, registered_entry=registered
    )
    batch = Batch(
        id=batch_id,
        product=product,
        lot=lot,
        manufactured_on=_date(made),
        expires_on=_date(expires),
        quantity=quantity,
        created_entry=created,
    )
    pack = Pack(
        id=pack_id,
        batch=batch,
        gtin=gtin,
        serial=serial,
        status=status,
        custodian_id=custodian_id,
        shipment_id=shipment_id,
        commissioned_entry=commissioned,
        last_entry=last,
    )
    entries, keys = {}, {}
    for entry, data, key_id, public_key, org_id, org_name, org_gln in (r[19:26] for r in rows):
        entries[entry] = bytes(data) if data is not None else None
        if key_id is not None:
            keys[key_id] = _signing_key(key_id, bytes(public_key), org_id, org_name, org_gln)
    text, name, log_public_key = rows[0][26:]
    checkpoint = _checkpoint(text, name, bytes(log_public_key)) if text is not None else None
    return PackRead(pack, entries, keys, checkpoint)


def stored_statement(data: bytes) -> statements.SignedStatement:
    """The signed statement in an entry's bytes, keeping the statement's stored JCS
    bytes: the signature is checked against exactly what the ledger holds, and
    nothing is canonicalized again (a 500-pack entry would cost milliseconds).
    orjson parses a 500-pack statement in 43 us against json's 75; what it
    refuses and json would take (invalid UTF-8, integers past 64 bits) no
    canonical statement holds."""
    head, sep, rest = data.partition(b'","statement":')
    if not head.startswith(ENTRY_HEAD) or not sep or not rest.endswith(b"}"):
        raise statements.StatementError("entry is not a signed statement")
    try:
        signature = base64.b64decode(head[len(ENTRY_HEAD) :], validate=True)
        canonical = rest[:-1]
        signed = statements.SignedStatement(orjson.loads(canonical), signature, canonical)
        statements.check_shape(signed.statement)
    except (ValueError, TypeError) as exc:
        raise statements.StatementError(f"entry is not a signed statement: {exc}") from None
    return signed
