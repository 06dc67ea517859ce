"""What verification leaves behind: the per-pack event index and the alerts inbox."""

from django.db import models

from traceability.models.custody import Pack
from traceability.models.participants import Organisation


class PackEvent(models.Model):
    """Which ledger entries after its commissioning are about a pack (a projection):
    the pack's custody chain is its commissioned entry followed by these."""

    # Indexed by the (pack, entry) constraint, whose first column it is.
    # No database constraint: a custody event's index row (see models/custody.py).
    pack = models.ForeignKey(
        Pack, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    entry = models.BigIntegerField(help_text="ledger index")
    kind = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pack", "entry"], name="pack_event_once")]

    def __str__(self):
        return f"{self.kind} #{self.entry} of {self.pack}"


class Alert(models.Model):
    """A non-authentic verification, or a pharmacy's suspect-product report.

    Not a projection: it is not rebuilt from the ledger, so it names the pack
    by GTIN and serial rather than by a row that a rebuild replaces.
    """

    class Status(models.TextChoices):
        NEW = "new"
        INVESTIGATING = "investigating"
        FALSE_POSITIVE = "closed_false_positive", "closed: false positive"
        FALSIFIED = "closed_falsified", "closed: confirmed falsified"

    code = models.CharField(max_length=8, help_text="EMVS-like alert code, e.g. A24")
    verdict = models.CharField(max_length=24)
    reasons = models.JSONField(default=list)
    gtin = models.CharField(max_length=14, blank=True)
    serial = models.CharField(max_length=20, blank=True)
    lot = models.CharField(max_length=20, blank=True, help_text="as scanned")
    expiry = models.DateField(null=True, blank=True, help_text="as scanned")
    scanned_code = models.CharField(max_length=512, blank=True)
    scanner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="alerts_raised"
    )
    manufacturer = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts_on_products",
        help_text="the product's manufacturer, when the GTIN is known",
    )
    raised_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    scans = models.PositiveIntegerField(default=1, help_text="repeat scans while open")
    status = models.CharField(max_length=24, choices=Status, default=Status.NEW)
    status_changed_by = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, max_length=2000)
    note = models.TextField(blank=True, max_length=2000, help_text="the reporter's words")
    photo = models.BinaryField(null=True, blank=True, editable=False)
    photo_type = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [
            models.Index(fields=["manufacturer", "status"]),
            models.Index(fields=["scanner", "gtin", "serial"]),
        ]

    def __str__(self):
        return f"alert {self.code} {self.verdict} {self.gtin}/{self.serial}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.NEW, self.Status.INVESTIGATING)
