"""A batch trace as JSON, CSV and a PDF a regulator can file (reportlab)."""

import csv
import io

from traceability.trace import BUCKETS, Trace, Transfer


def _party(org) -> dict:
    return {"name": org.name, "gln": org.gln}


def _when(value) -> str | None:
    return value.isoformat() if value else None


def transfer_json(t: Transfer) -> dict:
    return {
        "from": _party(t.sender),
        "to": _party(t.receiver),
        "returning": t.returning,
        "units_shipped": t.shipped,
        "units_received": t.received,
        "first_shipped_at": _when(t.first_shipped_at),
        "last_received_at": _when(t.last_received_at),
        "shipped_entries": t.shipped_entries,
        "received_entries": t.received_entries,
    }


def trace_json(trace: Trace) -> dict:
    batch = trace.batch
    recalls = list(batch.recalls.order_by("issued_entry"))
    return {
        "batch": {
            "gtin": batch.product.gtin,
            "lot": batch.lot,
            "product": batch.product.name,
            "manufacturer": _party(batch.product.manufacturer),
            "quantity": batch.quantity,
            "serialized": batch.serialized,
            "manufactured_on": batch.manufactured_on.isoformat(),
            "expires_on": batch.expires_on.isoformat(),
            "recalled": bool(recalls),
        },
        "recalls": [
            {
                "id": str(r.public_id),
                "class": r.recall_class,
                "reason": r.reason,
                "instructions": r.instructions,
                "issued_by": _party(r.issuer),
                "issued_at": _when(r.issued_at),
                "issued_entry": r.issued_entry,
                "amended_entry": r.amended_entry,
            }
            for r in recalls
        ],
        "holders": [
            {
                "org": h.org.name,
                "gln": h.org.gln,
                "role": h.org.role,
                **h.counts,
                "path": [transfer_json(t) for t in h.path],
            }
            for h in trace.holders
        ],
        "totals": trace.totals(),
        "unaccounted": trace.unaccounted,
        "transfers": [transfer_json(t) for t in trace.transfers],
        "checkpoint": {
            "size": trace.checkpoint.size,
            "root": trace.checkpoint.root_b64,
            "note": trace.checkpoint.note,
        },
        "computed_at": _when(trace.computed_at),
    }


def _path_text(path: list[Transfer]) -> str:
    return " > ".join(
        [path[0].sender.name, *(f"{t.receiver.name} (#{min(t.shipped_entries)})" for t in path)]
        if path
        else []
    )


def trace_csv(trace: Trace) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    batch = trace.batch
    writer.writerow(["organisation", "gln", "role", *BUCKETS, "path from the manufacturer"])
    for h in trace.holders:
        counts = [h.counts[b] for b in BUCKETS]
        writer.writerow([h.org.name, h.org.gln, h.org.role, *counts, _path_text(h.path)])
    writer.writerow(["unaccounted", "", "", trace.unaccounted])
    writer.writerow(
        ["batch", batch.product.gtin, batch.lot, batch.quantity, "checkpoint",
         trace.checkpoint.size, trace.checkpoint.root_b64]
    )  # fmt: skip
    return out.getvalue()
