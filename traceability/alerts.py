"""Alerts: what a non-authentic verification or a suspect-product report leaves
for the regulator and the product's manufacturer to investigate.

Codes are EMVS-like: where the EU system has a level-5 alert for the same
problem its number is used (A3 unknown serial, A7 batch mismatch, A52 expiry
mismatch, A24 pack no longer active); the T codes are this platform's own.
"""

import io
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from traceability.models import Alert, Organisation, Product

if TYPE_CHECKING:  # verification raises alerts through this module
    from traceability.verification import Assessment

SUSPECT_REPORT = "SUSPECT_REPORT"
ALERT_CODES = {
    "UNKNOWN_PRODUCT": "A1",
    "UNKNOWN_SERIAL": "A3",
    "BATCH_MISMATCH": "A7",
    "EXPIRY_MISMATCH": "A52",
    "STOLEN": "A24",
    "DESTROYED": "A24",
    "ALREADY_DISPENSED": "A24",
    "RECALLED": "A24",
    "EXPIRED": "A24",
    "NOT_IN_YOUR_CUSTODY": "T1",
    "SIGNATURE_INVALID": "T2",
    "PROOF_INVALID": "T3",
    SUSPECT_REPORT: "T9",
}
MAX_NOTE = 2000
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Who may move an alert from one status to another; closed alerts stay closed.
NEXT_STATUSES = {
    Alert.Status.NEW: {
        Alert.Status.INVESTIGATING,
        Alert.Status.FALSE_POSITIVE,
        Alert.Status.FALSIFIED,
    },
    Alert.Status.INVESTIGATING: {Alert.Status.FALSE_POSITIVE, Alert.Status.FALSIFIED},
}


class AlertRefused(ValueError):
    """An alert action that is not allowed or not well formed; the message says why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def alerts_visible_to(org: Organisation) -> QuerySet[Alert]:
    """Regulators see every alert, manufacturers those about their products, and
    everyone the alerts their own scans and reports raised."""
    alerts = Alert.objects.select_related("scanner", "manufacturer", "status_changed_by")
    if org.role == Organisation.Role.REGULATOR:
        return alerts
    if org.role == Organisation.Role.MANUFACTURER:
        return alerts.filter(manufacturer=org) | alerts.filter(scanner=org)
    return alerts.filter(scanner=org)


def may_change_status(org: Organisation, alert: Alert) -> bool:
    return org.role == Organisation.Role.REGULATOR or alert.manufacturer_id == org.pk


def _manufacturer_of(gtin: str) -> Organisation | None:
    product = Product.objects.select_related("manufacturer").filter(gtin=gtin).first()
    return product.manufacturer if product else None


def alert_raise(*, scanner: Organisation, found: "Assessment", raw: str = "") -> Alert:
    """Record a non-authentic verdict. A repeat scan of the same pack with the same
    verdict by the same organisation, while its alert is open, counts on that alert."""
    now = timezone.now()
    open_alert = Alert.objects.filter(
        scanner=scanner,
        gtin=found.gtin,
        serial=found.serial,
        verdict=found.verdict,
        status__in=[Alert.Status.NEW, Alert.Status.INVESTIGATING],
    )
    if open_alert.update(scans=F("scans") + 1, last_seen_at=now):
        return open_alert.first()
    return Alert.objects.create(
        code=ALERT_CODES[found.verdict],
        verdict=found.verdict,
        reasons=[{"code": r.code, "message": r.message} for r in found.reasons],
        gtin=found.gtin,
        serial=found.serial,
        lot=found.lot or "",
        expiry=found.expiry,
        scanned_code=raw[:512],
        scanner=scanner,
        manufacturer=found.product.manufacturer if found.product else None,
        raised_at=now,
        last_seen_at=now,
    )


@transaction.atomic
def alert_status_change(
    *, alert: Alert, by: Organisation, status: str, resolution: str = ""
) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if not may_change_status(by, alert):
        raise AlertRefused("only a regulator or the product's manufacturer may change an alert")
    if status not in Alert.Status.values:
        raise AlertRefused(f"status must be one of {', '.join(Alert.Status.values)}", "status")
    if status not in NEXT_STATUSES.get(alert.status, set()):
        raise AlertRefused(f"an alert that is {alert.get_status_display()} cannot become {status}")
    resolution = resolution.strip()
    closing = status in (Alert.Status.FALSE_POSITIVE, Alert.Status.FALSIFIED)
    if closing and not resolution:
        raise AlertRefused("say what the investigation found before closing", "resolution")
    if len(resolution) > MAX_NOTE:
        raise AlertRefused(f"resolution is longer than {MAX_NOTE} characters", "resolution")
    alert.status, alert.resolution = status, resolution or alert.resolution
    alert.status_changed_by, alert.status_changed_at = by, timezone.now()
    alert.save(update_fields=["status", "resolution", "status_changed_by", "status_changed_at"])
    return alert


def photo_checked(upload) -> tuple[bytes, str]:
    """The photo's bytes and media type, if it is a JPEG, PNG or WebP image of sane size."""
    if upload.size > MAX_PHOTO_BYTES:
        raise AlertRefused(f"photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB", "photo")
    data = upload.read(MAX_PHOTO_BYTES + 1)
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise AlertRefused("photo has too many pixels", "photo")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise AlertRefused("photo must be a JPEG, PNG or WebP image", "photo") from None
    if kind not in PHOTO_TYPES:
        raise AlertRefused(f"photo is a {kind} image; use JPEG, PNG or WebP", "photo")
    return data, PHOTO_TYPES[kind]


def suspect_report_file(
    *,
    pharmacy: Organisation,
    note: str,
    gtin: str = "",
    serial: str = "",
    lot: str = "",
    expiry: date | None = None,
    raw: str = "",
    photo=None,
) -> Alert:
    """A pharmacy reports a product it suspects, with its note and an optional photo."""
    if pharmacy.role != Organisation.Role.PHARMACY:
        raise AlertRefused(
            f"only a pharmacy may file a suspect-product report; {pharmacy.name} is a "
            f"{pharmacy.role}"
        )
    note = note.strip()
    if not note:
        raise AlertRefused("describe what makes the product suspect", "note")
    if len(note) > MAX_NOTE:
        raise AlertRefused(f"note is longer than {MAX_NOTE} characters", "note")
    data, media_type = photo_checked(photo) if photo else (None, "")
    now = timezone.now()
    return Alert.objects.create(
        code=ALERT_CODES[SUSPECT_REPORT],
        verdict=SUSPECT_REPORT,
        reasons=[{"code": SUSPECT_REPORT, "message": "a pharmacy reported a suspect product"}],
        gtin=gtin,
        serial=serial,
        lot=lot,
        expiry=expiry,
        scanned_code=raw[:512],
        scanner=pharmacy,
        manufacturer=_manufacturer_of(gtin) if gtin else None,
        raised_at=now,
        last_seen_at=now,
        note=note,
        photo=data,
        photo_type=media_type,
    )
