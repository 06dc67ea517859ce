"""Recall statements applied to the projections (registered with
projections.applies_to, so a rebuild replays them like the live path).

recall.issue sets every active pack of the recalled batches to RECALLED;
packs already dispensed, destroyed or stolen keep their status. Nothing
sets a pack back: an amendment changes only class, reason and instructions.
"""

from datetime import datetime

from traceability.models import Batch, BatchEvent, Organisation, Pack, Recall, RecallResponse
from traceability.projections import applies_to
from traceability.statements import SignedStatement


def _when(body: dict) -> datetime:
    return datetime.fromisoformat(body["eventTime"])


def _batches(body: dict) -> list[Batch]:
    wanted = {(item["gtin"], item["lot"]) for item in body["batches"]}
    found = Batch.objects.filter(product__gtin__in={g for g, _ in wanted}).select_related("product")
    return [b for b in found if (b.product.gtin, b.lot) in wanted]


def _index(batch_ids, entry: int, kind: str, org: Organisation) -> None:
    BatchEvent.objects.bulk_create(
        [BatchEvent(batch_id=b, entry=entry, kind=kind, organisation=org) for b in batch_ids],
        ignore_conflicts=True,
    )


@applies_to("recall.issue")
def _recall_issued(signed: SignedStatement, entry: int) -> None:
    body = signed.body
    issuer = Organisation.objects.get(gln=signed.signer_org)
    recall = Recall.objects.create(
        public_id=body["recall"],
        issuer=issuer,
        recall_class=body["class"],
        reason=body["reason"],
        instructions=body["instructions"],
        issued_entry=entry,
        issued_at=_when(body),
    )
    batches = _batches(body)
    recall.batches.set(batches)
    Pack.objects.filter(batch__in=batches, status=Pack.Status.ACTIVE).update(
        status=Pack.Status.RECALLED
    )
    _index([b.pk for b in batches], entry, signed.kind, issuer)


@applies_to("recall.amend")
def _recall_amended(signed: SignedStatement, entry: int) -> None:
    body = signed.body
    recall = Recall.objects.get(public_id=body["recall"])
    recall.recall_class, recall.reason = body["class"], body["reason"]
    recall.instructions = body["instructions"]
    recall.amended_entry, recall.amended_at = entry, _when(body)
    recall.save(
        update_fields=["recall_class", "reason", "instructions", "amended_entry", "amended_at"]
    )
    signer = Organisation.objects.get(gln=signed.signer_org)
    _index(recall.batches.values_list("pk", flat=True), entry, signed.kind, signer)


@applies_to("recall.acknowledge", "recall.quarantine")
def _recall_answered(signed: SignedStatement, entry: int) -> None:
    recall = Recall.objects.get(public_id=signed.body["recall"])
    holder = Organisation.objects.get(gln=signed.signer_org)
    RecallResponse.objects.create(
        recall=recall,
        organisation=holder,
        kind=signed.kind.removeprefix("recall."),
        entry=entry,
        issued_at=_when(signed.body),
    )
    _index(recall.batches.values_list("pk", flat=True), entry, signed.kind, holder)
