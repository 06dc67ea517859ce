"""GET /api/v1/verify?code=<raw scan>: the verdict for a scanned pack (DRF)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from traceability.selectors import organisation_of
from traceability.verification import VERDICTS, ScanRefused, pack_scan, pack_verify
from traceability.verification_json import verification_json


class ReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=VERDICTS[1:])
    message = serializers.CharField()


class VerifiedPackSerializer(serializers.Serializer):
    gtin = serializers.CharField()
    serial = serializers.CharField()
    product = serializers.CharField()
    manufacturer = serializers.CharField()
    lot = serializers.CharField()
    expiry = serializers.DateField()
    status = serializers.CharField(help_text="EU FMD/EMVS pack status")
    held_by_you = serializers.BooleanField()


class ChainPartySerializer(serializers.Serializer):
    name = serializers.CharField()
    gln = serializers.CharField()


class ChainLinkSerializer(serializers.Serializer):
    entry = serializers.IntegerField(help_text="ledger index")
    event = serializers.CharField(help_text="statement kind: commission, ship, receive, ...")
    label = serializers.CharField()
    by = ChainPartySerializer(
        allow_null=True,
        help_text="who signed; null unless you are a regulator, the manufacturer or a holder",
    )
    at = serializers.DateTimeField(allow_null=True)
    signature_valid = serializers.BooleanField()
    signature = serializers.CharField(allow_null=True)
    entry_url = serializers.CharField(help_text="the entry's exact bytes (access-controlled)")


class InclusionProofSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="base64 RFC 9162 leaf hash")
    proof = serializers.ListField(child=serializers.CharField(), help_text="base64 hashes")
    root = serializers.CharField(help_text="base64")


class EvidenceSerializer(serializers.Serializer):
    custody_chain = ChainLinkSerializer(many=True)
    checkpoint = serializers.CharField(help_text="latest signed checkpoint (C2SP)")
    log_key = serializers.CharField(help_text="the log's verifier key: pin it, do not trust it")
    inclusion_proof = InclusionProofSerializer(
        required=False, help_text="of the pack's latest event, at the checkpoint's size"
    )
    proof_valid = serializers.BooleanField(required=False)


class VerificationSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=VERDICTS)
    reasons = ReasonSerializer(many=True, help_text="every problem found, verdict first")
    pack = VerifiedPackSerializer(allow_null=True)
    evidence = EvidenceSerializer()


class VerifyErrorSerializer(ApiErrorSerializer):
    field = serializers.CharField(help_text="the part of the request that is wrong")


class VerifyView(APIView):
    @extend_schema(
        operation_id="verify_pack",
        summary="Verify a scanned pack: genuine, and may it be supplied?",
        description=(
            "`code` is the raw scan: GS1 element string (with GS separators or `separator`), "
            "the bracketed human-readable form, or a GS1 Digital Link URI. Every verdict other "
            "than `AUTHENTIC` raises an alert for the regulator and the product's manufacturer. "
            "The evidence carries the custody chain, each stored statement's signature checked "
            "against its signer's registered key, and an "
            "RFC 9162 inclusion proof of the latest event against the latest signed checkpoint."
        ),
        parameters=[
            OpenApiParameter("code", OpenApiTypes.STR, required=True, description="raw scan"),
            OpenApiParameter(
                "separator",
                OpenApiTypes.STR,
                description="the character your scanner sends for FNC1/GS, e.g. |",
            ),
        ],
        responses={
            200: VerificationSerializer,
            400: OpenApiResponse(VerifyErrorSerializer, "the code is malformed or names no pack"),
        },
    )
    def get(self, request):
        try:
            scan = pack_scan(
                request.query_params.get("code"), request.query_params.get("separator")
            )
        except ScanRefused as exc:
            return Response(
                {"error": exc.message, "code": "invalid_scan", "field": exc.field},
                status=status.HTTP_400_BAD_REQUEST,
            )
        scanner = organisation_of(request.user)
        found = pack_verify(
            scanner=scanner,
            gtin=scan.gtin,
            serial=scan.serial,
            lot=scan.lot,
            expiry=scan.expiry,
            raw=scan.raw,
        )
        return Response(verification_json(found, scanner))
