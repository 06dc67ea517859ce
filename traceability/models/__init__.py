from traceability.models.custody import Batch, Pack, Product, Shipment
from traceability.models.participants import (
    CustodialKey,
    Member,
    Organisation,
    SigningKey,
    StatementRecord,
)

__all__ = [
    "Batch",
    "CustodialKey",
    "Member",
    "Organisation",
    "Pack",
    "Product",
    "Shipment",
    "SigningKey",
    "StatementRecord",
]
