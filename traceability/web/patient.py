"""The public page at a pack's GS1 Digital Link path, for patients (no login).

It must not become a serial-number oracle. So it answers only for the full
code printed on the pack (GTIN, serial, lot and expiry); asked with less, it
asks for the rest and says nothing about the serial. Every failure looks the
same ("could not confirm"), whether the serial is unknown, the lot or expiry
differ, or the pack was reported stolen or destroyed. It never says whether
a pack was dispensed or who held it: a counterfeiter who collected codes
cannot sort out the packs still in the supply chain. Requests are limited
per client address. No alert is raised here: patients are not scanners.
"""

import json
import re
import time

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.ratelimit import client_ip
from traceability import epcis_shapes
from traceability.models import Pack
from traceability.scanning import ScanError, pack_link_path, parse_scan
from traceability.verification import pack_assess
from traceability.verification_json import proof_json

LOOKUPS_PER_MINUTE = 30
# Problems that say nothing against the pack a patient holds.
HARMLESS = {"ALREADY_DISPENSED", "NOT_IN_YOUR_CUSTODY", "RECALLED", "EXPIRED"}


def _now() -> float:
    return time.time()


def _throttled(request) -> int:
    """Seconds to wait if this client asked too often this minute, else 0."""
    now = _now()
    window = int(now // 60)
    key = f"patient-page:{client_ip(request)}:{window}"
    cache.add(key, 0, 120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 120)
        count = 1
    return 60 - int(now % 60) if count > LOOKUPS_PER_MINUTE else 0


def _answer(request, context: dict, status: int = 200):
    return render(request, "traceability/patient.html", context, status=status)


@require_safe
def pack_page(request, gtin: str, serial: str, lot: str | None = None):
    wait = _throttled(request)
    if wait:
        response = _answer(request, {"throttled": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    if "lot" in request.GET or "expiry" in request.GET:
        return _completed(request, gtin, serial)
    expiry = request.GET.get("17")
    try:
        scan = parse_scan(epcis_shapes.DIGITAL_LINK + pack_link_path(gtin, serial, lot, expiry))
    except ScanError as exc:
        return _answer(request, {"invalid": exc.message}, status=400)
    context = {"scan": scan, "gtin": scan.gtin, "serial": scan.serial}
    if scan.lot is None or scan.expiry is None:
        return _answer(request, {**context, "ask": True, "lot": scan.lot or ""})
    found = pack_assess(gtin=scan.gtin, serial=scan.serial, lot=scan.lot, expiry=scan.expiry)
    genuine = all(r.code in HARMLESS for r in found.reasons)
    if request.GET.get("format") == "proof":
        return _bundle(found, genuine)
    return _answer(request, {**context, **_facts(found, genuine)})


def _completed(request, gtin: str, serial: str):
    """The ask form's answer: back to the pack's full Digital Link path."""
    lot = request.GET.get("lot", "").strip()
    expiry = request.GET.get("expiry", "").strip()  # yyyy-mm-dd from the date field
    yymmdd = expiry[2:].replace("-", "") if len(expiry) == 10 else expiry
    return redirect(pack_link_path(gtin, serial, lot or None, yymmdd or None))


def _facts(found, genuine: bool) -> dict:
    if not genuine:
        return {"genuine": False}
    batch = found.pack.batch
    return {
        "genuine": True,
        "product": found.product.name,
        "manufacturer": found.product.manufacturer.name,
        "lot": batch.lot,
        "expires_on": batch.expires_on,
        "expired": batch.expires_on < timezone.localdate(),
        "recalled": found.pack.status in (Pack.Status.RECALLED, Pack.Status.WITHDRAWN),
        "proof_valid": found.proof_valid,
    }


def _bundle(found, genuine: bool) -> HttpResponse:
    if not genuine:
        return HttpResponse(
            json.dumps({"error": "this pack could not be confirmed"}),
            status=404,
            content_type="application/json",
        )
    bundle = {"gtin": found.gtin, "serial": found.serial, **proof_json(found)}
    bundle["entry_hash"] = bundle["inclusion_proof"]["leaf_hash"]
    response = HttpResponse(json.dumps(bundle, indent=2), content_type="application/json")
    filename = f"proof-{found.gtin}-{re.sub(r'[^A-Za-z0-9]', '_', found.serial)}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
