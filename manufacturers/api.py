"""Label sheets over the API (bearer token or session): views parse and answer."""

from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from manufacturers.labels import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    LabelError,
    case_labels_pdf,
    layout_named,
    pack_labels_pdf,
)
from manufacturers.selectors import batches_for_labels, case_label, cases_for_labels, pack_labels_of
from traceability.models import Organisation
from traceability.scanning import ScanError, parse_scan
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


SKIP_DIGITS = 9


def skip_of(request) -> int:
    raw = request.query_params.get("skip", "0")
    if not raw.isascii() or not raw.isdigit():
        raise LabelError(f"skip must be a whole number, not {raw[:20]!r}", field="skip")
    # int() refuses more than 4,300 digits; a number this long is past any sheet anyway
    return int(raw) if len(raw.lstrip("0")) <= SKIP_DIGITS else 10**SKIP_DIGITS


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


SSCC_PARAMETER = OpenApiParameter(
    "sscc",
    str,
    many=True,
    description="the cases to label (repeat the parameter); without it, every case you hold",
)
MAX_CASES_NAMED = 1_000


def ssccs_named(request) -> list[str]:
    """The ?sscc= values, each read as a scan would be (18 digits, or (00)…, or a scan)."""
    named = request.query_params.getlist("sscc")
    if len(named) > MAX_CASES_NAMED:
        raise LabelError(f"name at most {MAX_CASES_NAMED:,} cases at once", field="sscc")
    ssccs = []
    for raw in named:
        try:
            scan = parse_scan(raw)
        except ScanError as exc:
            raise LabelError(f"sscc {raw[:40]!r}: {exc.message}", field="sscc") from None
        if scan.sscc is None:
            raise LabelError(f"sscc {raw[:40]!r} is not an SSCC", field="sscc")
        ssccs.append(scan.sscc)
    return ssccs


class CaseLabelsView(APIView):
    @extend_schema(
        summary="Case and pallet labels as a PDF label sheet",
        description=(
            "One GS1-128 symbol per case carrying (00) SSCC (readers report `]C1`), the "
            "human-readable SSCC beneath and what the case holds above. Cases you hold; "
            "regulators name the cases they want. A case you may not label is 404."
        ),
        parameters=[SSCC_PARAMETER, LAYOUT_PARAMETER, SKIP_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "the label sheets"),
            400: OpenApiResponse(ApiErrorSerializer, "a bad SSCC, layout or skip"),
            404: OpenApiResponse(ApiErrorSerializer, "a named case you may not label"),
        },
    )
    def get(self, request):
        org = organisation_of(request.user)
        cases = cases_for_labels(org)
        try:
            ssccs = ssccs_named(request)
            if not ssccs and org.role == Organisation.Role.REGULATOR:
                raise LabelError("name the cases to label: ?sscc=…", field="sscc")
            if ssccs:
                cases = cases.filter(sscc__in=ssccs)
                missing = sorted(set(ssccs) - {c.sscc for c in cases})
                if missing:
                    raise NotFound(f"no case {missing[0]} whose label you may print")
            layout = layout_named(request.query_params.get("layout"))
            labels = (case_label(case) for case in cases.iterator(chunk_size=2_000))
            pdf = case_labels_pdf(labels, layout=layout, skip=skip_of(request))
        except LabelError as exc:
            return label_error(exc)
        return pdf_response(pdf, f"case-labels-{layout.key}.pdf")
