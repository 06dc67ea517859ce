"""Recalls: a regulator or the product's manufacturer recalls batches; every
organisation that holds or held units answers with signed statements.

- recall.issue: batches, class I/II/III, reason, instructions. Active packs
  become RECALLED: they can no longer be shipped or dispensed, only returned
  to their sender or destroyed (custody_rules). Lot-level batches are
  refused the same moves while recalled.
- recall.amend: supersedes class, reason and instructions. It cannot drop a
  batch or end the recall: a recall is never withdrawn, a mistake is
  corrected by a new statement that everyone can read next to the old one.
- recall.acknowledge, recall.quarantine: a holder has read the recall, or
  has set aside all of its stock of the recalled batches (quarantine counts
  as an acknowledgement too).
- Returning and destroying are the ordinary custody events `return` and
  `destroy`, signed through shipping's services.

Holders are e-mailed once the recall is committed (after the transaction:
a slow mail server must not hold the ledger lock).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.keys import custodial_sign
from traceability.models import (
    Batch,
    BatchEvent,
    Case,
    Holding,
    Organisation,
    Pack,
    Recall,
    RecallResponse,
    Shipment,
    ShipmentLine,
)
from traceability.recall_state import recalled_batch_ids
from traceability.shipping import HOLDING_ROLES, packs_decommission, shipment_create
from traceability.statement_log import statements_append

MAX_REASON = 2000
MAX_INSTRUCTIONS = 4000
MAX_BATCHES = 50


class RecallRefused(CustodyRefused):
    """A recall action that is not allowed; the message names the field or rule."""


def _now_iso() -> str:
    return timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value, field: str, limit: int) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise RecallRefused(f"{field} must be text")
    if not text:
        raise RecallRefused(f"{field} is required")
    if len(text) > limit:
        raise RecallRefused(f"{field} must be at most {limit:,} characters")
    return text


def _details(recall_class, reason, instructions) -> dict:
    if recall_class not in Recall.Class.values:
        raise RecallRefused(f"class must be one of {', '.join(Recall.Class.values)}")
    return {
        "class": recall_class,
        "reason": _text(reason, "reason", MAX_REASON),
        "instructions": _text(instructions, "instructions", MAX_INSTRUCTIONS),
    }


def may_issue(org: Organisation, batch: Batch) -> bool:
    return org.role == Organisation.Role.REGULATOR or batch.product.manufacturer_id == org.pk


@transaction.atomic
def recall_issue(
    *,
    issuer: Organisation,
    batches: Sequence[Batch],
    recall_class: str,
    reason: str,
    instructions: str,
) -> Recall:
    """Recall `batches`; their packs become RECALLED and every holder is notified."""
    if issuer.role not in (Organisation.Role.REGULATOR, Organisation.Role.MANUFACTURER):
        raise RecallRefused(f"a {issuer.role} may not issue a recall")
    if not batches:
        raise RecallRefused("batches: name at least one batch to recall")
    if len(batches) > MAX_BATCHES:
        raise RecallRefused(f"batches: at most {MAX_BATCHES} per recall")
    if len({b.pk for b in batches}) != len(batches):
        raise RecallRefused("batches: a batch is named twice")
    details = _details(recall_class, reason, instructions)
    locked = list(
        Batch.objects.select_for_update()
        .select_related("product")
        .filter(pk__in=[b.pk for b in batches])
        .order_by("pk")
    )
    for batch in locked:
        if not may_issue(issuer, batch):
            raise RecallRefused(
                f"batches: only a regulator or {batch.product.manufacturer.name} may recall "
                f"lot {batch.lot}"
            )
    already = recalled_batch_ids([b.pk for b in locked])
    if already:
        lot = next(b.lot for b in locked if b.pk in already)
        raise RecallRefused(f"batches: lot {lot} is recalled already; amend that recall instead")
    # The recall turns the batches' active packs to RECALLED after it appends.
    # Custody events lock packs first and the ledger second; taking those
    # packs now keeps that order, where taking them after the ledger would
    # deadlock with a shipment of them in flight.
    active = Pack.objects.filter(batch__in=locked, status=Pack.Status.ACTIVE).order_by("pk")
    list(active.select_for_update().values_list("pk", flat=True))
    public_id = uuid.uuid4()
    body = {
        "recall": str(public_id),
        "batches": [{"gtin": b.product.gtin, "lot": b.lot} for b in locked],
        **details,
        "eventTime": _now_iso(),
    }
    statements_append([custodial_sign(organisation=issuer, kind="recall.issue", body=body)])
    recall = Recall.objects.get(public_id=public_id)
    from traceability.recall_notices import notify_holders  # mail, after the commit

    transaction.on_commit(lambda: notify_holders(recall.pk))
    return recall


def may_amend(org: Organisation, recall: Recall) -> bool:
    return org.role == Organisation.Role.REGULATOR or recall.issuer_id == org.pk


@transaction.atomic
def recall_amend(
    *, org: Organisation, recall: Recall, recall_class: str, reason: str, instructions: str
) -> Recall:
    """Supersede the class, reason and instructions of a recall (never its batches)."""
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if not may_amend(org, recall):
        raise RecallRefused("only the recall's issuer or a regulator may amend it")
    details = _details(recall_class, reason, instructions)
    current = {"class": recall.recall_class, "reason": recall.reason}
    current["instructions"] = recall.instructions
    if details == current:
        raise RecallRefused("the amendment changes nothing")
    body = {"recall": str(recall.public_id), **details, "eventTime": _now_iso()}
    body["supersedes"] = recall.amended_entry or recall.issued_entry
    statements_append([custodial_sign(organisation=org, kind="recall.amend", body=body)])
    recall.refresh_from_db()
    return recall


# -- holders ---------------------------------------------------------------------


def concerned_organisations(recall: Recall) -> QuerySet[Organisation]:
    """Everyone that holds or held units of the recalled batches (or has some on
    their way): the custody index names them."""
    involved = BatchEvent.objects.filter(batch__in=recall.batches.all()).values("organisation")
    return Organisation.objects.filter(pk__in=involved, role__in=HOLDING_ROLES)


def is_concerned(org: Organisation, recall: Recall) -> bool:
    return concerned_organisations(recall).filter(pk=org.pk).exists()


def recalls_for_holder(org: Organisation) -> QuerySet[Recall]:
    """The recalls in an organisation's inbox: those of batches it handled."""
    handled = BatchEvent.objects.filter(organisation=org).values("batch")
    return Recall.objects.filter(batches__in=handled).distinct().select_related("issuer")


