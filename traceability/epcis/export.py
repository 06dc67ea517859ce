"""The ledger's custody statements as EPCIS 2.0 events and documents.

Statement bodies are EPCIS-shaped already (epcis_shapes); this adds what a
reader outside the platform needs: an eventID, the recordTime, parties as
PGLN Digital Links (AI 417), CBV master-data names in the ILMD, and the
platform's own fields under the `dt:` extension prefix, among them the
ledger index the event can be proven at (/ledger/proof/inclusion).
"""

import contextlib
import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from ledger.models import Entry
from traceability import custody_state, statements
from traceability.epcis_shapes import DIGITAL_LINK, gln_parse

# Statements that are EPCIS events about goods (the rest register keys and products):
# the custody events, commissioning, and the counter's pack states (projections).
CUSTODY_KINDS = custody_state.CUSTODY_KINDS | {"commission"}
EXTENSION_PREFIX = "dt"
EXTENSION_NAMESPACE = "urn:drug-traceability:epcis:"
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {EXTENSION_PREFIX: EXTENSION_NAMESPACE},
]
# Ids derived for events that carry none: stable across rebuilds, since the
# (key, nonce) pair of a statement is unique and signed.
EVENT_ID_NAMESPACE = uuid.UUID("5d0c1f0e-6a3b-4b9e-9a51-0f3e1c7a2b11")
# ObjectEvent fields as EPCIS names them; a body's other fields are the platform's own
# (shipment, shippedEntry, undoes...) and go out under the extension prefix.
EPCIS_FIELDS = frozenset(
    {"type", "eventTime", "eventTimeZoneOffset", "action", "bizStep", "disposition", "epcList",
     "parentID", "childEPCs", "childQuantityList",
     "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "ilmd",
     "quantityList", "persistentDisposition", "sensorElementList", "certificationInfo"}
)  # fmt: skip
ILMD_NAMES = {
    "lotNumber": "cbvmda:lotNumber",
    "itemExpirationDate": "cbvmda:itemExpirationDate",
    "productionDate": f"{EXTENSION_PREFIX}:productionDate",
}


def event_id_of(signed: statements.SignedStatement) -> str:
    if isinstance(signed.body.get("eventID"), str):
        return signed.body["eventID"]
    return f"urn:uuid:{uuid5_text(EVENT_ID_NAMESPACE, f'{signed.signer_key}/{signed.nonce}')}"


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """str(uuid.uuid5(namespace, name)) without building a UUID object, which cost
    most of the 12 us an id took: a thousand ids a statement batch."""
    sha1 = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False)  # as RFC 4122
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _party(entry: dict, field: str) -> dict:
    """Owning and possessing parties are PGLNs: Digital Link AI 417, not 414 (a place)."""
    value = entry.get(field)
    if entry.get("type") in ("owning_party", "possessing_party"):
        with contextlib.suppress(ValueError):
            value = f"{DIGITAL_LINK}/417/{gln_parse(value)}"
    return {**entry, field: value}


def custody_event(signed: statements.SignedStatement, entry: int) -> dict:
    """One custody statement as an EPCIS 2.0 event."""
    body = signed.body
    event = {"eventID": event_id_of(signed)}
    for name, value in body.items():
        if name == "eventID":
            continue
        if name not in EPCIS_FIELDS:
            event[f"{EXTENSION_PREFIX}:{name}"] = value
        elif name in ("sourceList", "destinationList"):
            field = "source" if name == "sourceList" else "destination"
            event[name] = [_party(p, field) for p in value]
        elif name == "ilmd":
            event[name] = {ILMD_NAMES.get(k, k): v for k, v in value.items()}
        else:
            event[name] = value
    event["recordTime"] = signed.statement["issued_at"]
    event[f"{EXTENSION_PREFIX}:ledgerEntry"] = entry
    event[f"{EXTENSION_PREFIX}:signedBy"] = f"{DIGITAL_LINK}/417/{signed.signer_org}"
    return event


def custody_events(entries: Iterable[int]) -> dict[int, dict]:
    """The EPCIS events of ledger entries, by index (entries that are not custody
    statements are left out)."""
    found = {}
    rows = Entry.objects.filter(index__in=list(entries)).values_list("index", "data")
    for index, data in rows:
        signed = statements.parse_entry(bytes(data))
        if signed.kind in CUSTODY_KINDS:
            found[index] = custody_event(signed, index)
    return found


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def document(events: list[dict]) -> dict:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _now(),
        "epcisBody": {"eventList": events},
    }


def query_document(events: list[dict], query_name: str = "SimpleEventQuery") -> dict:
    return {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": _now(),
        "epcisBody": {
            "queryResults": {"queryName": query_name, "resultsBody": {"eventList": events}}
        },
    }
