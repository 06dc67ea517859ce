from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    """The supply-chain core: organisations, keys, products, custody, verification, recall."""

    name = "traceability"

    def ready(self):
        from traceability import lookups  # noqa: F401 (registers __any_of)
