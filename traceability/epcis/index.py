"""The EPCIS event index: one EpcisEvent row per custody statement (a
projection, rebuilt with the others) or captured observation, and the
canonical EPCs each names, so that queries never parse the ledger to filter."""

from datetime import datetime

from traceability.epcis import export
from traceability.epcis.identifiers import epc_canonical, vocabulary_canonical
from traceability.models import EpcisEvent, EpcisEventEpc

EPC_FIELDS = {
    "epcList": EpcisEventEpc.Field.EPC_LIST,
    "childEPCs": EpcisEventEpc.Field.EPC_LIST,
    "inputEPCList": EpcisEventEpc.Field.OTHER,
    "outputEPCList": EpcisEventEpc.Field.OTHER,
}


def _location(event: dict, name: str) -> str:
    where = event.get(name)
    value = where.get("id") if isinstance(where, dict) else None
    return vocabulary_canonical(value) if isinstance(value, str) else ""


def event_row(event: dict, event_time: datetime, **fields) -> tuple[EpcisEvent, list[tuple]]:
    """An unsaved EpcisEvent for an EPCIS event dict, and its (field, EPC) pairs."""
    row = EpcisEvent(
        event_id=event["eventID"],
        event_type=event["type"],
        action=event.get("action", ""),
        biz_step=vocabulary_canonical(event.get("bizStep", "")),
        disposition=vocabulary_canonical(event.get("disposition", "")),
        event_time=event_time,
        read_point=_location(event, "readPoint"),
        biz_location=_location(event, "bizLocation"),
        parent_id=epc_canonical(event["parentID"]) if event.get("parentID") else "",
        **fields,
    )
    epcs = {
        (field, epc_canonical(epc))
        for name, field in EPC_FIELDS.items()
        for epc in event.get(name) or ()
        if isinstance(epc, str)
    }
    return row, sorted(epcs)


def rows_save(rows: list[tuple[EpcisEvent, list[tuple]]]) -> None:
    EpcisEvent.objects.bulk_create([row for row, _ in rows])  # sets primary keys
    EpcisEventEpc.objects.bulk_create(
        EpcisEventEpc(event_id=row.pk, field=field, epc=epc)
        for row, epcs in rows
        for field, epc in epcs
    )


def custody_events_index(batch) -> None:
    """Index the custody statements among appended (statement, entry) pairs."""
    rows = []
    for signed, entry in batch:
        if signed.kind in export.CUSTODY_KINDS:
            event = export.custody_event(signed, entry)
            when = datetime.fromisoformat(event["eventTime"])
            rows.append(event_row(event, when, role=EpcisEvent.Role.CUSTODY, entry=entry))
    if rows:
        rows_save(rows)


def custody_events_clear() -> None:
    """Before a rebuild: drop the custody rows (observations are not on the ledger)."""
    custody = EpcisEvent.objects.filter(role=EpcisEvent.Role.CUSTODY)
    EpcisEventEpc.objects.filter(event__in=custody).delete()
    custody.delete()
