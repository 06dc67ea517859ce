"""Reading codes over the API: a raw scan parsed, or a photo decoded and parsed.
The scan field in the browser uses both; so can any client."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from traceability.barcode_images import ImageUnreadable, codes_in_image
from traceability.scanning import Scan, ScanError, parse_scan


class ScanSerializer(serializers.Serializer):
    gtin = serializers.CharField(allow_null=True, help_text="GTIN-14, check digit valid")
    serial = serializers.CharField(allow_null=True)
    lot = serializers.CharField(allow_null=True)
    expiry = serializers.DateField(allow_null=True, help_text="AI 17; day 00 = end of month")
    sscc = serializers.CharField(allow_null=True, help_text="SSCC of a case, check digit valid")
    raw = serializers.CharField(help_text="what was scanned, as received")


class ScanErrorSerializer(ApiErrorSerializer):
    field = serializers.CharField(allow_null=True, help_text="gtin, serial, lot, expiry, sscc…")


class FoundCodeSerializer(serializers.Serializer):
    raw = serializers.CharField(help_text="symbology identifier and data, e.g. ]d2010950…")
    format = serializers.CharField(help_text="e.g. DataMatrix, Code128, QRCode")
    scan = ScanSerializer(allow_null=True, help_text="the parsed code; null if it is not GS1")
    error = ScanErrorSerializer(allow_null=True, help_text="why the code could not be parsed")


def scan_json(scan: Scan) -> dict:
    return ScanSerializer(scan).data


def scan_error_json(exc: ScanError) -> dict:
    return {"error": exc.message, "code": "bad_scan", "field": exc.field}


class ScanView(APIView):
    @extend_schema(
        summary="Parse a raw scan",
        description=(
            "Accepts what a scanner or phone hands over: a GS1 element string with or "
            "without a symbology identifier (]d2, ]C1, ]Q3) and GS (ASCII 29) separators, "
            "the parenthesised text printed on labels, or a GS1 Digital Link URI."
        ),
        parameters=[
            OpenApiParameter("code", str, required=True, description="the raw scan"),
            OpenApiParameter(
                "separator",
                str,
                description="the character your scanner sends instead of FNC1/GS, e.g. |",
            ),
        ],
        responses={
            200: ScanSerializer,
            400: OpenApiResponse(ScanErrorSerializer, "the code cannot be read; field says why"),
        },
    )
    def get(self, request):
        separator = request.query_params.get("separator") or None
        try:
            scan = parse_scan(request.query_params.get("code", ""), separator=separator)
        except ScanError as exc:
            return Response(scan_error_json(exc), status=400)
        return Response(scan_json(scan))


class ScanImageView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Read the codes in a photo",
        description="Decoded on the server with zxing-cpp; each code is then parsed as a scan.",
        request={
            "multipart/form-data": inline_serializer(
                "ScanImageUpload",
                {
                    "image": serializers.ImageField(),
                    "separator": serializers.CharField(required=False),
                },
            )
        },
        responses={
            200: inline_serializer("CodesInImage", {"codes": FoundCodeSerializer(many=True)}),
            400: OpenApiResponse(ScanErrorSerializer, "no image, an unreadable one, or no code"),
        },
    )
    def post(self, request):
        upload = request.FILES.get("image")
        if upload is None:
            return self.refused("send the photo as the multipart field 'image'", "no_image")
        try:
            found = codes_in_image(upload)
        except ImageUnreadable as exc:
            return self.refused(str(exc), "bad_image")
        if not found:
            return self.refused(
                "no barcode found in the photo: fill the frame with the code, in focus",
                "no_barcode",
            )
        separator = request.data.get("separator") or None
        return Response({"codes": [self.parsed(code, separator) for code in found]})

    @staticmethod
    def refused(message: str, code: str) -> Response:
        return Response({"error": message, "code": code, "field": "image"}, status=400)

    @staticmethod
    def parsed(code, separator) -> dict:
        try:
            scan, error = scan_json(parse_scan(code.raw, separator=separator)), None
        except ScanError as exc:
            scan, error = None, scan_error_json(exc)
        return {"raw": code.raw, "format": code.format, "scan": scan, "error": error}
