"""The pharmacy counter: scan to verify, then dispense or report; suspect reports.

Views parse and answer; verification.pack_verify, pack_states and alerts decide.
Verifying is a POST: it raises alerts, so another site must not trigger it.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from pharmacies.forms import PACK_ACTIONS, PackActionForm, ScanForm, SuspectReportForm
from traceability import pack_states
from traceability.alerts import AlertRefused, suspect_report_file
from traceability.models import Organisation, Pack
from traceability.scanning import ScanError, digital_link, parse_scan
from traceability.verification import ScanRefused, pack_scan, pack_verify
from traceability.verification_json import verification_json
from traceability.web.access import REFUSALS, organisation_required, refusal_message

PHARMACIES = {Organisation.Role.PHARMACY}

VERDICT_ADVICE = {
    "AUTHENTIC": "Genuine and in your stock: you may dispense it.",
    "UNKNOWN_PRODUCT": "Do not dispense. No manufacturer registered this product.",
    "UNKNOWN_SERIAL": "Do not dispense. The manufacturer never commissioned this serial.",
    "SIGNATURE_INVALID": "Do not dispense. The pack's record does not verify.",
    "PROOF_INVALID": "Do not dispense. The ledger's proof for this pack does not verify.",
    "BATCH_MISMATCH": "Do not dispense. The printed lot is not the serial's lot.",
    "EXPIRY_MISMATCH": "Do not dispense. The printed expiry is not the lot's expiry.",
    "STOLEN": "Do not dispense. This pack was reported stolen.",
    "DESTROYED": "Do not dispense. This pack was recorded as destroyed.",
    "ALREADY_DISPENSED": "Do not dispense. This serial was dispensed already: it may be a clone.",
    "RECALLED": "Do not dispense. This pack is recalled.",
    "EXPIRED": "Do not dispense. This pack has expired.",
    "NOT_IN_YOUR_CUSTODY": "Do not dispense yet. The ledger says you do not hold this pack.",
}


def _page(request, org, *, form=None, result=None, status=200, **extra):
    context = {"form": form or ScanForm(), "result": result, "actions": PACK_ACTIONS, **extra}
    return render(request, "pharmacies/verify.html", context, status=status)


def _result(found, org) -> dict:
    answer = verification_json(found, org)
    pack = found.pack
    answer["advice"] = VERDICT_ADVICE[found.verdict]
    answer["may_act"] = bool(
        pack
        and pack.custodian_id == org.pk
        and pack.shipment_id is None
        and pack.status == Pack.Status.ACTIVE
        and not any(r.code in ("SIGNATURE_INVALID", "PROOF_INVALID") for r in found.reasons)
    )
    answer["may_dispense"] = answer["may_act"] and found.is_authentic
    answer["may_undo"] = bool(pack and pack_states.undo_refusal(pack, org) is None)
    return answer


@organisation_required(PHARMACIES)
def verify(request, org: Organisation):
    if request.method != "POST":
        undo = request.GET.get("undo", "")
        return _page(request, org, undo_code=undo[:512])
    form = ScanForm(request.POST)
    if not form.is_valid():
        return _page(request, org, form=form, status=400)
    try:
        scan = pack_scan(form.cleaned_data["code"], form.cleaned_data["separator"] or None)
    except ScanRefused as exc:
        form.add_error("code", exc.message)
        return _page(request, org, form=form, status=400)
    found = pack_verify(
        scanner=org,
        gtin=scan.gtin,
        serial=scan.serial,
        lot=scan.lot,
        expiry=scan.expiry,
        raw=scan.raw,
    )
    # The actions below carry the pack as a Digital Link: no separator setting needed.
    return _page(request, org, result=_result(found, org), code=digital_link(scan))


def _act(action: str, org: Organisation, gtin: str, serial: str) -> str:
    """Do one pack action; what to tell the pharmacist."""
    pack = {"gtin": gtin, "serial": serial}
    if action == "dispense":
        pack_states.pack_dispense(pharmacy=org, **pack)
        return f"Dispensed pack {serial}."
    if action == "undo":
        pack_states.pack_undo_dispense(pharmacy=org, **pack)
        return f"Undid the dispense of pack {serial}: it is back in your stock."
    if action == "stolen":
        pack_states.pack_report_stolen(holder=org, **pack)
        return f"Reported pack {serial} stolen."
    if action == "destroyed":
        pack_states.pack_destroy(holder=org, **pack)
        return f"Recorded pack {serial} as destroyed."
    pack_states.pack_supply_sample(holder=org, **pack)
    return f"Recorded pack {serial} as supplied as a free sample."


@organisation_required(PHARMACIES)
def pack_action(request, org: Organisation):
    if request.method != "POST":
        return redirect("pharmacies:verify")
    form = PackActionForm(request.POST)
    if not form.is_valid():
        return _page(request, org, page_error="Choose an action for a scanned pack.", status=400)
    try:
        scan = pack_scan(form.cleaned_data["code"])
        done = _act(form.cleaned_data["action"], org, scan.gtin, scan.serial)
    except ScanRefused as exc:
        return _page(request, org, page_error=exc.message, status=400)
    except REFUSALS as refusal:
        return _page(request, org, page_error=refusal_message(refusal), status=400)
    messages.success(request, done)
    url = reverse("pharmacies:verify")
    if form.cleaned_data["action"] == "dispense":
        url += "?" + urlencode({"undo": scan.raw})
    return redirect(url)


@organisation_required(PHARMACIES)
def suspect_report(request, org: Organisation):
    if request.method == "POST":
        form = SuspectReportForm(request.POST, request.FILES)
    else:
        form = SuspectReportForm(initial={"code": request.GET.get("code", "")[:512]})
    if form.is_bound and form.is_valid():
        try:
            report = _file_report(org, form.cleaned_data)
        except ScanRefused as exc:
            form.add_error("code", exc.message)
        except AlertRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(
                request,
                f"Report {report.code}-{report.pk} filed: the regulator and the manufacturer "
                "will see it.",
            )
            return redirect("pharmacies:verify")
    status = 400 if form.is_bound else 200
    return render(request, "pharmacies/report.html", {"form": form}, status=status)


def _file_report(org: Organisation, data: dict):
    fields = {}
    if data["code"].strip():
        try:  # a suspect pack's code may be partial: take what it has
            scan = parse_scan(data["code"])
        except ScanError as exc:
            raise ScanRefused(exc.message) from None
        fields = {
            "gtin": scan.gtin or "",
            "serial": scan.serial or "",
            "lot": scan.lot or "",
            "expiry": scan.expiry,
            "raw": scan.raw,
        }
    return suspect_report_file(pharmacy=org, note=data["note"], photo=data["photo"], **fields)
