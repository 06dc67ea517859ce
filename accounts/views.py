"""Web screens: login (rate limited), password change, API tokens."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import RateLimitedAuthenticationForm, TokenCreateForm
from accounts.models import ApiToken

TOKENS_PER_PAGE = 20


class LoginView(auth_views.LoginView):
    form_class = RateLimitedAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.is_rate_limited:
            response.status_code = 429
        return response


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password")
    success_message = "Your password was changed."


def _tokens_page(request, form, created=None, plaintext=None, status=200):
    page = Paginator(ApiToken.objects.filter(user=request.user), TOKENS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "form": form, "created": created, "plaintext": plaintext}
    return render(request, "accounts/tokens.html", context, status=status)


@never_cache
@login_required
def tokens(request):
    if request.method != "POST":
        return _tokens_page(request, TokenCreateForm())
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    try:
        token, plaintext = services.token_create(user=request.user, name=form.cleaned_data["name"])
    except services.TokenError as error:
        form.add_error("name", str(error))
        return _tokens_page(request, form, status=400)
    # Rendered, not redirected: the plaintext goes to this one response and is
    # never stored (not even in the session); never_cache keeps it out of caches.
    return _tokens_page(request, TokenCreateForm(), created=token, plaintext=plaintext, status=201)


@require_POST
@login_required
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # others' tokens: 404
    services.token_revoke(token=token, by_user=request.user)
    messages.success(request, f"Token {token.prefix}… ({token.name}) is revoked.")
    return redirect("accounts:tokens")
