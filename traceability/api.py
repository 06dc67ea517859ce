"""The supply-chain API (DRF). Views parse and answer; the services decide."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ApiErrorSerializer
from ledger import storage
from traceability.gc_pause import garbage_collection_paused
from traceability.ingest import MAX_STATEMENTS, batch_problem, statements_ingest
from traceability.selectors import organisation_of
from traceability.statement_log import StatementRejected


class SignedStatementSerializer(serializers.Serializer):
    statement = serializers.DictField(
        help_text="{v, kind, body, signer: {org, key}, issued_at, nonce}; see the README"
    )
    signature = serializers.CharField(
        help_text="base64 Ed25519 signature over the domain prefix and the statement's JCS bytes"
    )


class StatementBatchSerializer(serializers.Serializer):
    statements = SignedStatementSerializer(many=True)


class StatementsAppendedSerializer(serializers.Serializer):
    entries = serializers.ListField(child=serializers.IntegerField(), help_text="ledger indices")
    size = serializers.IntegerField(help_text="the ledger's size after this batch")


class StatementRejectedSerializer(ApiErrorSerializer):
    position = serializers.IntegerField(help_text="index of the refused statement in the batch")


class StatementBatchView(APIView):
    @extend_schema(
        summary="Append statements your organisation signed with its own key",
        description=(
            f"Up to {MAX_STATEMENTS:,} signed ship / return / receive / dispense / destroy / "
            "pack / unpack events, "
            "checked against the custody rules and appended as one ledger batch, or refused "
            "as a whole naming the first bad statement."
        ),
        request=StatementBatchSerializer,
        responses={
            201: StatementsAppendedSerializer,
            400: OpenApiResponse(StatementRejectedSerializer, description="nothing was written"),
        },
    )
    def post(self, request):
        with garbage_collection_paused():  # from the parsed body on, all of it is the batch
            return self._ingest(request)

    def _ingest(self, request):
        submitted = request.data.get("statements") if isinstance(request.data, dict) else None
        problem = batch_problem(submitted)
        if problem is not None:
            return Response(
                {
                    "error": f"statements: {problem}",
                    "code": "invalid",
                    "fields": {"statements": [problem]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            records = statements_ingest(
                organisation=organisation_of(request.user), submitted=submitted
            )
        except StatementRejected as exc:
            return Response(
                {"error": str(exc), "code": "statement_rejected", "position": exc.position},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"entries": [r.entry for r in records], "size": storage.head_size()},
            status=status.HTTP_201_CREATED,
        )
