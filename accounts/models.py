"""API tokens: only a SHA-256 digest is stored; the token is shown once, at creation."""

import hashlib

from django.conf import settings
from django.db import models

PLAINTEXT_PREFIX = "dt_"
SHOWN_CHARS = 8


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="what the token is for")
    prefix = models.CharField(max_length=SHOWN_CHARS, help_text="the token's first characters")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 hex of the token")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