def recalls_visible_to(org: Organisation) -> QuerySet[Recall]:
    """Regulators all; manufacturers those of their products and their inbox; others their inbox."""
    recalls = Recall.objects.select_related("issuer")
    if org.role == Organisation.Role.REGULATOR:
        return recalls
    handled = BatchEvent.objects.filter(organisation=org).values("batch")
    visible = Q(batches__in=handled)
    if org.role == Organisation.Role.MANUFACTURER:
        visible |= Q(batches__product__manufacturer=org)
    return recalls.filter(pk__in=Recall.objects.filter(visible).values("pk"))


def _require_concerned(holder: Organisation, recall: Recall) -> None:
    if holder.role not in HOLDING_ROLES or not is_concerned(holder, recall):
        raise RecallRefused(f"{holder.name} never held units of this recall's batches")


@dataclass
class Stock:
    """What a holder has in hand of a recall's batches."""

    loose: list[Pack]  # packs not in a case
    cases: list[Case]  # top-level cases holding the rest
    lots: dict[Batch, int]  # lot-level units on hand
    case_units: int  # packs inside those cases

    @property
    def units(self) -> int:
        return len(self.loose) + self.case_units + sum(self.lots.values())


def stock_in_hand(holder: Organisation, recall: Recall) -> Stock:
    batches = list(recall.batches.select_related("product"))
    packs = Pack.objects.filter(
        batch__in=batches,
        custodian=holder,
        shipment__isnull=True,
        status__in=[Pack.Status.RECALLED, Pack.Status.ACTIVE],
    ).select_related("case", "case__parent")
    loose, tops, case_units = [], {}, 0
    for pack in packs.order_by("pk"):
        if pack.case is None:
            loose.append(pack)
            continue
        top = pack.case.parent or pack.case
        tops[top.pk] = top
        case_units += 1
    lots = {
        h.batch: h.on_hand
        for h in Holding.objects.filter(batch__in=batches, holder=holder, on_hand__gt=0)
        .select_related("batch__product")
        .order_by("pk")
    }
    return Stock(loose, list(tops.values()), lots, case_units)


def _respond(holder: Organisation, recall: Recall, kind: str, **extra) -> RecallResponse:
    # Answers to one recall queue up here, so the second of two at once sees the first.
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if RecallResponse.objects.filter(
        recall=recall, organisation=holder, kind=kind.removeprefix("recall.")
    ).exists():
        raise RecallRefused(f"{holder.name} has already {kind.removeprefix('recall.')}d this")
    body = {"recall": str(recall.public_id), "eventTime": _now_iso(), **extra}
    statements_append([custodial_sign(organisation=holder, kind=kind, body=body)])
    return RecallResponse.objects.get(
        recall=recall, organisation=holder, kind=kind.removeprefix("recall.")
    )


