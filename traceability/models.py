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
