"""Who takes part: organisations, their people, API tokens and signing keys."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from traceability.gs1 import validate_gln


class Organisation(models.Model):
    class Role(models.TextChoices):
        MANUFACTURER = "manufacturer"
        DISTRIBUTOR = "distributor"
        PHARMACY = "pharmacy"
        REGULATOR = "regulator"

    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role)
    gln = models.CharField("GLN", max_length=13, unique=True, validators=[validate_gln])
    licence_number = models.CharField(max_length=64)
    country = models.CharField(
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use the ISO 3166-1 alpha-2 code, e.g. DE.")],
        help_text="ISO 3166-1 alpha-2",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    role__in=["manufacturer", "distributor", "pharmacy", "regulator"]
                ),
                name="organisation_role_known",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()}, GLN {self.gln})"


class Member(models.Model):
    """A user's place in one organisation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members")

    def __str__(self):
        return f"{self.user} at {self.organisation.name}"


class SigningKey(models.Model):
    """An organisation's Ed25519 public key, as registered on the ledger by a
    regulator (a projection: rebuilt from the ledger's key statements)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="keys")
    key_id = models.CharField(max_length=16, unique=True)
    public_key = models.BinaryField(max_length=32)
    is_root = models.BooleanField(default=False, help_text="the regulator's trust anchor")
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    registered_entry = models.BigIntegerField(null=True, help_text="ledger index")
    revoked_entry = models.BigIntegerField(null=True, help_text="ledger index")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "-created_at"]

    def __str__(self):
        return f"key {self.key_id} of {self.organisation.name} ({self.status})"


class CustodialKey(models.Model):
    """The private half of a key the platform signs with for web users.

    AES-GCM encrypted under LEDGER_KEK. Not a projection: never rebuilt,
    never shown, never logged. API clients' own keys have no row here.
    """

    key_id = models.CharField(max_length=16, unique=True)
    encrypted_seed = models.BinaryField(editable=False)

    def __str__(self):
        return f"custodial key {self.key_id}"


class StatementRecord(models.Model):
    """Index of the signed statements in the ledger (a projection of it).

    One row per entry. (key, nonce) is unique, which is what refuses replays.
    """

    entry = models.BigIntegerField(primary_key=True, help_text="ledger index")
    kind = models.CharField(max_length=40)
    # No database constraints on its keys: one row per statement, a projection
    # like the custody rows (see models/custody.py).
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="statements", db_constraint=False
    )
    # Indexed by the (key, nonce) constraint, whose first column it is.
    key = models.ForeignKey(
        SigningKey,
        on_delete=models.PROTECT,
        related_name="statements",
        db_index=False,
        db_constraint=False,
    )
    nonce = models.CharField(max_length=24)
    issued_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "nonce"], name="statement_nonce_once_per_key")
        ]
        # A plain index: no LIKE on kinds, so no second, pattern-matching one.
        indexes = [models.Index(fields=["kind"], name="statement_kind")]

    def __str__(self):
        return f"{self.kind} #{self.entry}"
