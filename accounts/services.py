"""Writes for API tokens. Views and commands call these; none of them re-implement a rule."""

import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import PLAINTEXT_PREFIX, SHOWN_CHARS, ApiToken, token_digest


class TokenError(Exception):
    """A token action that is not allowed; the message is constant so tests can match it."""


NAME_REQUIRED = "Give the token a name that says what it is for."
NOT_THE_OWNER = "Only the token's owner can revoke it."


def token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`. Returns it with its plaintext, which is not kept anywhere."""
    name = name.strip()
    if not name:
        raise TokenError(NAME_REQUIRED)
    plaintext = PLAINTEXT_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name, prefix=plaintext[:SHOWN_CHARS], digest=token_digest(plaintext)
    )
    token.full_clean()
    token.save()
    return token, plaintext


def token_revoke(*, token: ApiToken, by_user: AbstractBaseUser) -> ApiToken:
    """Revoke `token`. Revoking it again keeps the first revocation time."""
    if token.user_id != by_user.pk:
        raise TokenError(NOT_THE_OWNER)
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token
