"""What moves: products, batches, serialized packs and shipments (projections of the ledger).

The foreign keys that custody events write (where a pack or case is, who
holds it, what a shipment or event index row is about) have no database
constraint (db_constraint=False): a batch of a thousand events writes
thousands of them, and PostgreSQL checked each again at commit, a fifth of
the batch's database time. They are projections: written only from rows read
in the same transaction, never pointing at rows that are deleted outside a
rebuild, and `rebuild_projections --check` compares them with the ledger.
Django still enforces PROTECT and CASCADE on delete.
"""

import uuid

from django.core.validators import MinValueValidator
from django.db import models

from traceability.gs1 import validate_gs1_text, validate_gtin, validate_sscc
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
    serialized = models.BooleanField(
        default=True,
        help_text="serialized packs, or a lot-level quantity that moves by count (see Holding)",
    )
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
    # Indexed by (custodian, status) below. Every custody event rewrites a
    # pack's row and so every index on it: no index that another one covers,
    # none on who it came from (never looked up by), and only the packs in a
    # shipment or a case in those indexes (most packs are in neither).
    custodian = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="packs_held",
        db_index=False,
        db_constraint=False,  # custody keys: see the module's docstring
    )
    shipment = models.ForeignKey(
        "Shipment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="packs",
        db_index=False,
        db_constraint=False,
    )
    case = models.ForeignKey(
        "Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="packs",
        db_index=False,
        db_constraint=False,
    )
    received_from = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        db_constraint=False,
        related_name="+",
        help_text="who shipped it to its custodian: where a return goes",
    )
    commissioned_entry = models.BigIntegerField(help_text="ledger index")
    last_entry = models.BigIntegerField(help_text="ledger index of the latest event")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gtin", "serial"], name="pack_serial_once_per_gtin")
        ]
        indexes = [
            models.Index(fields=["custodian", "status"]),
            models.Index(
                fields=["shipment"],
                condition=models.Q(shipment__isnull=False),
                name="pack_in_shipment",
            ),
            models.Index(
                fields=["case"], condition=models.Q(case__isnull=False), name="pack_in_case"
            ),
        ]

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
        Organisation, on_delete=models.PROTECT, related_name="shipments_sent", db_constraint=False
    )
    receiver = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="shipments_received",
        db_constraint=False,
    )
    status = models.CharField(max_length=12, choices=Status, default=Status.IN_TRANSIT)
    returning = models.BooleanField(default=False, help_text="goods sent back to who sent them")
    pack_count = models.PositiveIntegerField(help_text="serialized packs, loose or in cases")
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

    # Both keys are the first column of an index below: no index of their own.
    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="events", db_index=False, db_constraint=False
    )
    entry = models.BigIntegerField(help_text="ledger index")
    kind = models.CharField(max_length=40)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="batch_events",
        help_text="the party that signed or received",
        db_index=False,
        db_constraint=False,
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


class Case(models.Model):
    """A case or pallet by SSCC. What is packed in it (packs, or cases on a
    pallet) moves with it until it is unpacked."""

    sscc = models.CharField("SSCC", max_length=18, unique=True, validators=[validate_sscc])
    custodian = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="cases_held", db_constraint=False
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_constraint=False,
    )
    shipment = models.ForeignKey(
        Shipment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_constraint=False,
    )
    received_from = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    packed_entry = models.BigIntegerField(help_text="ledger index of the first packing")
    last_entry = models.BigIntegerField(help_text="ledger index of the latest event")

    class Meta:
        ordering = ["sscc"]
        indexes = [models.Index(fields=["custodian", "shipment"])]

    def __str__(self):
        return f"case {self.sscc}"


class Holding(models.Model):
    """Units of a lot-level (non-serialized) batch an organisation has in hand
    and has dispensed or destroyed. In-transit units are ShipmentLines."""

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="holdings", db_constraint=False
    )
    holder = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="holdings", db_constraint=False
    )
    on_hand = models.PositiveIntegerField(default=0)
    dispensed = models.PositiveIntegerField(default=0)
    destroyed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "holder"], name="holding_once_per_holder")
        ]

    def __str__(self):
        return f"{self.on_hand} of {self.batch} at {self.holder}"


class ShipmentLine(models.Model):
    """A lot-level quantity in a shipment."""

    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="lines", db_constraint=False
    )
    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="shipment_lines", db_constraint=False
    )
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "batch"], name="shipment_line_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="shipment_line_quantity_gt_0"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} of {self.batch} in {self.shipment}"
