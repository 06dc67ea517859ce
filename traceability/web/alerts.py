"""The alerts inbox: regulators see every alert, manufacturers those about their
products, pharmacies the ones their scans and reports raised. Only a regulator
or the product's manufacturer may move an alert along."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from traceability.alerts import (
    NEXT_STATUSES,
    AlertRefused,
    alert_status_change,
    alerts_visible_to,
    may_change_status,
)
from traceability.models import Alert, Organisation
from traceability.web.access import organisation_required
from traceability.web.paging import paginate

PER_PAGE = 25
FILTERS = {"open": [Alert.Status.NEW, Alert.Status.INVESTIGATING], "all": None}
FILTERS.update({status: [status] for status in Alert.Status.values})


@organisation_required()
def inbox(request, org: Organisation):
    shown = request.GET.get("status", "open")
    if shown not in FILTERS:
        shown = "open"
    alerts = alerts_visible_to(org)
    if FILTERS[shown] is not None:
        alerts = alerts.filter(status__in=FILTERS[shown])
    context = {
        "alerts": paginate(request, alerts, per_page=PER_PAGE),
        "shown": shown,
        "filters": [("open", "open"), ("all", "all"), *Alert.Status.choices],
    }
    return render(request, "traceability/alerts.html", context)


def _detail(request, org: Organisation, alert: Alert, *, page_error: str = "", status: int = 200):
    context = {
        "alert": alert,
        "may_change": may_change_status(org, alert),
        "next_statuses": [
            (s, Alert.Status(s).label)
            for s in Alert.Status.values
            if s in NEXT_STATUSES.get(alert.status, set())
        ],
        "page_error": page_error,
    }
    return render(request, "traceability/alert.html", context, status=status)


@organisation_required()
def detail(request, org: Organisation, pk: int):
    return _detail(request, org, get_object_or_404(alerts_visible_to(org), pk=pk))


@require_POST
@organisation_required()
def change_status(request, org: Organisation, pk: int):
    alert = get_object_or_404(alerts_visible_to(org), pk=pk)
    try:
        alert = alert_status_change(
            alert=alert,
            by=org,
            status=request.POST.get("status", ""),
            resolution=request.POST.get("resolution", ""),
        )
    except AlertRefused as refusal:
        status = 403 if not may_change_status(org, alert) else 400
        return _detail(request, org, alert, page_error=str(refusal), status=status)
    messages.success(request, f"Alert {alert.code}-{alert.pk} is now {alert.get_status_display()}.")
    return redirect("custody:alert", pk=alert.pk)


@organisation_required()
def photo(request, org: Organisation, pk: int):
    alert = get_object_or_404(alerts_visible_to(org).filter(photo__isnull=False), pk=pk)
    response = HttpResponse(bytes(alert.photo), content_type=alert.photo_type)
    response["Content-Disposition"] = f'inline; filename="alert-{alert.pk}-photo"'
    return response
