"""The dashboard: what needs the organisation's attention now."""

from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse

from traceability import selectors
from traceability.models import Organisation, Pack
from traceability.web import reads
from traceability.web.access import DISPENSERS, HOLDERS, MANUFACTURERS, organisation_required
from traceability.web.paging import paginate

PER_PAGE = 10


def events_page(request, org: Organisation, records, *, param: str, path: str):
    """A page of statement records, each with its label and the batches it concerns."""
    page = paginate(request, records, per_page=PER_PAGE, param=param, path=path)
    batches = reads.entry_batches([r.entry for r in page], org)
    for record in page:
        record.label = reads.kind_label(record.kind)
        record.batches = batches.get(record.entry, [])
    return page


def _shipments_page(request, shipments, *, param: str, path: str):
    page = paginate(request, shipments, per_page=PER_PAGE, param=param, path=path)
    contents = reads.shipment_contents(page)
    for shipment in page:
        shipment.contents = contents.get(shipment.pk, [])
    return page


def holder_dashboard(request, org: Organisation, *, page_error: str = "", status: int = 200):
    """Also rendered by a refused receipt (a POST elsewhere), so the pager
    links name the dashboard's own path."""
    here = reverse("custody:dashboard")
    context = {
        "org": org,
        "inbound": _shipments_page(
            request, reads.shipments_inbound(org), param="inbound_page", path=here
        ),
        "outbound": _shipments_page(
            request, reads.shipments_outbound(org), param="outbound_page", path=here
        ),
        "stock": paginate(
            request, reads.stock_by_batch(org), per_page=PER_PAGE, param="stock_page", path=here
        ),
        "events": events_page(
            request, org, selectors.statements_visible_to(org), param="events_page", path=here
        ),
        "page_error": page_error,
        "may_manufacture": org.role in MANUFACTURERS,
        "may_dispense": org.role in DISPENSERS,
    }
    return render(request, "traceability/dashboard.html", context, status=status)


def regulator_dashboard(request, org: Organisation):
    in_stock = Q(packs_held__status=Pack.Status.ACTIVE, packs_held__shipment__isnull=True)
    organisations = Organisation.objects.annotate(in_stock=Count("packs_held", filter=in_stock))
    context = {
        "org": org,
        "statements": events_page(
            request, org, selectors.statements_visible_to(org), param="statements_page", path=""
        ),
        "organisations": paginate(
            request,
            organisations.order_by("role", "name", "pk"),
            per_page=PER_PAGE * 2,
            param="organisations_page",
        ),
    }
    return render(request, "traceability/regulator_dashboard.html", context)


@organisation_required()
def dashboard(request, org: Organisation):
    if org.role in HOLDERS:
        return holder_dashboard(request, org)
    return regulator_dashboard(request, org)
