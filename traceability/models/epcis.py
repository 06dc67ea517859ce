"""EPCIS events the platform answers queries about, and capture jobs.

An EpcisEvent is either a custody event (`entry` set: a projection of that
ledger statement, rebuilt with the others) or an observation (`entry` empty:
an event about objects the platform does not manage, kept as captured).
"""

import uuid

from django.db import models

from traceability.models.participants import Organisation


class CaptureJob(models.Model):
    """One accepted POST /epcis/capture. Capture is all or nothing, so a job
    that exists succeeded; a refused document leaves no job behind."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="capture_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)
    event_count = models.PositiveIntegerField(help_text="events in the document")
    custody_count = models.PositiveIntegerField(default=0, help_text="became ledger statements")
    observation_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(
        default=0, help_text="eventIDs captured before: accepted, not stored twice"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"capture {self.public_id} by {self.organisation.name}"


class EpcisEvent(models.Model):
    class Role(models.TextChoices):
        CUSTODY = "custody"
        OBSERVATION = "observation"

    event_id = models.CharField(max_length=500, help_text="EPCIS eventID (unique, see Meta)")
    role = models.CharField(max_length=12, choices=Role)
    event_type = models.CharField(max_length=40)
    action = models.CharField(max_length=10, blank=True)
    biz_step = models.CharField(max_length=200, blank=True)
    disposition = models.CharField(max_length=200, blank=True)
    event_time = models.DateTimeField()
    read_point = models.CharField(max_length=500, blank=True)
    biz_location = models.CharField(max_length=500, blank=True)
    parent_id = models.CharField(max_length=500, blank=True)
    entry = models.BigIntegerField(null=True, unique=True, help_text="ledger index (custody)")
    # Observations only: indexed where set (Meta), not for every custody event.
    captured_by = models.ForeignKey(
        Organisation,
        null=True,
        on_delete=models.PROTECT,
        related_name="observations",
        help_text="who captured an observation",
        db_index=False,
    )
    capture = models.ForeignKey(CaptureJob, null=True, on_delete=models.PROTECT, db_index=False)
    body = models.JSONField(null=True, help_text="an observation as captured")

    class Meta:
        # Every custody statement adds a row; the observation columns are empty
        # on those, so their indexes leave them out.
        indexes = [
            models.Index(fields=["event_time", "id"]),
            models.Index(
                fields=["captured_by", "event_time"],
                condition=models.Q(captured_by__isnull=False),
                name="epcis_event_observed_by",
            ),
            models.Index(
                fields=["capture"],
                condition=models.Q(capture__isnull=False),
                name="epcis_event_capture",
            ),
        ]
        constraints = [
            # A constraint rather than unique=True: no second, LIKE index on eventIDs.
            models.UniqueConstraint(fields=["event_id"], name="epcis_event_id_once"),
            models.CheckConstraint(
                condition=(
                    models.Q(role="custody", entry__isnull=False, body__isnull=True)
                    | models.Q(role="observation", entry__isnull=True, body__isnull=False)
                ),
                name="epcis_event_custody_has_entry_observation_has_body",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class EpcisEventEpc(models.Model):
    """The EPCs an event names, canonical (identifiers.epc_canonical), for MATCH_ queries."""

    class Field(models.TextChoices):
        EPC_LIST = "epc", "epcList or childEPCs"
        OTHER = "other", "inputEPCList or outputEPCList"

    # No database constraint: written with its event, a row per EPC per custody
    # event (see models/custody.py); Django cascades deletes.
    event = models.ForeignKey(
        EpcisEvent, on_delete=models.CASCADE, related_name="epcs", db_constraint=False
    )
    epc = models.CharField(max_length=500)
    field = models.CharField(max_length=5, choices=Field)

    class Meta:
        indexes = [models.Index(fields=["epc", "event"])]

    def __str__(self):
        return self.epc
