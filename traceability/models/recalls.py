"""Recalls (projections of recall.* statements) and the e-mails sent about them."""

import uuid

from django.db import models

from traceability.models.custody import Batch
from traceability.models.participants import Organisation


class Recall(models.Model):
    """A signed recall of one or more batches. Never edited by hand: an
    amendment is a later `recall.amend` statement whose class, reason and
    instructions supersede these; nothing un-recalls a batch."""

    class Class(models.TextChoices):
        I = "I", "Class I (serious risk to health)"  # noqa: E741
        II = "II", "Class II (may cause temporary harm)"
        III = "III", "Class III (unlikely to cause harm)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issuer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="recalls_issued"
    )
    batches = models.ManyToManyField(Batch, related_name="recalls")
    recall_class = models.CharField(max_length=3, choices=Class)
    reason = models.TextField(max_length=2000)
    instructions = models.TextField(max_length=4000)
    issued_entry = models.BigIntegerField(help_text="ledger index")
    issued_at = models.DateTimeField()
    amended_entry = models.BigIntegerField(
        null=True, help_text="ledger index of the latest amendment"
    )
    amended_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]

    def __str__(self):
        return f"class {self.recall_class} recall {self.public_id}"


class RecallResponse(models.Model):
    """A holder's signed answer to a recall: acknowledged, or its stock quarantined."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "acknowledged"
        QUARANTINE = "quarantine", "quarantined its stock"

    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="responses")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="recall_responses"
    )
    kind = models.CharField(max_length=12, choices=Kind)
    entry = models.BigIntegerField(help_text="ledger index")
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["entry"]
        constraints = [
            models.UniqueConstraint(
                fields=["recall", "organisation", "kind"], name="recall_response_once"
            )
        ]

    def __str__(self):
        return f"{self.organisation} {self.get_kind_display()} {self.recall}"


class RecallNotice(models.Model):
    """Who was e-mailed about a recall (not a projection: e-mails are not on the
    ledger, so a rebuild leaves these alone)."""

    recall_public_id = models.UUIDField(db_index=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipients = models.PositiveIntegerField(help_text="addresses the e-mail went to")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recall_public_id", "organisation"], name="recall_notice_once"
            )
        ]

    def __str__(self):
        return f"notice of {self.recall_public_id} to {self.organisation}"
