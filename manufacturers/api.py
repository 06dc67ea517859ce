"""Label sheets over the API (bearer token or session): views parse and answer."""

from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from manufacturers.labels import DEFAULT_LAYOUT, LAYOUTS, LabelError, layout_named, pack_labels_pdf
from manufacturers.selectors import batches_for_labels, pack_labels_of
from traceability.selectors import organisation_of

LAYOUT_PARAMETER = OpenApiParameter(
    "layout",
    str,
    enum=list(LAYOUTS),
    default=DEFAULT_LAYOUT,
    description="; ".join(f"`{key}`: {layout.title}" for key, layout in LAYOUTS.items()),
)
SKIP_PARAMETER = OpenApiParameter(
    "skip",
    int,
    default=0,
    description="labels to leave blank at the start of the first sheet (a partly used sheet)",
)


def label_error(exc: LabelError) -> Response:
    return Response(
        {"error": str(exc), "code": "invalid", "fields": {exc.field: [str(exc)]}}, status=400
    )


def skip_of(request) -> int:
    raw = request.query_params.get("skip", "0")
    if not raw.isascii() or not raw.isdigit():
        raise LabelError(f"skip must be a whole number, not {raw[:20]!r}", field="skip")
    return int(raw)


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class BatchLabelsView(APIView):
    @extend_schema(
        summary="Pack labels of a batch as a PDF label sheet",
        description=(
            "One GS1 DataMatrix per pack carrying (01) GTIN, (17) expiry, (10) lot and "
            "(21) serial, FNC1 first (readers report `]d2`), with the human-readable text "
            "beside it; as many sheets as the batch needs. For the product's manufacturer "
            "and regulators; any other caller gets 404."
        ),
        parameters=[LAYOUT_PARAMETER, SKIP_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "the label sheets"),
            400: OpenApiResponse(ApiErrorSerializer, "an unknown layout or a bad skip"),
            404: OpenApiResponse(ApiErrorSerializer, "no such batch that you may label"),
        },
    )
    def get(self, request, gtin: str, lot: str):
        org = organisation_of(request.user)
        batch = batches_for_labels(org).filter(product__gtin=gtin, lot=lot).first()
        if batch is None:
            raise NotFound(f"no batch with GTIN {gtin} and lot {lot} whose labels you may print")
        try:
            layout = layout_named(request.query_params.get("layout"))
            pdf = pack_labels_pdf(pack_labels_of(batch), layout=layout, skip=skip_of(request))
        except LabelError as exc:
            return label_error(exc)
        return pdf_response(pdf, f"labels-{gtin}-{slugify(lot) or 'lot'}-{layout.key}.pdf")
