from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import ngettext

from accounts import ratelimit
from accounts.models import ApiToken


def too_many_attempts(seconds: int) -> ValidationError:
    minutes = max(1, -(-seconds // 60))
    return ValidationError(
        ngettext(
            "Too many failed attempts; try again in %(n)d minute.",
            "Too many failed attempts; try again in %(n)d minutes.",
            minutes,
        ),
        code="rate_limited",
        params={"n": minutes},
    )


class RateLimitMixin:
    """For Django's login forms: refuse while a username/IP pair or an IP is locked out."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = ratelimit.client_ip(self.request)
        if wait := ratelimit.locked_for(username, ip):
            raise too_many_attempts(wait)
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and (wait := ratelimit.failure_record(username, ip)):
                raise too_many_attempts(wait) from None
            raise
        if username:
            ratelimit.success_record(username, ip)
        return cleaned

    @property
    def is_rate_limited(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "rate_limited")


class RateLimitedAuthenticationForm(RateLimitMixin, AuthenticationForm):
    pass


class RateLimitedAdminAuthenticationForm(RateLimitMixin, AdminAuthenticationForm):
    """The admin's login form counts in the same place: it is no way around the limit."""


class TokenCreateForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "What is it for?"}
        widgets = {"name": forms.TextInput(attrs={"placeholder": "e.g. warehouse ERP export"})}
