"""The verification answer as JSON (API and screens), scoped to who asks."""

import base64
import functools

from django.urls import get_script_prefix, reverse

from traceability.models import Organisation, Pack
from traceability.verification import Assessment
from traceability.web.reads import kind_label


def may_see_chain(scanner: Organisation, found: Assessment) -> bool:
    """Regulators, the product's manufacturer and the pack's holders see who signed."""
    if found.pack is None:
        return False
    if scanner.role == Organisation.Role.REGULATOR:
        return True
    if found.product.manufacturer_id == scanner.pk:
        return True
    return any(link.organisation and link.organisation.pk == scanner.pk for link in found.chain)


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


def _entry_urls(entries: list[int]) -> dict[int, str]:
    """Each entry's URL from one reverse() per script prefix when the route ends in
    the index: reverse() costs a tenth of a millisecond, and a scan answers with
    several entries."""
    prefix = _entry_url_prefix(get_script_prefix())
    if prefix is None:
        return {index: reverse("ledger:entry", args=[index]) for index in entries}
    return {index: f"{prefix}{index}" for index in entries}


@functools.lru_cache(maxsize=8)
def _entry_url_prefix(script_prefix: str) -> str | None:
    """What comes before the index in an entry's URL (None if the index is not last)."""
    url = reverse("ledger:entry", args=[7])
    return url.removesuffix("7") if url.endswith("/7") else None


def verification_json(found: Assessment, scanner: Organisation) -> dict:
    """The answer of GET /api/v1/verify, scoped to what `scanner` may see."""
    pack = found.pack
    entry_urls = _entry_urls([link.entry for link in found.chain])
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
            "entry_url": entry_urls[link.entry],
        }
        for link in found.chain
    ]
    return {
        "verdict": found.verdict,
        "reasons": [{"code": r.code, "message": r.message} for r in found.reasons],
        "pack": pack_json,
        "evidence": {"custody_chain": chain, **proof_json(found)},
    }
