"""Is this pack genuine, and may it be dispensed? The verdict for a scanned pack.

`pack_assess` reads the pack, re-verifies the signatures of its custody chain
and the inclusion proof of its latest event against the latest signed
checkpoint, and lists every problem it finds. `pack_verify` is what the API
and the pharmacy screen call: the assessment for a logged-in organisation,
plus an alert for every verdict that is not AUTHENTIC.

When several problems apply the verdict is the first in PRECEDENCE; `reasons`
lists them all, in that order. The order puts first what makes the rest
meaningless (no such product or serial; a record that does not verify), then
what says the physical pack is not the one on record (printed lot or expiry
differ), then what says the pack should not be in anyone's hands (stolen,
destroyed, already dispensed: a clone), then what forbids supplying it
(recalled, expired), and last where it should be (held elsewhere: diversion).
"""

import base64
import datetime
import json
from dataclasses import dataclass, field

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ledger import merkle, note, storage
from ledger.models import Checkpoint, Entry
from traceability import epcis_shapes, statements
from traceability.alerts import alert_raise
from traceability.models import (
    Batch,
    Organisation,
    Pack,
    PackEvent,
    Product,
    SigningKey,
    StatementRecord,
)
from traceability.scanning import Scan, ScanError, parse_scan
from traceability.shipping import HOLDING_ROLES
from traceability.web.reads import kind_label

AUTHENTIC = "AUTHENTIC"
PRECEDENCE = (
    "UNKNOWN_PRODUCT",
    "UNKNOWN_SERIAL",
    "SIGNATURE_INVALID",
    "PROOF_INVALID",
    "BATCH_MISMATCH",
    "EXPIRY_MISMATCH",
    "STOLEN",
    "DESTROYED",
    "ALREADY_DISPENSED",
    "RECALLED",
    "EXPIRED",
    "NOT_IN_YOUR_CUSTODY",
)
VERDICTS = (AUTHENTIC, *PRECEDENCE)
ENTRY_HEAD = b'{"signature":"'  # statements.SignedStatement.entry_bytes()

# Pack statuses that forbid supplying a pack, as the verdict they give.
STATUS_VERDICTS = {
    Pack.Status.SUPPLIED: ("ALREADY_DISPENSED", "was dispensed already: this may be a clone"),
    Pack.Status.SAMPLE: ("ALREADY_DISPENSED", "was supplied as a free sample already"),
    Pack.Status.DESTROYED: ("DESTROYED", "was recorded as destroyed"),
    Pack.Status.STOLEN: ("STOLEN", "was reported stolen"),
    Pack.Status.RECALLED: ("RECALLED", "is recalled"),
    Pack.Status.WITHDRAWN: ("RECALLED", "is withdrawn from the market"),
    Pack.Status.LOCKED: ("RECALLED", "is locked pending an investigation"),
    Pack.Status.EXPIRED: ("EXPIRED", "was recorded as expired"),
    Pack.Status.EXPORTED: ("NOT_IN_YOUR_CUSTODY", "was exported out of this market"),
}


class ScanRefused(ValueError):
    """A scan that cannot be verified; `field` names the request parameter at fault."""

    def __init__(self, message: str, field: str = "code"):
        super().__init__(message)
        self.message, self.field = message, field


def pack_scan(raw, separator: str | None = None) -> Scan:
    """Parse a raw scan that must name one pack (GTIN and serial)."""
    if raw is None or raw == "":
        raise ScanRefused("code is required: the raw text your scanner read")
    if separator is not None and len(separator) != 1:
        raise ScanRefused("separator must be a single character", "separator")
    try:
        scan = parse_scan(raw, separator=separator)
    except ScanError as exc:
        raise ScanRefused(exc.message, "code") from None
    if scan.gtin is None or scan.serial is None:
        missing = "GTIN (01)" if scan.gtin is None else "serial number (21)"
        raise ScanRefused(
            f"the code has no {missing}: scan the 2D code that holds GTIN, serial, lot and expiry"
        )
    return scan


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class ChainLink:
    """One ledger entry of the pack's custody chain."""

    entry: int
    kind: str
    organisation: Organisation | None  # None: withheld from this caller
    issued_at: datetime.datetime
    signature_valid: bool
    signature_detail: str


