"""GET /api/v1/batches/<gtin>/<lot>/trace[?format=csv|pdf] (DRF): where every
unit of a batch is. For the batch's manufacturer and regulators; others 404."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from traceability.recall_reports import trace_csv, trace_json
from traceability.selectors import organisation_of
from traceability.trace import batch_trace, traceable_batches
from traceability.trace_pdf import trace_pdf

FORMATS = ("json", "csv", "pdf")


class _Passthrough(renderers.BaseRenderer):
    """Lets DRF's ?format= negotiation accept csv and pdf; the view answers them itself."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CsvRenderer(_Passthrough):
    media_type, format = "text/csv", "csv"


class PdfRenderer(_Passthrough):
    media_type, format = "application/pdf", "pdf"


def trace_export(batch, fmt: str):
    """The trace of `batch` as a JSON-able dict, or an HttpResponse for csv and pdf."""
    trace = batch_trace(batch)
    if fmt == "json":
        return trace_json(trace)
    name = f"trace-{batch.product.gtin}-{batch.lot}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(trace_csv(trace), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(trace_pdf(trace), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class BatchTraceView(APIView):
    renderer_classes = [renderers.JSONRenderer, CsvRenderer, PdfRenderer]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # an unknown ?format= is answered as a 400 in get()
            return (renderers.JSONRenderer(), "application/json")

    @extend_schema(
        summary="Trace a batch: who holds, held, dispensed or destroyed every unit",
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=FORMATS, description="json (default), csv, pdf"
            )
        ],
        responses={
            200: OpenApiResponse(
                description="batch, holders with counts and path, unaccounted, checkpoint"
            ),
            400: ApiErrorSerializer,
            404: ApiErrorSerializer,
        },
    )
    def get(self, request, gtin: str, lot: str):
        fmt = request.query_params.get("format", "json")
        if fmt not in FORMATS:
            return Response(
                {"error": "format must be json, csv or pdf", "code": "invalid_format"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        org = organisation_of(request.user)
        batch = traceable_batches(org).filter(product__gtin=gtin, lot=lot).first()
        if batch is None:
            return Response(
                {"error": f"no batch {gtin}/{lot} that you may trace", "code": "not_found"},
                status=status.HTTP_404_NOT_FOUND,
            )
        answer = trace_export(batch, fmt)
        return answer if isinstance(answer, HttpResponse) else Response(answer)
