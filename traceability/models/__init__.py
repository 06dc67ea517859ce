from traceability.models.alerts import Alert, PackEvent
from traceability.models.custody import (
    Batch,
    BatchEvent,
    Case,
    Holding,
    Pack,
    Product,
    Shipment,
    ShipmentLine,
)
from traceability.models.epcis import CaptureJob, EpcisEvent, EpcisEventEpc
from traceability.models.participants import (
    CustodialKey,
    Member,
    Organisation,
    SigningKey,
    StatementRecord,
)
from traceability.models.recalls import Recall, RecallNotice, RecallResponse

__all__ = [
    "Alert",
    "Batch",
    "BatchEvent",
    "CaptureJob",
    "Case",
    "CustodialKey",
    "EpcisEvent",
    "EpcisEventEpc",
    "Holding",
    "Member",
    "Organisation",
    "Pack",
    "PackEvent",
    "Product",
    "Recall",
    "RecallNotice",
    "RecallResponse",
    "Shipment",
    "ShipmentLine",
    "SigningKey",
    "StatementRecord",
]
