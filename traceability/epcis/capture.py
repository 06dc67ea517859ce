"""Capture an EPCIS 2.0 document: all of it, or none of it.

The document is checked against GS1's schema; then each event, in order:
  - an eventID captured before (or earlier in the document) is a duplicate:
    accepted and not stored again;
  - an event naming the platform's goods (packs or lots of a registered
    product, cases it knows by SSCC) is a custody event when EPCIS has a word
    for one: commissioning, shipping (disposition returned: a return),
    receiving, dispensing, destroying, and AggregationEvents that ADD to
    (pack) or DELETE from (unpack) a case. It becomes a statement signed with
    the capturing organisation's custodial key and held to the custody
    rules. Other events about those goods are kept as observations;
  - any other event is an observation.
Before the schema, a document is refused if it has too many events or text the
database cannot store (NUL, unpaired surrogates).
Custody events are appended in runs: a run ends before an event that names a
pack, case or lot of the run, so that a later event sees what an earlier one did
(commission, pack, then ship...). Everything happens in one transaction: the
first event that breaks the schema or a rule refuses the document, naming it.
"""

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime

import rfc8785
from django.db import IntegrityError, transaction
from django.utils import timezone

from traceability import epcis_shapes, projections
from traceability.commissioning import CustodyRefused
from traceability.custody_rules import custody_check
from traceability.custody_state import SHIPPING_KINDS, packs_by_sgtin
from traceability.epcis import custody, index, schema, storable
from traceability.epcis.custody import CustodyEvent
from traceability.epcis.identifiers import cbv_name, lot_of, sgtin_of, sscc_of
from traceability.gc_pause import garbage_collection_paused
from traceability.keys import KeyRefused, custodial_signer
from traceability.models import CaptureJob, Case, EpcisEvent, Organisation, Product
from traceability.statement_log import SignatureCheck, StatementRejected, statements_append
from traceability.statements import StatementError

MAX_EVENTS = 10_000
MAX_EPCS_PER_EVENT = 500  # one event is one ledger entry, which has a size limit
MAX_EVENT_ID = 500
EPC_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
# eventIDs derived for events without one: the same event gets the same id
DERIVED_ID_NAMESPACE = uuid.UUID("0b8f4f53-2f0e-4d7c-8f1e-3c6f1f1f9a27")


