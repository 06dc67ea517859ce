"""The API's front door: error shape, entry points (`/api/v1/`) and the reference page."""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Every API error is `{"error": message, "code": code}`, plus `"fields"` for bad input."""
    if isinstance(exc, RequestDataTooBig):  # Django's, which DRF leaves to a 400 HTML page
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"error": f"request body is larger than the {limit:,}-byte limit", "code": "too_large"},
            status=413,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handling takes over
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        detail = data["detail"]
        response.data = {"error": str(detail), "code": getattr(detail, "code", "error")}
    elif isinstance(data, dict):
        response.data = {"error": "Invalid input.", "code": "invalid", "fields": data}
    else:
        response.data = {"error": " ".join(str(d) for d in data), "code": "invalid"}
    return response


class ApiErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="what went wrong, for people")
    code = serializers.CharField(help_text="what went wrong, for programs")
    fields = serializers.DictField(
        required=False, help_text="per-field messages, when the input was invalid"
    )


class ApiRootWhoAmISerializer(serializers.Serializer):
    username = serializers.CharField()
    organisation = serializers.CharField()
    gln = serializers.CharField(help_text="the organisation's GS1 Global Location Number")
    role = serializers.ChoiceField(choices=["manufacturer", "distributor", "pharmacy", "regulator"])


class ApiRootLedgerLinksSerializer(serializers.Serializer):
    checkpoint = serializers.URLField(help_text="latest signed checkpoint (C2SP tlog-checkpoint)")
    pubkey = serializers.URLField(help_text="the log's verifier key (C2SP signed-note)")
    inclusion_proof = serializers.CharField(help_text="URI template (RFC 9162 inclusion proof)")
    consistency_proof = serializers.CharField(help_text="URI template (RFC 9162 consistency proof)")
    entry = serializers.CharField(help_text="URI template: an entry's exact bytes")


class ApiRootLinksSerializer(serializers.Serializer):
    schema = serializers.URLField(help_text="this API's OpenAPI 3 schema")
    docs = serializers.URLField(help_text="this API's reference, as a web page")
    ledger = ApiRootLedgerLinksSerializer()


class ApiRootSerializer(serializers.Serializer):
    whoami = ApiRootWhoAmISerializer()
    links = ApiRootLinksSerializer()


class ApiRoot(APIView):
    @extend_schema(
        operation_id="api_root",
        summary="Who you are and where to go from here",
        responses={
            200: OpenApiResponse(ApiRootSerializer, "your identity and the API's entry points"),
            401: OpenApiResponse(ApiErrorSerializer, "no token, or an unknown or revoked one"),
            403: OpenApiResponse(ApiErrorSerializer, "your user belongs to no organisation"),
        },
    )
    def get(self, request):
        def url(name, **kwargs):
            return request.build_absolute_uri(reverse(name, kwargs=kwargs))

        org = request.user.member.organisation
        ledger = {
            "checkpoint": url("ledger:checkpoint"),
            "pubkey": url("ledger:pubkey"),
            "inclusion_proof": url("ledger:inclusion-proof") + "?index={index}&size={size}",
            "consistency_proof": url("ledger:consistency-proof") + "?from={from}&to={to}",
            # reverse() needs a real index; swap it for the template variable.
            "entry": url("ledger:entry", index=0).removesuffix("0") + "{index}",
        }
        payload = {
            "whoami": {
                "username": request.user.get_username(),
                "organisation": org.name,
                "gln": org.gln,
                "role": org.role,
            },
            "links": {
                "schema": url("api-schema"),
                "docs": url("api-docs"),
                "reference": url("api-reference"),
                "ledger": ledger,
            },
        }
        return Response(ApiRootSerializer(payload).data)


def _code_spans(text: str) -> SafeString:
    """Escape `text`, showing Markdown's `code` spans as <code> (the only markup we use)."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text)))  # noqa: S308


HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _type(schema: dict) -> dict:
    """A short readable type for a schema object: {"text", "ref"} (ref names a component)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {"text": name, "ref": name}
    if schema.get("type") == "array":
        inner = _type(schema.get("items", {}))
        return {"text": f"array of {inner['text']}", "ref": inner["ref"]}
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    text = schema.get("type", "any")
    if "format" in schema:
        text += f" ({schema['format']})"
    if "enum" in schema:
        text += ": " + ", ".join(str(v) for v in schema["enum"])
    return {"text": text, "ref": None}


def _operations(schema: dict) -> list[dict]:
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            operations.append(
                {
                    "id": op.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": _code_spans(op.get("description", "")),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _type(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "request": [
                        {"content_type": ct, "type": _type(body.get("schema", {}))}
                        for ct, body in op.get("requestBody", {}).get("content", {}).items()
                    ],
                    "responses": [
                        {
                            "status": status,
                            "description": response.get("description", ""),
                            "types": [
                                {"content_type": ct, "type": _type(body.get("schema", {}))}
                                for ct, body in response.get("content", {}).items()
                            ],
                        }
                        for status, response in op.get("responses", {}).items()
                    ],
                    "security": sorted({name for req in op.get("security", []) for name in req}),
                }
            )
    return operations


def _components(schema: dict) -> list[dict]:
    components = []
    for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(spec.get("required", []))
        components.append(
            {
                "name": name,
                "description": spec.get("description", ""),
                "properties": [
                    {
                        "name": prop,
                        "type": _type(prop_spec),
                        "required": prop in required,
                        "description": prop_spec.get("description", ""),
                    }
                    for prop, prop_spec in spec.get("properties", {}).items()
                ],
                "type": None if "properties" in spec else _type(spec),
            }
        )
    return components


@require_safe
def docs(request):
    """The API reference, rendered here from the live schema: no scripts, no CDN."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schemes = schema.get("components", {}).get("securitySchemes", {})
    return render(
        request,
        "accounts/api_docs.html",
        {
            "info": {**schema["info"], "description": _code_spans(schema["info"]["description"])},
            "operations": _operations(schema),
            "components": _components(schema),
            "security_schemes": {
                name: {**scheme, "description": _code_spans(scheme.get("description", ""))}
                for name, scheme in schemes.items()
            },
        },
    )
