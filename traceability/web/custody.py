"""Forms that sign custody events: register, commission, ship, receive,
dispense and destroy. Each checks the role, calls one service and shows a
refusal's message on the form (400) with nothing written."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from traceability import aggregation, commissioning, shipping
from traceability.models import Organisation, Pack
from traceability.web import forms, reads
from traceability.web.access import (
    DESTROYERS,
    DISPENSERS,
    HOLDERS,
    MANUFACTURERS,
    REFUSALS,
    organisation_required,
    refusal_message,
)
from traceability.web.dashboard import holder_dashboard
from traceability.web.paging import paginate

PACKS_PER_PAGE = 50


def packs(n: int) -> str:
    return f"{n:,} pack" if n == 1 else f"{n:,} packs"


def batch_url(batch) -> str:
    return reverse("custody:batch", args=[batch.product.gtin, batch.lot])


@organisation_required(MANUFACTURERS)
def product_register(request, org: Organisation):
    form = forms.ProductRegisterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            product = commissioning.product_register(manufacturer=org, **form.cleaned_data)
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(request, f"Registered {product}. Commission its first batch now.")
            return redirect(f"{reverse('custody:batch-commission')}?product={product.pk}")
    status = 400 if form.is_bound else 200
    return render(request, "traceability/product_form.html", {"form": form}, status=status)


@organisation_required(MANUFACTURERS)
def batch_commission(request, org: Organisation):
    if request.method == "POST":
        form = forms.BatchCommissionForm(request.POST, manufacturer=org)
    else:
        form = forms.BatchCommissionForm(
            manufacturer=org, initial={"product": request.GET.get("product")}
        )
    if form.is_bound and form.is_valid():
        try:
            batch = commissioning.batch_commission(manufacturer=org, **form.cleaned_data)
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(
                request,
                f"Commissioned lot {batch.lot} of {batch.product.name}: "
                f"{batch.quantity:,} serialized packs.",
            )
            return redirect(batch_url(batch))
    has_products = form.fields["product"].queryset.exists()
    context = {"form": form, "has_products": has_products}
    return render(
        request, "traceability/batch_form.html", context, status=400 if form.is_bound else 200
    )


def _chosen_batch(request, org: Organisation, stock):
    """The batch named by ?batch= if the organisation holds packs of it; a batch
    it cannot see is 404, one it holds nothing of is None."""
    wanted = request.POST.get("batch") or request.GET.get("batch")
    # ASCII digits, and few enough for int(): isdigit() alone passes "²"
    if not wanted or not (wanted.isascii() and wanted.isdigit()) or len(wanted) > 19:
        return None
    batch = stock.filter(pk=wanted).first()
    if batch is None and not reads.batches_visible_to(org).filter(pk=wanted).exists():
        raise Http404("no such batch")
    return batch


def _shipped_message(shipment, cleaned) -> str:
    what = []
    if cleaned["sgtins"]:
        what.append(f"{packs(len(cleaned['sgtins']))} of lot {cleaned['batch'].lot}")
    if cleaned["ssccs"]:
        in_cases = shipment.pack_count - len(cleaned["sgtins"])
        count = len(cleaned["ssccs"])
        what.append(f"{count} case{'s' if count != 1 else ''} ({packs(in_cases)})")
    for (_, lot), count in cleaned["lots"].items():
        what.append(f"{count:,} units of lot {lot}")
    verb = "Returned" if shipment.returning else "Shipped"
    return (
        f"{verb} {' and '.join(what)} to {shipment.receiver.name}. "
        "Custody passes when they receive it."
    )


@organisation_required(HOLDERS)
def ship(request, org: Organisation):
    stock = reads.stock_by_batch(org)
    batch = _chosen_batch(request, org, stock)
    if request.method == "POST":
        form = forms.ShipForm(request.POST, sender=org)
    else:
        form = forms.ShipForm(sender=org, initial={"batch": batch.pk if batch else None})
    if batch:  # the label the field and the error summary show
        form.fields["quantity"].label = "How many packs" if batch.serialized else "How many units"
    if form.is_bound and form.is_valid():
        try:
            shipment = shipping.shipment_create(
                sender=org,
                receiver=form.cleaned_data["receiver"],
                sgtins=form.cleaned_data["sgtins"],
                ssccs=form.cleaned_data["ssccs"],
                lots=form.cleaned_data["lots"],
                returning=form.cleaned_data["returning"],
            )
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(request, _shipped_message(shipment, form.cleaned_data))
            return redirect("custody:dashboard")
    cases = reads.cases_in_stock(org)
    loose = reads.loose_packs_in_stock(org).filter(batch=batch).order_by("pk") if batch else None
    context = {
        "form": form,
        "choice": forms.BatchChoiceForm(holder=org, initial={"batch": batch.pk if batch else None}),
        "batch": batch,
        "has_stock": stock.exists(),
        "asked_for_batch": bool(request.GET.get("batch")) and batch is None,
        "packs": paginate(request, loose, per_page=PACKS_PER_PAGE)
        if batch and batch.serialized
        else None,
        "cases": paginate(request, cases, per_page=PACKS_PER_PAGE, param="cases_page"),
        "ticked": set(form.data.getlist("serials")) if form.is_bound else set(),
        "ticked_cases": set(form.data.getlist("ssccs")) if form.is_bound else set(),
    }
    return render(request, "traceability/ship.html", context, status=400 if form.is_bound else 200)


@organisation_required(HOLDERS)
def cases(request, org: Organisation):
    """The cases and pallets the organisation holds; pack new ones."""
    form = forms.CasePackForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        sscc = form.cleaned_data["sscc"] or aggregation.sscc_new(org)
        try:
            case = aggregation.case_pack(
                holder=org,
                sscc=sscc,
                sgtins=form.cleaned_data["packs"],
                ssccs=form.cleaned_data["cases"],
            )
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(request, f"Packed into case {case.sscc}.")
            return redirect("custody:cases")
    context = {
        "form": form,
        "cases": paginate(request, reads.cases_in_stock(org), per_page=PACKS_PER_PAGE),
    }
    return render(request, "traceability/cases.html", context, status=400 if form.is_bound else 200)


@require_POST
@organisation_required(HOLDERS)
def case_unpack(request, org: Organisation, sscc: str):
    case = get_object_or_404(reads.cases_in_stock(org), sscc=sscc)
    try:
        aggregation.case_unpack(holder=org, sscc=case.sscc)
    except REFUSALS as refusal:
        messages.error(request, refusal_message(refusal))
    else:
        messages.success(
            request, f"Unpacked case {case.sscc}: what it held is loose in your stock."
        )
    return redirect("custody:cases")


@organisation_required(HOLDERS)
def shipment_find(request, org: Organisation):
    """Scan a pack or case that arrived: the in-transit shipment to you that holds it."""
    form = forms.ScanForm(request.GET if "code" in request.GET else None)
    shipment, status = None, 400 if form.is_bound else 200
    if form.is_bound and form.is_valid():
        shipment, problem = reads.inbound_shipment_holding(org, form.cleaned_data["scan"])
        status = 404 if problem else 200
        if problem:
            form.add_error("code", problem)
    context = {"form": form, "shipment": shipment}
    if shipment:
        context["contents"] = reads.shipment_contents([shipment]).get(shipment.pk, [])
    return render(request, "traceability/shipment_find.html", context, status=status)


@require_POST
@organisation_required(HOLDERS)
def receive(request, org: Organisation, public_id):
    shipment = get_object_or_404(reads.shipments_visible_to(org), public_id=public_id)
    try:
        shipment = shipping.shipment_receive(receiver=org, shipment=shipment)
    except REFUSALS as refusal:
        return holder_dashboard(request, org, page_error=refusal_message(refusal), status=400)
    messages.success(
        request,
        f"Received {packs(shipment.pack_count)} from {shipment.sender.name}; "
        "they are in your stock now.",
    )
    return redirect("custody:dashboard")


DECOMMISSION_SCREENS = {
    Pack.Status.SUPPLIED: {
        "title": "Dispense packs",
        "verb": "Dispense",
        "done": "Dispensed",
        "explain": "Dispensing hands a pack to a patient: it leaves the supply chain for good.",
    },
    Pack.Status.DESTROYED: {
        "title": "Destroy packs",
        "verb": "Destroy",
        "done": "Destroyed",
        "explain": "Record packs you destroyed (damaged, expired, returned for destruction). "
        "A destroyed pack never moves again.",
    },
}


def _decommission(request, org: Organisation, status: str):
    screen = DECOMMISSION_SCREENS[status]
    form = forms.SerialLinesForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            decommissioned = shipping.packs_decommission(
                holder=org,
                sgtins=form.cleaned_data["sgtins"],
                ssccs=form.cleaned_data["ssccs"],
                status=status,
            )
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(request, f"{screen['done']} {packs(len(decommissioned))}.")
            return redirect(request.path)
    context = {"form": form, **screen}
    return render(
        request, "traceability/decommission.html", context, status=400 if form.is_bound else 200
    )


@organisation_required(DISPENSERS)
def dispense(request, org: Organisation):
    return _decommission(request, org, Pack.Status.SUPPLIED)


@organisation_required(DESTROYERS)
def destroy(request, org: Organisation):
    return _decommission(request, org, Pack.Status.DESTROYED)
