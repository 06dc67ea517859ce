"""What moves: products, batches, serialized packs and shipments (projections of the ledger)."""

import uuid

from django.core.validators import MinValueValidator
from django.db import models

from traceability.gs1 import validate_gs1_text, validate_gtin
from traceability.models.participants import Organisation


class Product(models.Model):
    gtin = models.CharField("GTIN", max_length=14, unique=True, validators=[validate_gtin])
    name = models.CharField(max_length=200)
    manufacturer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="products"
    )
    registered_entry = models.BigIntegerField(help_text="ledger index")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} (GTIN {self.gtin})"


class Batch(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="batches")
    lot = models.CharField(max_length=20, validators=[validate_gs1_text])
    manufactured_on = models.DateField()
    expires_on = models.DateField()
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    created_entry = models.BigIntegerField(help_text="ledger index")

    class Meta:
        ordering = ["product", "lot"]
        verbose_name_plural = "batches"
        constraints = [
            models.UniqueConstraint(fields=["product", "lot"], name="batch_lot_once_per_product"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="batch_quantity_gt_0"),
            models.CheckConstraint(
                condition=models.Q(expires_on__gt=models.F("manufactured_on")),
                name="batch_expires_after_manufacture",
            ),
        ]

    def __str__(self):
        return f"lot {self.lot} of {self.product.name}"


class Pack(models.Model):
    """A serialized pack: (GTIN, serial) is its SGTIN. Status per EU FMD/EMVS."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUPPLIED = "supplied", "supplied (dispensed)"
        DESTROYED = "destroyed"
        RECALLED = "recalled"
        WITHDRAWN = "withdrawn"
        STOLEN = "stolen"
        EXPORTED = "exported"
        SAMPLE = "sample"
        LOCKED = "locked"
        EXPIRED = "expired"

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="packs")
    gtin = models.CharField(max_length=14, help_text="copied from the batch's product")
    serial = models.CharField(max_length=20, validators=[validate_gs1_text])
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    custodian = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="packs_held")
    shipment = models.ForeignKey(
        "Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="packs"
    )
    commissioned_entry = models.BigIntegerField(help_text="ledger index")
    last_entry = models.BigIntegerField(help_text="ledger index of the latest event")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gtin", "serial"], name="pack_serial_once_per_gtin")
        ]
        indexes = [models.Index(fields=["custodian", "status"])]

    def __str__(self):
        return f"pack {self.gtin}/{self.serial}"


class Shipment(models.Model):
    """Packs on their way: the sender signed the shipment; custody passes when
    the receiver signs the receipt."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", "in transit"
        RECEIVED = "received"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sender = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="shipments_sent"
    )
    receiver = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="shipments_received"
    )
    status = models.CharField(max_length=12, choices=Status, default=Status.IN_TRANSIT)
    pack_count = models.PositiveIntegerField()
    shipped_entry = models.BigIntegerField(help_text="ledger index")
    received_entry = models.BigIntegerField(null=True, help_text="ledger index")
    shipped_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-shipped_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(sender=models.F("receiver")), name="shipment_not_to_self"
            )
        ]

    def __str__(self):
        return f"shipment {self.public_id} from {self.sender.name} to {self.receiver.name}"


class BatchEvent(models.Model):
    """Which ledger entries are about which batch, and who took part: the
    per-batch event index behind custody histories and entry visibility."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="events")
    entry = models.BigIntegerField(help_text="ledger index")
    kind = models.CharField(max_length=40)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="batch_events",
        help_text="the party that signed or received",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "entry", "organisation"], name="batch_event_once"
            )
        ]
        indexes = [models.Index(fields=["organisation", "batch"]), models.Index(fields=["entry"])]

    def __str__(self):
        return f"{self.kind} #{self.entry} of {self.batch}"
