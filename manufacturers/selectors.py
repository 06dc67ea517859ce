"""What a manufacturer's screens read, scoped to who asks."""

from collections.abc import Iterator

from django.db.models import QuerySet

from manufacturers.labels import PackLabel
from traceability.models import Batch, Organisation

LABEL_CHUNK = 2_000


def batches_for_labels(org: Organisation | None) -> QuerySet[Batch]:
    """Batches whose pack labels `org` may print: the product's manufacturer, and
    regulators (who may need to reproduce a label); nobody else."""
    batches = Batch.objects.select_related("product")
    if org is None:
        return batches.none()
    if org.role == Organisation.Role.REGULATOR:
        return batches
    if org.role == Organisation.Role.MANUFACTURER:
        return batches.filter(product__manufacturer=org)
    return batches.none()


def pack_labels_of(batch: Batch) -> Iterator[PackLabel]:
    """Every pack of the batch in commissioning order, read in chunks so a long batch
    never sits in memory as model instances."""
    serials = batch.packs.order_by("pk").values_list("serial", flat=True)
    for serial in serials.iterator(chunk_size=LABEL_CHUNK):
        yield PackLabel(
            product=batch.product.name,
            gtin=batch.product.gtin,
            expiry=batch.expires_on,
            lot=batch.lot,
            serial=serial,
        )
