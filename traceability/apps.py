from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    """The supply-chain core: organisations, keys, products, custody, verification, recall."""

    name = "traceability"
