"""Capture an EPCIS 2.0 document: all of it, or none of it.

The document is checked against GS1's schema; then each event, in order:
  - an eventID captured before (or earlier in the document) is a duplicate:
    accepted and not stored again;
  - an event naming packs of a product registered on the platform is about
    the platform's packs: commissioning, shipping, receiving, dispensing and
    destroying become custody statements signed with the capturing
    organisation's custodial key and held to the custody rules; other
    events about them are kept as observations; AggregationEvents on them
    are refused until the platform models cases;
  - any other event is an observation.
Custody events are appended in runs: a run ends before an event that names a
pack of the run, so that a later event sees what an earlier one did (ship,
then receive...). Everything happens in one transaction: the first event
that breaks the schema or a rule refuses the document, naming the event.
"""

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime

import rfc8785
from django.db import transaction
from django.utils import timezone

from traceability import projections
from traceability.commissioning import CustodyRefused
from traceability.epcis import custody, index, schema
from traceability.epcis.custody import CustodyEvent
from traceability.epcis.identifiers import cbv_name, sgtin_of
from traceability.ingest import custody_check
from traceability.keys import KeyRefused, custodial_signer
from traceability.models import CaptureJob, EpcisEvent, Organisation, Product
from traceability.statement_log import StatementRejected, statements_append

MAX_EVENTS = 10_000
MAX_EPCS_PER_EVENT = 500  # one event is one ledger entry, which has a size limit
MAX_EVENT_ID = 500
EPC_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
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


@dataclass
class _Event:
    index: int
    raw: dict
    event_id: str
    time: datetime
    sgtins: list[tuple[str, str]]  # every serialized item it names, in any EPC field


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
    return when


def _named_epcs(raw: dict) -> list[str]:
    epcs = [epc for name in EPC_FIELDS for epc in raw.get(name) or ()]
    return epcs + ([raw["parentID"]] if raw.get("parentID") else [])


def _parsed(position: int, raw: dict) -> _Event:
    event_id = _event_id(raw)
    try:
        if len(event_id) > MAX_EVENT_ID:
            raise ValueError(f"eventID is longer than {MAX_EVENT_ID} characters")
        time = _event_time(raw)
    except ValueError as exc:
        raise CaptureRefused(str(exc), position, event_id) from None
    sgtins = [s for s in map(sgtin_of, _named_epcs(raw)) if s]
    return _Event(position, raw, event_id, time, sgtins)


def _new_events(raw_events: list) -> tuple[list[_Event], int]:
    """The events not captured before, and how many were duplicates."""
    events, seen = [], set()
    for position, raw in enumerate(raw_events):
        event = _parsed(position, raw)
        if event.event_id not in seen:
            seen.add(event.event_id)
            events.append(event)
    known = set(EpcisEvent.objects.filter(event_id__in=seen).values_list("event_id", flat=True))
    fresh = [e for e in events if e.event_id not in known]
    return fresh, len(raw_events) - len(fresh)


def _custody_event(event: _Event, products: dict) -> CustodyEvent | None:
    """The event as a custody move of platform packs; None for an observation."""
    if not any(gtin in products for gtin, _ in event.sgtins):
        return None
    raw, where = event.raw, (event.index, event.event_id)
    if raw["type"] == "AggregationEvent":
        raise CaptureRefused("AggregationEvents on the platform's packs are not supported", *where)
    biz_step = cbv_name(raw.get("bizStep", ""))
    if raw["type"] != "ObjectEvent" or biz_step not in custody.CUSTODY_STEPS:
        return None
    kind, actions, dispositions = custody.CUSTODY_STEPS[biz_step]
    disposition = cbv_name(raw.get("disposition", ""))
    epcs = raw.get("epcList") or []
    sgtins = [sgtin_of(epc) for epc in epcs]
    if raw["action"] not in actions:
        problem = f"{biz_step} takes action {' or '.join(sorted(actions))}, not {raw['action']}"
    elif disposition and disposition not in dispositions:
        problem = f"{biz_step} takes disposition {' or '.join(sorted(dispositions))}"
    elif raw.get("childEPCs") or raw.get("quantityList") or not epcs:
        problem = f"{biz_step} of platform packs lists each pack in epcList, and only there"
    elif len(epcs) > MAX_EPCS_PER_EVENT:
        problem = f"at most {MAX_EPCS_PER_EVENT} EPCs per event"
    elif not all(s and s[0] in products for s in sgtins):
        problem = "epcList mixes the platform's packs with objects it does not manage"
    elif len(set(sgtins)) != len(sgtins):
        problem = "epcList names a pack twice"
    else:
        return CustodyEvent(event.index, event.event_id, raw, kind, sgtins)
    raise CaptureRefused(problem, *where)


