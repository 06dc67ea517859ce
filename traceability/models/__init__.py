from traceability.models.custody import Batch, BatchEvent, Pack, Product, Shipment
from traceability.models.participants import (
    CustodialKey,
    Member,
    Organisation,
    SigningKey,
    StatementRecord,
)

__all__ = [
    "Batch",
    "BatchEvent",
    "CustodialKey",
    "Member",
    "Organisation",
    "Pack",
    "Product",
    "Shipment",
    "SigningKey",
    "StatementRecord",
]
