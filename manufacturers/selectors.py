"""What a manufacturer's screens read, scoped to who asks."""

from collections.abc import Iterator

from django.db.models import Count, QuerySet

from manufacturers.labels import CaseLabel, PackLabel
from traceability.models import Batch, Case, Organisation

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


def cases_for_labels(org: Organisation | None) -> QuerySet[Case]:
    """Cases and pallets (and the cases on them) whose labels `org` may print: those it
    holds and has not shipped; regulators any."""
    cases = Case.objects.annotate(
        loose_packs=Count("packs", distinct=True), inner_cases=Count("cases", distinct=True)
    ).order_by("sscc")
    if org is None:
        return cases.none()
    if org.role == Organisation.Role.REGULATOR:
        return cases
    return cases.filter(custodian=org, shipment__isnull=True)


def case_label(case: Case) -> CaseLabel:
    """The label of a case, captioned with what it holds (a pallet counts its cases)."""
    parts = []
    if case.inner_cases:
        parts.append(f"{case.inner_cases} case{'s' if case.inner_cases != 1 else ''}")
    if case.loose_packs or not parts:
        parts.append(f"{case.loose_packs} pack{'s' if case.loose_packs != 1 else ''}")
    kind = "Pallet" if case.inner_cases else "Case"
    return CaseLabel(sscc=case.sscc, caption=f"{kind}: {' and '.join(parts)}")
