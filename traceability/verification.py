"""Is this pack genuine, and may it be dispensed? The verdict for a scanned pack.

`pack_assess` reads the pack, verifies the signatures of its custody chain as
stored and the inclusion proof of its latest event against the latest signed
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

import datetime
import functools
from dataclasses import dataclass, field

from django.utils import timezone

from ledger import merkle, note, storage
from traceability import epcis_shapes, signature_memo, statements
from traceability.alerts import alert_raise
from traceability.models import (
    Organisation,
    Pack,
    Product,
    SigningKey,
)
from traceability.pack_chain import PackRead, checkpoint_latest, pack_and_chain, stored_statement
from traceability.scanning import Scan, ScanError, parse_scan
from traceability.shipping import HOLDING_ROLES

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
    read = pack_and_chain(gtin, serial)
    checkpoint = read.checkpoint or checkpoint_latest()
    found.checkpoint_note, found.log_key = checkpoint.note, checkpoint.log_key
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


def _link(index: int, data: bytes | None, signed, names_pack: bool, keys: dict) -> ChainLink:
    if isinstance(signed, statements.StatementError):
        return ChainLink(index, "unknown", None, None, False, str(signed))
    key = keys.get(signed.signer_key)
    org = key.organisation if key and key.organisation.gln == signed.signer_org else None
    try:
        if org is None:
            raise statements.StatementError(f"signer key {signed.signer_key} is not registered")
        signature_memo.verify_entry(data, signed, bytes(key.public_key))
        if not names_pack:
            raise statements.StatementError(
                "the signed statement does not name this pack or its case"
            )
    except statements.StatementError as exc:
        return ChainLink(index, signed.kind, org, signed.issued_at, False, str(exc))
    detail = f"valid (key {key.key_id} of {org.name})"
    return ChainLink(index, signed.kind, org, signed.issued_at, True, detail)


def _names(value):
    # A list is searched as it is: a set of a ~500-pack epcList costs more than the
    # scan. Anything else keeps set()'s meaning (a string names its characters).
    return value if isinstance(value, list) else set(value)


def _carries(body: dict, carriers: list[str]) -> bool:
    """Does the event name the pack or a case that held it then? `carriers` is the
    pack's URI and the cases around it, innermost first; packing and unpacking
    events change it in ledger order, as they changed where the pack was."""
    epcs, children = _names(body.get("epcList", [])), _names(body.get("childEPCs", []))
    parent = body.get("parentID")

    def named(carrier) -> bool:
        return carrier in epcs or carrier in children

    if not any(named(carrier) or carrier == parent for carrier in carriers):
        return False
    if body.get("type") == "AggregationEvent":
        if body.get("action") == "ADD" and named(carriers[-1]):
            carriers.append(parent)  # packed into a case, or its case onto a pallet
        elif body.get("action") == "DELETE":
            inner = [i for i, carrier in enumerate(carriers) if named(carrier)]
            del carriers[(inner[0] + 1 if inner else len(carriers)) :]
    elif body.get("bizStep") in ("dispensing", "destroying") and named(carriers[0]):
        del carriers[1:]  # taken out of its case to be dispensed or destroyed
    return True


def _parsed(data: bytes | None):
    if data is None:
        return statements.StatementError("the entry is missing")
    try:
        return stored_statement(data)
    except statements.StatementError as exc:
        return exc


def _check_chain(found: Assessment, pack: Pack, read: PackRead) -> None:
    """Verify every statement of the custody chain, as stored now, with its signer's
    registered key (signature_memo: once per process for the same bytes and key),
    and that each names the pack or a case that held it at the time."""
    parsed = {index: _parsed(data) for index, data in sorted(read.entries.items())}
    named = {s.signer_key for s in parsed.values() if not isinstance(s, Exception)}
    keys = dict(read.keys)
    if named - keys.keys():  # the statement index disagrees with a statement: ask by key id
        more = SigningKey.objects.select_related("organisation").filter(key_id__in=named)
        keys.update({k.key_id: k for k in more})
    carriers = [epcis_shapes.sgtin_uri(pack.gtin, pack.serial)]
    for index, signed in parsed.items():
        names_pack = not isinstance(signed, Exception) and _carries(signed.body, carriers)
        link = _link(index, read.entries[index], signed, names_pack, keys)
        found.chain.append(link)
        if not link.signature_valid:
            found.add("SIGNATURE_INVALID", f"ledger entry {index}: {link.signature_detail}")


# Whether a checkpoint's signature verifies is a pure function of its text and
# the key, so a process checks each checkpoint once (a new one comes with every
# append). A NoteError is not cached: a bad checkpoint is re-checked and refused.
_checkpoint_opened = functools.lru_cache(maxsize=16)(note.open_checkpoint)


def _check_proof(found: Assessment, pack: Pack, entries: dict[int, bytes | None]) -> None:
    """The latest event is in the tree that the latest signed checkpoint commits to."""
    index = pack.last_entry
    try:
        checkpoint = _checkpoint_opened(found.checkpoint_note, found.log_key)
        if index >= checkpoint.size:
            raise merkle.ProofError(f"the checkpoint of size {checkpoint.size} predates it")
        proof = storage.inclusion_proof_at(index, checkpoint.size, checkpoint.root)
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
