from traceability.models.alerts import Alert, PackEvent
from traceability.models.custody import Batch, BatchEvent, Pack, Product, Shipment
from traceability.models.participants import (
    CustodialKey,
    Member,
    Organisation,
    SigningKey,
    StatementRecord,
)

__all__ = [
    "Alert",
    "Batch",
    "BatchEvent",
    "CustodialKey",
    "Member",
    "Organisation",
    "Pack",
    "PackEvent",
    "Product",
    "Shipment",
    "SigningKey",
    "StatementRecord",
]