@dataclass(frozen=True)
class ProofEvidence:
    entry: int
    leaf_hash: bytes
    proof: list[bytes]
    size: int
    root: bytes


@dataclass
class Assessment:
    gtin: str
    serial: str
    lot: str | None
    expiry: datetime.date | None
    product: Product | None = None
    pack: Pack | None = None
    reasons: list[Reason] = field(default_factory=list)
    chain: list[ChainLink] = field(default_factory=list)
    proof: ProofEvidence | None = None
    proof_valid: bool = False
    checkpoint_note: str = ""
    log_key: str = ""

    @property
    def verdict(self) -> str:
        return self.reasons[0].code if self.reasons else AUTHENTIC

    @property
    def is_authentic(self) -> bool:
        return not self.reasons

    def add(self, code: str, message: str) -> None:
        self.reasons.append(Reason(code, message))
        self.reasons.sort(key=lambda r: PRECEDENCE.index(r.code))


def _checkpoint_latest() -> Checkpoint:
    """The latest signed checkpoint with the key that signed it: one query."""
    latest = Checkpoint.objects.select_related("key").order_by("-size")
    found = latest.first()
    if found is None:  # a fresh log: storage signs the empty tree's checkpoint
        storage.checkpoint_latest()
        found = latest.first()
    return found