def _runs(events: list[CustodyEvent]) -> list[list[CustodyEvent]]:
    """Consecutive events in which no pack appears twice."""
    runs, run, named = [], [], set()
    for event in events:
        if named.intersection(event.sgtins):
            runs.append(run)
            run, named = [], set()
        run.append(event)
        named.update(event.sgtins)
    return [*runs, run] if run else runs


def _run_append(org: Organisation, run: list[CustodyEvent], sign, products: dict) -> None:
    """Build, sign, check and append one run of custody events."""
    sgtins = itertools.chain.from_iterable(e.sgtins for e in run)
    packs = projections.packs_by_sgtin(sgtins)
    receivers = projections.organisations_by_gln(
        custody.destination_gln_or_none(e.raw) for e in run if e.kind == "ship"
    )
    signed = []
    for event in run:
        try:
            if event.kind == "commission":
                body = custody.commission_body(org, event, products, packs)
            elif event.kind == "ship":
                body = custody.ship_body(org, event, receivers)
            elif event.kind == "receive":
                body = custody.receive_body(org, event, packs)
            else:
                body = custody.move_body(event)
        except CustodyRefused as exc:
            raise CaptureRefused(str(exc), event.index, event.event_id) from None
        signed.append(sign(event.kind, body))
    moves = [(e, s) for e, s in zip(run, signed, strict=True) if e.kind != "commission"]
    try:
        custody_check(org, [s for _, s in moves])
        statements_append(signed)
    except StatementRejected as exc:
        event = moves[exc.position][0] if moves and exc.position < len(moves) else run[0]
        raise CaptureRefused(exc.reason, event.index, event.event_id) from None


def _observations_save(org: Organisation, job: CaptureJob, events: list[_Event]) -> None:
    rows = []
    for event in events:
        body = {**event.raw, "eventID": event.event_id}
        rows.append(
            index.event_row(
                body,
                event.time,
                role=EpcisEvent.Role.OBSERVATION,
                captured_by=org,
                capture=job,
                body=body,
            )
        )
    index.rows_save(rows)


def _document_events(document) -> list:
    try:
        schema.document_check(document)
    except schema.SchemaProblem as exc:
        raise CaptureRefused(exc.message, exc.index, exc.event_id) from None
    events = schema.events_of(document)
    if len(events) > MAX_EVENTS:
        raise CaptureTooLarge(
            f"at most {MAX_EVENTS:,} events per capture; this has {len(events):,}"
        )
    return events


@transaction.atomic
def epcis_capture(*, organisation: Organisation, document) -> CaptureJob:
    """Capture `document` for `organisation`: a CaptureJob, or CaptureRefused."""
    raw_events = _document_events(document)
    events, duplicates = _new_events(raw_events)
    gtins = {gtin for event in events for gtin, _ in event.sgtins}
    products = {p.gtin: p for p in Product.objects.filter(gtin__in=gtins)}
    custody_events, observations = [], []
    for event in events:
        move = _custody_event(event, products)
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
            _run_append(organisation, run, sign, products)
    _observations_save(organisation, job, observations)
    job.finished_at = timezone.now()
    job.save(update_fields=["finished_at"])
    return job
