from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who may come in: login (rate limited), password change, API tokens, API access."""

    name = "accounts"

    def ready(self):
        # Registers the bearer scheme with drf-spectacular before any schema is built.
        from accounts import authentication  # noqa: F401