@transaction.atomic
def recall_acknowledge(*, holder: Organisation, recall: Recall) -> RecallResponse:
    """The holder has read the recall and will act on it."""
    _require_concerned(holder, recall)
    return _respond(holder, recall, "recall.acknowledge")


@transaction.atomic
def recall_quarantine(*, holder: Organisation, recall: Recall) -> RecallResponse:
    """The holder has set aside all its stock of the recalled batches: from now on
    the trace counts what it holds of them as quarantined, not on hand. The
    statement records how many units that was."""
    _require_concerned(holder, recall)
    held = _held_counts(holder, recall)
    quantities = [
        {"epcClass": epcis_shapes.lot_uri(b.product.gtin, b.lot), "quantity": n, "uom": "EA"}
        for b, n in held.items()
        if n
    ]
    return _respond(holder, recall, "recall.quarantine", quantityList=quantities)


def _held_counts(holder: Organisation, recall: Recall) -> dict[Batch, int]:
    batches = list(recall.batches.select_related("product").order_by("pk"))
    counts = dict.fromkeys(batches, 0)
    in_hand = Pack.objects.filter(
        batch__in=batches,
        custodian=holder,
        shipment__isnull=True,
        status__in=[Pack.Status.RECALLED, Pack.Status.ACTIVE],
    )
    by_batch = {row["batch"]: row["n"] for row in _count_by_batch(in_hand)}
    for holding in Holding.objects.filter(batch__in=batches, holder=holder):
        by_batch[holding.batch_id] = by_batch.get(holding.batch_id, 0) + holding.on_hand
    for batch in batches:
        counts[batch] = by_batch.get(batch.pk, 0)
    return counts


def _count_by_batch(packs):
    return packs.values("batch").annotate(n=Count("pk"))


@transaction.atomic
def recall_destroy(*, holder: Organisation, recall: Recall) -> int:
    """Destroy everything the holder has in hand of the recalled batches; the units destroyed."""
    _require_concerned(holder, recall)
    stock = stock_in_hand(holder, recall)
    total = stock.units
    if not total:
        raise RecallRefused(f"{holder.name} holds no units of this recall's batches")
    packs_decommission(
        holder=holder,
        status=Pack.Status.DESTROYED,
        sgtins=[(p.gtin, p.serial) for p in stock.loose],
        ssccs=[c.sscc for c in stock.cases],
        lots={(b.product.gtin, b.lot): n for b, n in stock.lots.items()},
    )
    return total


@transaction.atomic
def recall_return(*, holder: Organisation, recall: Recall) -> list[Shipment]:
    """Send everything the holder has in hand of the recalled batches back to
    whoever sent it: one return shipment per sender. The sender receives it as
    recalled stock."""
    _require_concerned(holder, recall)
    stock = stock_in_hand(holder, recall)
    by_sender: dict[int, dict] = {}

    def to(sender_id):
        return by_sender.setdefault(sender_id, {"sgtins": [], "ssccs": [], "lots": {}})

    for pack in stock.loose:
        if pack.received_from_id:
            to(pack.received_from_id)["sgtins"].append((pack.gtin, pack.serial))
    for case in stock.cases:
        if case.received_from_id:
            to(case.received_from_id)["ssccs"].append(case.sscc)
    for batch, on_hand in stock.lots.items():
        for sender_id, quantity in _lot_senders(holder, batch):
            taken = min(on_hand, quantity)
            if taken:
                to(sender_id)["lots"][(batch.product.gtin, batch.lot)] = taken
                on_hand -= taken
    if not by_sender:
        raise RecallRefused(
            f"{holder.name} holds nothing of this recall that came from another organisation: "
            "destroy it instead"
        )
    senders = Organisation.objects.in_bulk(list(by_sender))
    return [
        shipment_create(sender=holder, receiver=senders[sender_id], returning=True, **goods)
        for sender_id, goods in sorted(by_sender.items())
    ]


def _lot_senders(holder: Organisation, batch: Batch) -> list[tuple[int, int]]:
    """Who sent the holder units of a lot-level batch, and how many, most first."""
    rows = (
        ShipmentLine.objects.filter(
            batch=batch, shipment__receiver=holder, shipment__status=Shipment.Status.RECEIVED
        )
        .values("shipment__sender")
        .annotate(n=Sum("quantity"))
        .order_by("-n", "shipment__sender")
    )
    return [(row["shipment__sender"], row["n"]) for row in rows]