# One query for what every verification reads: the pack, its batch, product and
# manufacturer, and each entry of its custody chain with the key and organisation
# its statement index names. The ORM would take five queries (and most of a
# verification's time compiling them); the counter needs an answer at once.
PACK_AND_CHAIN = """
WITH pk AS (
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
SELECT pk.*, chain.entry, e.data, k.key_id, k.public_key, o.id, o.name, o.gln
FROM pk
JOIN chain ON 1 = 1
LEFT JOIN {entry} e ON e."index" = chain.entry
LEFT JOIN {record} sr ON sr.entry = chain.entry
LEFT JOIN {key} k ON k.id = sr.key_id
LEFT JOIN {org} o ON o.id = k.organisation_id
ORDER BY chain.entry
""".format(  # noqa: S608, UP032 (table names only; f-string would be less readable)
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
class _Read:
    pack: Pack | None
    entries: dict[int, bytes | None]  # the custody chain's entry bytes by ledger index
    keys: dict[str, SigningKey]  # the keys the chain's statement index names, by key id


def _pack_and_chain(gtin: str, serial: str) -> _Read:
    with connection.cursor() as cursor:
        cursor.execute(PACK_AND_CHAIN, [gtin, serial])
        rows = cursor.fetchall()
    if not rows:
        return _Read(None, {}, {})
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
    for entry, data, key_id, public_key, org_id, org_name, org_gln in (r[19:] for r in rows):
        entries[entry] = bytes(data) if data is not None else None
        if key_id is not None:
            signer = Organisation(id=org_id, name=org_name, gln=org_gln)
            keys[key_id] = SigningKey(key_id=key_id, public_key=public_key, organisation=signer)
    return _Read(pack, entries, keys)


def pack_assess(
    *,
    gtin: str,
    serial: str,
    lot: str | None = None,
    expiry: datetime.date | None = None,
    today: datetime.date | None = None,
) -> Assessment:
    """Everything the ledger says about the scanned pack, for anyone (custody aside)."""
    found = Assessment(gtin=gtin, serial=serial, lot=lot, expiry=expiry)
    checkpoint = _checkpoint_latest()
    found.checkpoint_note = checkpoint.note
    found.log_key = note.verifier_key(checkpoint.key.name, bytes(checkpoint.key.public_key))
    read = _pack_and_chain(gtin, serial)
    found.pack = read.pack
    if found.pack is None:
        found.product = Product.objects.select_related("manufacturer").filter(gtin=gtin).first()
        if found.product is None:
            found.add("UNKNOWN_PRODUCT", f"no product with GTIN {gtin} is registered")
        else:
            found.add("UNKNOWN_SERIAL", f"{found.product.name} has no pack with serial {serial}")
        return found
    pack, batch = found.pack, found.pack.batch
    found.product = batch.product
    _check_label(found, batch)
    _check_status(found, pack, batch, today or timezone.localdate())
    _check_chain(found, pack, read)
    _check_proof(found, pack, read.entries)
    return found


def _check_label(found: Assessment, batch) -> None:
    if found.lot is not None and found.lot != batch.lot:
        found.add(
            "BATCH_MISMATCH", f"the pack says lot {found.lot}; its serial is of lot {batch.lot}"
        )
    if found.expiry is not None and found.expiry != batch.expires_on:
        found.add(
            "EXPIRY_MISMATCH",
            f"the pack says expiry {found.expiry.isoformat()}; lot {batch.lot} expires "
            f"{batch.expires_on.isoformat()}",
        )


def _check_status(found: Assessment, pack: Pack, batch, today: datetime.date) -> None:
    if pack.status in STATUS_VERDICTS:
        code, what = STATUS_VERDICTS[pack.status]
        found.add(code, f"this pack {what}")
    if batch.expires_on < today and pack.status != Pack.Status.EXPIRED:
        found.add("EXPIRED", f"lot {batch.lot} expired on {batch.expires_on.isoformat()}")


def _stored_statement(data: bytes) -> statements.SignedStatement:
    """The signed statement in an entry's bytes, keeping the statement's stored JCS
    bytes: the signature is checked against exactly what the ledger holds, and
    nothing is canonicalized again (a 500-pack entry would cost milliseconds)."""
    head, sep, rest = data.partition(b'","statement":')
    if not head.startswith(ENTRY_HEAD) or not sep or not rest.endswith(b"}"):
        raise statements.StatementError("entry is not a signed statement")
    try:
        signature = base64.b64decode(head[len(ENTRY_HEAD) :], validate=True)
        canonical = rest[:-1]
        signed = statements.SignedStatement(json.loads(canonical), signature, canonical)
        statements.check_shape(signed.statement)
    except (ValueError, TypeError) as exc:
        raise statements.StatementError(f"entry is not a signed statement: {exc}") from None
    return signed


def _link(index: int, signed, pack: Pack, keys: dict) -> ChainLink:
    if isinstance(signed, statements.StatementError):
        return ChainLink(index, "unknown", None, None, False, str(signed))
    key = keys.get(signed.signer_key)
    org = key.organisation if key and key.organisation.gln == signed.signer_org else None
    try:
        if org is None:
            raise statements.StatementError(f"signer key {signed.signer_key} is not registered")
        statements.verify(signed, bytes(key.public_key))
        if epcis_shapes.sgtin_uri(pack.gtin, pack.serial) not in signed.body.get("epcList", []):
            raise statements.StatementError("the signed statement does not name this pack")
    except statements.StatementError as exc:
        return ChainLink(index, signed.kind, org, signed.issued_at, False, str(exc))
    detail = f"valid (key {key.key_id} of {org.name})"
    return ChainLink(index, signed.kind, org, signed.issued_at, True, detail)


def _parsed(data: bytes | None):
    if data is None:
        return statements.StatementError("the entry is missing")
    try:
        return _stored_statement(data)
    except statements.StatementError as exc:
        return exc


def _check_chain(found: Assessment, pack: Pack, read: _Read) -> None:
    """Re-verify every statement of the custody chain with its signer's registered key."""
    parsed = {index: _parsed(data) for index, data in sorted(read.entries.items())}
    named = {s.signer_key for s in parsed.values() if not isinstance(s, Exception)}
    keys = dict(read.keys)
    if named - keys.keys():  # the statement index disagrees with a statement: ask by key id
        more = SigningKey.objects.select_related("organisation").filter(key_id__in=named)
        keys.update({k.key_id: k for k in more})
    for index, signed in parsed.items():
        link = _link(index, signed, pack, keys)
        found.chain.append(link)
        if not link.signature_valid:
            found.add("SIGNATURE_INVALID", f"ledger entry {index}: {link.signature_detail}")


def _check_proof(found: Assessment, pack: Pack, entries: dict[int, bytes | None]) -> None:
    """The latest event is in the tree that the latest signed checkpoint commits to."""
    index = pack.last_entry
    try:
        checkpoint = note.open_checkpoint(found.checkpoint_note, found.log_key)
        if index >= checkpoint.size:
            raise merkle.ProofError(f"the checkpoint of size {checkpoint.size} predates it")
        proof = storage.inclusion_proof(index, checkpoint.size)
        found.proof = ProofEvidence(index, proof.leaf_hash, proof.proof, proof.size, proof.root)
        data = entries.get(index)
        if data is None or merkle.leaf_hash(data) != proof.leaf_hash:
            raise merkle.ProofError("the stored entry does not hash to its leaf")
        merkle.verify_inclusion(
            index, checkpoint.size, proof.leaf_hash, proof.proof, checkpoint.root
        )
    except (note.NoteError, merkle.ProofError, storage.LedgerError) as exc:
        found.add("PROOF_INVALID", f"inclusion of ledger entry {index}: {exc}")
    else:
        found.proof_valid = True


def _check_custody(found: Assessment, scanner: Organisation) -> None:
    """Holders may only supply what the ledger says they hold (diversion otherwise)."""
    pack = found.pack
    if pack is None or scanner.role not in HOLDING_ROLES:
        return
    if pack.shipment_id is not None and pack.shipment.receiver_id == scanner.pk:
        found.add("NOT_IN_YOUR_CUSTODY", "this pack is on its way to you: receive it first")
    elif pack.custodian_id != scanner.pk:
        found.add("NOT_IN_YOUR_CUSTODY", f"the ledger says {scanner.name} does not hold this pack")
    elif pack.shipment_id is not None:
        found.add("NOT_IN_YOUR_CUSTODY", "this pack is in transit: you shipped it")


def may_see_chain(scanner: Organisation, found: Assessment) -> bool:
    """Regulators, the product's manufacturer and the pack's holders see who signed."""
    if found.pack is None:
        return False
    if scanner.role == Organisation.Role.REGULATOR:
        return True
    if found.product.manufacturer_id == scanner.pk:
        return True
    return any(link.organisation and link.organisation.pk == scanner.pk for link in found.chain)


def pack_verify(
    *,
    scanner: Organisation,
    gtin: str,
    serial: str,
    lot: str | None = None,
    expiry: datetime.date | None = None,
    raw: str = "",
) -> Assessment:
    """Verify a scanned pack for `scanner`; a verdict other than AUTHENTIC raises an alert."""
    found = pack_assess(gtin=gtin, serial=serial, lot=lot, expiry=expiry)
    _check_custody(found, scanner)
    if not found.is_authentic:
        alert_raise(scanner=scanner, found=found, raw=raw)
    return found


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def proof_json(found: Assessment) -> dict:
    """The proof bundle: enough to check the latest event's inclusion without trusting us."""
    bundle = {"checkpoint": found.checkpoint_note, "log_key": found.log_key}
    if found.proof is not None:
        proof = found.proof
        bundle["inclusion_proof"] = {
            "index": proof.entry,
            "size": proof.size,
            "leaf_hash": _b64(proof.leaf_hash),
            "proof": [_b64(h) for h in proof.proof],
            "root": _b64(proof.root),
        }
        bundle["proof_valid"] = found.proof_valid
    return bundle


def verification_json(found: Assessment, scanner: Organisation) -> dict:
    """The answer of GET /api/v1/verify, scoped to what `scanner` may see."""
    pack = found.pack
    shows_parties = may_see_chain(scanner, found)
    pack_json = None
    if pack is not None:
        pack_json = {
            "gtin": pack.gtin,
            "serial": pack.serial,
            "product": found.product.name,
            "manufacturer": found.product.manufacturer.name,
            "lot": pack.batch.lot,
            "expiry": pack.batch.expires_on.isoformat(),
            "status": pack.status,
            "held_by_you": pack.custodian_id == scanner.pk
            and pack.shipment_id is None
            and pack.status == Pack.Status.ACTIVE,
        }
    chain = [
        {
            "entry": link.entry,
            "event": link.kind,
            "label": kind_label(link.kind),
            "by": (
                {"name": link.organisation.name, "gln": link.organisation.gln}
                if shows_parties and link.organisation
                else None
            ),
            "at": link.issued_at.isoformat() if link.issued_at else None,
            "signature_valid": link.signature_valid,
            "signature": link.signature_detail if shows_parties else None,
            "entry_url": reverse("ledger:entry", args=[link.entry]),
        }
        for link in found.chain
    ]
    return {
        "verdict": found.verdict,
        "reasons": [{"code": r.code, "message": r.message} for r in found.reasons],
        "pack": pack_json,
        "evidence": {"custody_chain": chain, **proof_json(found)},
    }
