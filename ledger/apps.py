from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    """The verifiable log. Knows nothing about drugs: entries are opaque bytes."""

    name = "ledger"

    def ready(self):
        from ledger.signals import initialize_after_migrate

        post_migrate.connect(initialize_after_migrate, sender=self)
