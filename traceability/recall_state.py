"""Is a batch recalled? Read by the custody rules and the recall services."""

from traceability.models import Batch, Recall


def batch_is_recalled(batch: Batch) -> bool:
    return Recall.objects.filter(batches=batch).exists()


def recalled_batch_ids(batch_ids) -> set[int]:
    return set(
        Recall.batches.through.objects.filter(batch_id__in=batch_ids).values_list(
            "batch_id", flat=True
        )
    )
