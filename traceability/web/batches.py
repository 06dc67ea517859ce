"""The batch page: what the batch is, who holds its packs, and its custody
history straight from the ledger, each entry's signature checked."""

from django.shortcuts import get_object_or_404, render

from manufacturers.labels import LAYOUTS
from manufacturers.selectors import batches_for_labels
from traceability.models import Organisation, Pack
from traceability.web import reads
from traceability.web.access import organisation_required
from traceability.web.paging import paginate

HISTORY_PER_PAGE = 25
STATE_LABELS = {
    "in_stock": "in stock",
    "in_transit": "in transit",
    **{
        status.value: status.label.lower() for status in Pack.Status if status != Pack.Status.ACTIVE
    },
}


@organisation_required()
def batch_detail(request, org: Organisation, gtin: str, lot: str):
    batch = get_object_or_404(reads.batches_visible_to(org), product__gtin=gtin, lot=lot)
    holdings = reads.holdings(batch, org)
    states = [s for s in STATE_LABELS if any(s in h.counts for h in holdings)]
    totals = {s: sum(h.counts.get(s, 0) for h in holdings) for s in states}
    rows = [(h.organisation, [h.counts.get(s, 0) for s in states], h.total) for h in holdings]

    history = paginate(request, reads.batch_history(batch), per_page=HISTORY_PER_PAGE)
    entries = [record.entry for record in history]
    checked = reads.entries_checked(entries)
    parties = reads.entry_parties(batch, entries)
    units = reads.entry_units(batch, checked)
    for record in history:
        record.label = reads.kind_label(record.kind)
        record.check = checked.get(record.entry)
        record.others = [o for o in parties.get(record.entry, []) if o != record.organisation]
        record.packs = units.get(record.entry, 0)

    context = {
        "batch": batch,
        "org": org,
        "sees_every_holder": reads.sees_every_holder(org, batch),
        "states": [STATE_LABELS[s] for s in states],
        "totals": [totals[s] for s in states],
        "holdings": rows,
        "history": history,
        "my_stock": reads.packs_in_stock(org).filter(batch=batch).count(),
        "label_layouts": LAYOUTS if batches_for_labels(org).filter(pk=batch.pk).exists() else None,
    }
    return render(request, "traceability/batch.html", context)
