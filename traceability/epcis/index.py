"""The EPCIS event index: one EpcisEvent row per custody statement (a
projection, rebuilt with the others) or captured observation, and the
canonical EPCs each names, so that queries never parse the ledger to filter."""

import functools
from datetime import datetime

from traceability.bulk_sql import insert_rows, insert_rows_with_ids
from traceability.epcis import export
from traceability.epcis.identifiers import epc_canonical, vocabulary_canonical
from traceability.models import EpcisEvent, EpcisEventEpc

EPC_FIELDS = {
    "epcList": EpcisEventEpc.Field.EPC_LIST,
    "childEPCs": EpcisEventEpc.Field.EPC_LIST,
    "inputEPCList": EpcisEventEpc.Field.OTHER,
    "outputEPCList": EpcisEventEpc.Field.OTHER,
}
INDEXED_FIELDS = [  # as _indexed names them
    "event_id",
    "event_type",
    "action",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "parent_id",
]
CUSTODY_COLUMNS = [*INDEXED_FIELDS, "event_time", "role", "entry"]
OBSERVATION_COLUMNS = [
    *INDEXED_FIELDS,
    "event_time",
    "role",
    "captured_by_id",
    "capture_id",
    "body",
]


def _location(event: dict, name: str) -> str:
    where = event.get(name)
    value = where.get("id") if isinstance(where, dict) else None
    return _vocabulary(value) if isinstance(value, str) else ""


# A handful of bizSteps, dispositions and places recur across thousands of events.
_vocabulary = functools.lru_cache(maxsize=4096)(vocabulary_canonical)


def _indexed(event: dict) -> tuple[tuple, list[tuple]]:
    """The values of INDEXED_FIELDS for an event, and its sorted (field, EPC) pairs."""
    values = (
        event["eventID"],
        event["type"],
        event.get("action", ""),
        _vocabulary(event.get("bizStep", "")),
        _vocabulary(event.get("disposition", "")),
        _location(event, "readPoint"),
        _location(event, "bizLocation"),
        epc_canonical(event["parentID"]) if event.get("parentID") else "",
    )
    epcs = {
        (field, epc_canonical(epc))
        for name, field in EPC_FIELDS.items()
        for epc in event.get(name) or ()
        if isinstance(epc, str)
    }
    return values, sorted(epcs)


def observations_save(events, *, captured_by_id: int, capture_id: int) -> None:
    """Index captured observations: (event dict with its eventID, event time) pairs,
    each kept whole as its row's body."""
    rows, epcs = [], []
    for event, when in events:
        values, its_epcs = _indexed(event)
        rows.append((*values, when, EpcisEvent.Role.OBSERVATION, captured_by_id, capture_id, event))
        epcs.append(its_epcs)
    _rows_save(OBSERVATION_COLUMNS, rows, epcs)


def _rows_save(columns: list[str], rows: list[tuple], epcs: list[list[tuple]]) -> None:
    ids = insert_rows_with_ids(EpcisEvent, columns, rows)
    pairs = [
        (pk, field, epc) for pk, its_epcs in zip(ids, epcs, strict=True) for field, epc in its_epcs
    ]
    insert_rows(EpcisEventEpc, ["event_id", "field", "epc"], pairs)


def custody_events_index(batch) -> None:
    """Index the custody statements among appended (statement, entry) pairs.

    Each row holds what export.custody_event would say about the statement:
    the indexed fields are the body's own, so the full event is not built,
    and the rows go straight to the database, a thousand events at a time
    being the statement API's common case."""
    rows, epcs = [], []
    for signed, entry in batch:
        if signed.kind in export.CUSTODY_KINDS:
            body = signed.body
            values, its_epcs = _indexed({**body, "eventID": export.event_id_of(signed)})
            when = datetime.fromisoformat(body["eventTime"])
            rows.append((*values, when, EpcisEvent.Role.CUSTODY, entry))
            epcs.append(its_epcs)
    _rows_save(CUSTODY_COLUMNS, rows, epcs)


def custody_events_clear() -> None:
    """Before a rebuild: drop the custody rows (observations are not on the ledger)."""
    custody = EpcisEvent.objects.filter(role=EpcisEvent.Role.CUSTODY)
    EpcisEventEpc.objects.filter(event__in=custody).delete()
    custody.delete()