class CaptureRefused(ValueError):
    """The document is refused; `index` and `event_id` name the event, if one is at fault."""

    def __init__(self, message: str, index: int | None = None, event_id: str | None = None):
        where = "" if index is None else f"event {index}" + (f" ({event_id})" if event_id else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.index, self.event_id, self.reason = index, event_id, message


class CaptureTooLarge(CaptureRefused):
    pass


class CapturedMeanwhile(Exception):
    """Another capture stored events of this document while it was being captured."""


@dataclass
class _Event:
    index: int
    raw: dict
    event_id: str
    time: datetime
    sgtins: list[tuple[str, str]]  # serialized items named anywhere in the event
    ssccs: list[str]  # logistic units named anywhere, parentID included
    lots: list[tuple[str, str]]  # lots named by a quantity list's epcClass


def _event_id(raw: dict) -> str:
    if "eventID" in raw:
        return raw["eventID"]
    return f"urn:uuid:{uuid.uuid5(DERIVED_ID_NAMESPACE, rfc8785.dumps(raw).decode())}"


def _event_time(raw: dict) -> datetime:
    try:
        when = datetime.fromisoformat(raw["eventTime"])
    except ValueError:
        raise ValueError(f"eventTime {raw['eventTime']!r} is not an RFC 3339 date-time") from None
    if when.tzinfo is None:
        raise ValueError("eventTime needs a time zone offset, e.g. Z or +01:00")
    if not epcis_shapes.in_utc_range(when):
        raise ValueError(f"eventTime {raw['eventTime']!r} is outside years 1 to 9999 in UTC")
    return when


def _named_epcs(raw: dict) -> list[str]:
    epcs = [epc for name in EPC_FIELDS for epc in raw.get(name) or ()]
    return epcs + ([raw["parentID"]] if raw.get("parentID") else [])


def _named_classes(raw: dict) -> list[str]:
    entries = [e for name in QUANTITY_FIELDS for e in raw.get(name) or ()]
    return [e["epcClass"] for e in entries if isinstance(e, dict) and "epcClass" in e]


def _parsed(position: int, raw: dict) -> _Event:
    event_id = _event_id(raw)
    try:
        if len(event_id) > MAX_EVENT_ID:
            raise ValueError(f"eventID is longer than {MAX_EVENT_ID} characters")
        time = _event_time(raw)
    except ValueError as exc:
        raise CaptureRefused(str(exc), position, event_id) from None
    epcs = _named_epcs(raw)
    return _Event(
        position,
        raw,
        event_id,
        time,
        sgtins=[s for s in map(sgtin_of, epcs) if s],
        ssccs=[s for s in map(sscc_of, epcs) if s],
        lots=[lot for lot in map(lot_of, _named_classes(raw)) if lot],
    )


def _new_events(raw_events: list) -> tuple[list[_Event], int]:
    """The events not captured before, and how many were duplicates."""
    events, seen = [], set()
    for position, raw in enumerate(raw_events):
        event = _parsed(position, raw)
        if event.event_id not in seen:
            seen.add(event.event_id)
            events.append(event)
    known = set(EpcisEvent.objects.filter(event_id__any_of=seen).values_list("event_id", flat=True))
    fresh = [e for e in events if e.event_id not in known]
    return fresh, len(raw_events) - len(fresh)


@dataclass
class _Platform:
    """What the platform manages among the identifiers a document names."""

    products: dict[str, Product]  # by GTIN
    cases: set[str]  # SSCCs of cases on the platform

    def manages(self, event: _Event) -> bool:
        return any(gtin in self.products for gtin, _ in [*event.sgtins, *event.lots]) or any(
            sscc in self.cases for sscc in event.ssccs
        )


def _kind(raw: dict) -> str | None:
    """The custody kind an event about platform goods is, or None (an observation);
    CaptureRefused when its action or disposition does not fit its bizStep."""
    biz_step = cbv_name(raw.get("bizStep", ""))
    disposition = cbv_name(raw.get("disposition", ""))
    if raw["type"] == "AggregationEvent":
        if raw["action"] not in custody.AGGREGATION_ACTIONS:
            return None  # OBSERVE: seen together, nothing packed or unpacked
        kind, steps = custody.AGGREGATION_ACTIONS[raw["action"]]
        if biz_step and biz_step not in steps:
            raise ValueError(f"{raw['action']} of an aggregation takes bizStep {min(steps)}")
        return kind
    if raw["type"] != "ObjectEvent" or biz_step not in custody.OBJECT_STEPS:
        return None
    kind, actions, dispositions = custody.OBJECT_STEPS[biz_step]
    if raw["action"] not in actions:
        raise ValueError(f"{biz_step} takes action {' or '.join(sorted(actions))}")
    if disposition not in dispositions and (
        disposition or biz_step in custody.DISPOSITION_REQUIRED
    ):
        raise ValueError(f"{biz_step} takes disposition {' or '.join(sorted(dispositions))}")
    return "return" if disposition == "returned" else kind


def _goods(raw: dict, kind: str, platform: _Platform) -> dict:
    """The packs, cases and lot quantities a custody event moves, canonical."""
    listed = raw.get("childEPCs" if raw["type"] == "AggregationEvent" else "epcList") or []
    quantities = raw.get(
        "childQuantityList" if raw["type"] == "AggregationEvent" else "quantityList"
    )
    if len(listed) > MAX_EPCS_PER_EVENT:
        raise ValueError(f"at most {MAX_EPCS_PER_EVENT} EPCs per event")
    sgtins, ssccs = [], []
    for epc in listed:
        if (sgtin := sgtin_of(epc)) and sgtin[0] in platform.products:
            sgtins.append(sgtin)
        elif sscc := sscc_of(epc):
            ssccs.append(sscc)
        else:
            raise ValueError(
                f"{epc} is not a pack or case on the platform; "
                "custody events name only the platform's goods"
            )
    lots: dict[tuple[str, str], int] = {}
    for entry in quantities or ():
        lot = lot_of(entry.get("epcClass", ""))
        if lot is None or lot[0] not in platform.products:
            raise ValueError(f"{entry.get('epcClass')} is not a lot of a product on the platform")
        if kind in ("pack", "unpack"):
            raise ValueError("lot quantities are not packed into cases; name packs or cases")
        lots[lot] = entry.get("quantity")
    parent = None
    if raw["type"] == "AggregationEvent":
        parent = sscc_of(raw.get("parentID") or "")
        if parent is None:
            raise ValueError("parentID must be the SSCC of a case or pallet")
    return {"sgtins": sgtins, "ssccs": ssccs, "lots": lots, "parent": parent}


def _custody_event(event: _Event, platform: _Platform) -> CustodyEvent | None:
    """The event as a custody statement to be; None for an observation."""
    if not platform.manages(event):
        return None
    try:
        kind = _kind(event.raw)
        if kind is None:
            return None
        goods = _goods(event.raw, kind, platform)
    except ValueError as exc:
        raise CaptureRefused(str(exc), event.index, event.event_id) from None
    return CustodyEvent(event.index, event.event_id, event.raw, kind, **goods)


def _runs(events: list[CustodyEvent]) -> list[list[CustodyEvent]]:
    """Consecutive events in which no pack, case or lot appears twice."""
    runs, run, named = [], [], set()
    for event in events:
        if named & event.named():
            runs.append(run)
            run, named = [], set()
        run.append(event)
        named |= event.named()
    return [*runs, run] if run else runs


def _body(org: Organisation, event: CustodyEvent, ahead: dict) -> dict:
    if event.kind == "commission":
        return custody.commission_body(org, event, ahead["products"], ahead["packs"])
    if event.kind in SHIPPING_KINDS:
        return custody.ship_body(org, event, ahead["receivers"])
    if event.kind == "receive":
        return custody.receive_body(org, event, ahead["packs"], ahead["cases"])
    return custody.move_body(event)


def _ahead(run: list[CustodyEvent], products: dict) -> dict:
    """What building the run's bodies needs, read for the whole run: the packs
    that commissioning and receiving look up, the cases receiving looks up,
    the receivers that shipping names."""
    looked_up = [e for e in run if e.kind in ("commission", "receive")]
    return {
        "products": products,
        "packs": packs_by_sgtin(itertools.chain.from_iterable(e.sgtins for e in looked_up)),
        "cases": custody.cases_by_sscc(
            itertools.chain.from_iterable(e.ssccs for e in run if e.kind == "receive")
        ),
        "receivers": projections.organisations_by_gln(
            custody.destination_gln_or_none(e.raw) for e in run if e.kind in SHIPPING_KINDS
        ),
    }


def _signed(org: Organisation, run: list[CustodyEvent], sign, ahead: dict) -> list:
    signed = []
    for event in run:
        try:
            signed.append(sign(event.kind, _body(org, event, ahead)))
        except (CustodyRefused, StatementError) as exc:
            raise CaptureRefused(str(exc), event.index, event.event_id) from None
    return signed


def _run_append(org: Organisation, run: list[CustodyEvent], sign, products: dict) -> None:
    """Build, sign, check and append one run of custody events."""
    signed = _signed(org, run, sign, _ahead(run, products))
    # Signers and keys are checked as for any statement; the signatures, sealed by
    # sign_canonical over the very bytes appended, are not verified again.
    signatures = SignatureCheck(signed)
    moves = [(e, s) for e, s in zip(run, signed, strict=True) if e.kind != "commission"]
    checked = None
    try:
        if moves:
            checked = custody_check(org, [s for _, s in moves])
    except StatementRejected as exc:
        event = moves[exc.position][0]
        raise CaptureRefused(exc.reason, event.index, event.event_id) from None
    try:
        keys = signatures.keys()  # nothing is written before every signer is checked
        # Reusing what the rules read; the append checks keys and names again
        # under the ledger lock, and refuses the same way.
        statements_append(signed, keys=keys, checked=checked)
    except StatementRejected as exc:
        event = run[exc.position]
        raise CaptureRefused(exc.reason, event.index, event.event_id) from None


def _observations_save(org: Organisation, job: CaptureJob, events: list[_Event]) -> None:
    index.observations_save(
        [({**event.raw, "eventID": event.event_id}, event.time) for event in events],
        captured_by_id=org.pk,
        capture_id=job.pk,
    )


def _document_events(document) -> list:
    """The document's events, once it is known to be small enough, storable and
    valid (checked in that order: the first two are cheap)."""
    events = schema.events_of(document) if isinstance(document, dict) else []
    if len(events) > MAX_EVENTS:
        raise CaptureTooLarge(
            f"at most {MAX_EVENTS:,} events per capture; this has {len(events):,}"
        )
    if found := storable.first_problem(document, events):
        raise CaptureRefused(found[1], found[0])  # not by eventID: it may be the problem
    try:
        schema.document_check(document)
    except schema.SchemaProblem as exc:
        raise CaptureRefused(exc.message, exc.index, exc.event_id) from None
    return events


def epcis_capture(*, organisation: Organisation, document) -> CaptureJob:
    """Capture `document` for `organisation`: a CaptureJob, or CaptureRefused."""
    with garbage_collection_paused(), transaction.atomic():
        raw_events = _document_events(document)
        try:
            return _capture(organisation, raw_events)
        except CapturedMeanwhile:
            # Once more: what the other capture stored is a duplicate now.
            return _capture(organisation, raw_events)


def _capture(organisation: Organisation, raw_events: list) -> CaptureJob:
    """Capture the events not captured before; CapturedMeanwhile when another
    capture stored some of them since they were read, whatever that broke (a rule
    its events already applied, or the eventID's uniqueness)."""
    events, duplicates = _new_events(raw_events)
    try:
        with transaction.atomic():
            return _capture_new(organisation, raw_events, events, duplicates)
    except (CaptureRefused, IntegrityError):
        fresh = [e.event_id for e in events]
        if EpcisEvent.objects.filter(event_id__any_of=fresh).exists():
            raise CapturedMeanwhile from None
        raise


def _capture_new(
    organisation: Organisation, raw_events: list, events: list[_Event], duplicates: int
) -> CaptureJob:
    gtins = {gtin for e in events for gtin, _ in [*e.sgtins, *e.lots]}
    ssccs = {sscc for e in events for sscc in e.ssccs}
    platform = _Platform(
        products={p.gtin: p for p in Product.objects.filter(gtin__in=gtins)},
        cases=set(Case.objects.filter(sscc__in=ssccs).values_list("sscc", flat=True)),
    )
    custody_events, observations = [], []
    for event in events:
        move = _custody_event(event, platform)
        if move and move.kind == "pack":  # later events may name the new case
            platform.cases.add(move.parent)
        (custody_events if move else observations).append(move or event)
    job = CaptureJob.objects.create(
        organisation=organisation,
        event_count=len(raw_events),
        custody_count=len(custody_events),
        observation_count=len(observations),
        duplicate_count=duplicates,
    )
    if custody_events:
        try:
            sign = custodial_signer(organisation)
        except KeyRefused as exc:
            first = custody_events[0]
            raise CaptureRefused(str(exc), first.index, first.event_id) from None
        for run in _runs(custody_events):
            _run_append(organisation, run, sign, platform.products)
    _observations_save(organisation, job, observations)
    job.finished_at = timezone.now()
    job.save(update_fields=["finished_at"])
    return job
