"""How far a recall has come: units accounted for against outstanding, and who
has not answered yet.

Accounted for: units dispensed (their whereabouts are known), destroyed,
returned or quarantined. Outstanding: units still on hand unquarantined, in
transit, or unaccounted (stolen, exported).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from traceability.models import Organisation, Recall, RecallResponse
from traceability.recalls import concerned_organisations
from traceability.trace import BUCKETS, Trace, batch_trace

ACCOUNTED = ("dispensed", "destroyed", "returned", "quarantined")
OUTSTANDING = ("on_hand", "in_transit")


@dataclass
class Progress:
    recall: Recall
    traces: list[Trace]
    accounted: int
    outstanding: int
    total: int
    unanswered: list[Organisation]  # concerned, but neither acknowledged nor quarantined
    answered: dict[int, list[RecallResponse]]  # by organisation id
    since_issue: timedelta

    @property
    def percent(self) -> int:
        return 100 * self.accounted // self.total if self.total else 100


def recall_progress(recall: Recall) -> Progress:
    traces = [batch_trace(b) for b in recall.batches.select_related("product__manufacturer")]
    accounted = sum(t.totals()[b] for t in traces for b in ACCOUNTED)
    outstanding = sum(t.totals()[b] for t in traces for b in OUTSTANDING)
    outstanding += sum(t.unaccounted for t in traces)
    answered: dict[int, list[RecallResponse]] = {}
    for response in recall.responses.order_by("entry"):
        answered.setdefault(response.organisation_id, []).append(response)
    unanswered = list(concerned_organisations(recall).exclude(pk__in=answered).order_by("name"))
    return Progress(
        recall=recall,
        traces=traces,
        accounted=accounted,
        outstanding=outstanding,
        total=sum(t.batch.quantity for t in traces),
        unanswered=unanswered,
        answered=answered,
        since_issue=timezone.now() - recall.issued_at,
    )


def holder_counts(progress: Progress, org: Organisation) -> dict[str, int]:
    """One organisation's numbers across the recall's batches."""
    counts = dict.fromkeys(BUCKETS, 0)
    for trace in progress.traces:
        for holder in trace.holders:
            if holder.org.pk == org.pk:
                for bucket in BUCKETS:
                    counts[bucket] += holder.counts[bucket]
    return counts
