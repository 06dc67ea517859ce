"""API access: `Authorization: Bearer <token>`, and only for members of an organisation."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts.models import ApiToken, token_digest
from accounts.token_lookup import token_with_owner

# Recording every use would turn each API read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)

MALFORMED = "Malformed Authorization header: expected 'Bearer <token>'."
UNKNOWN = "Unknown API token."
REVOKED = "This API token was revoked."
INACTIVE = "The user of this API token is deactivated."
NO_ORGANISATION = "Your user does not belong to an organisation, so it may not use the API."


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: let session authentication have a go
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(MALFORMED)
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(MALFORMED) from None
        token = token_with_owner(token_digest(plaintext))
        if token is None:
            raise exceptions.AuthenticationFailed(UNKNOWN)
        if not token.is_active:
            raise exceptions.AuthenticationFailed(REVOKED)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(INACTIVE)
        self._note_use(token)
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request without valid credentials.
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _note_use(token: ApiToken) -> None:
        now = timezone.now()
        stale = now - LAST_USED_RESOLUTION
        if token.last_used_at is not None and token.last_used_at > stale:
            return
        # Conditional, so concurrent requests with one token write at most once.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now


class IsOrganisationMember(permissions.IsAuthenticated):
    """Signed in (401 otherwise) and a member of an organisation (403 otherwise)."""

    message = NO_ORGANISATION

    def has_permission(self, request, view):
        return super().has_permission(request, view) and hasattr(request.user, "member")


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API token created under Tokens in the web UI, sent as "
                "`Authorization: Bearer <token>`."
            ),
        }
