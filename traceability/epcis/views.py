"""The EPCIS 2.0 REST binding: views parse and answer; capture, query and
export decide. Errors are RFC 7807 problems with EPCIS exception types (plus
the platform's usual "error" and "code" members)."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability.epcis import export, query
from traceability.epcis.capture import (
    MAX_EVENTS,
    CapturedMeanwhile,
    CaptureRefused,
    CaptureTooLarge,
    epcis_capture,
)
from traceability.gc_pause import garbage_collection_paused
from traceability.json_parser import JsonParser
from traceability.models import BatchEvent, CaptureJob
from traceability.selectors import epcis_events_visible_to, organisation_of
from traceability.web.reads import batches_visible_to

VERSION_HEADERS = {"GS1-EPCIS-Version": "2.0", "GS1-CBV-Version": "2.0"}
PROBLEM = "application/problem+json"
MEDIA_TYPES = ("application/json", "application/ld+json")


class JsonLdParser(JsonParser):
    media_type = "application/ld+json"


class JsonLdRenderer(renderers.JSONRenderer):
    media_type = "application/ld+json"


def problem(status: int, exception: str, title: str, detail: str = "", **extra) -> Response:
    body = {"type": f"epcisException:{exception}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    body.update(error=detail or title, code=exception)
    return Response(body, status=status, content_type=PROBLEM)


DRF_PROBLEMS = {
    exceptions.NotAuthenticated: ("SecurityException", "Unauthorised request"),
    exceptions.AuthenticationFailed: ("SecurityException", "Unauthorised request"),
    exceptions.PermissionDenied: ("SecurityException", "Access to resource forbidden"),
    exceptions.NotFound: ("NoSuchNameException", "Resource not found"),
    exceptions.UnsupportedMediaType: ("ImplementationException", "Unsupported Media Type"),
    exceptions.NotAcceptable: ("ImplementationException", "Not acceptable"),
    exceptions.ParseError: ("ValidationException", "The body is not JSON"),
    exceptions.MethodNotAllowed: ("ImplementationException", "Method not allowed"),
}


def problem_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        response = problem(
            413,
            "CaptureLimitExceededException",
            "Capture payload too large",
            f"the body is larger than the {limit:,}-byte limit",
        )
        response["GS1-EPCIS-Capture-File-Size-Limit"] = str(limit)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    for kind, (exception, title) in DRF_PROBLEMS.items():
        if isinstance(exc, kind):
            response = problem(exc.status_code, exception, title, str(exc.detail))
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
    return None


class EpcisView(APIView):
    parser_classes = [JsonParser, JsonLdParser]
    renderer_classes = [renderers.JSONRenderer, JsonLdRenderer]
    allowed = "OPTIONS, GET"

    def get_exception_handler(self):
        return problem_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        wanted = request.headers.get("GS1-EPCIS-Version")
        if wanted and wanted.strip() != "2.0":
            raise exceptions.NotAcceptable(f"GS1-EPCIS-Version {wanted}: this server speaks 2.0")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in VERSION_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def options(self, request, *args, **kwargs):
        response = Response(status=204, headers={"Allow": self.allowed, **self.discovery()})
        return response

    def discovery(self) -> dict:
        return {
            "GS1-EPCIS-Min": "2.0",
            "GS1-EPCIS-Max": "2.0",
            "GS1-CBV-Min": "2.0",
            "GS1-CBV-Max": "2.0",
            "GS1-EPC-Format": "Always_GS1_Digital_Link",
        }


def capture_job(job: CaptureJob) -> dict:
    return {
        "captureID": str(job.public_id),
        "createdAt": job.created_at.isoformat(),
        "finishedAt": job.finished_at.isoformat() if job.finished_at else None,
        "running": False,
        "success": True,
        "captureErrorBehaviour": "rollback",
        "errors": [],
        "eventCount": job.event_count,
        "custodyEventCount": job.custody_count,
        "observationCount": job.observation_count,
        "duplicateCount": job.duplicate_count,
    }


class CaptureView(EpcisView):
    allowed = "OPTIONS, POST"

    def discovery(self) -> dict:
        return {
            **super().discovery(),
            "GS1-EPCIS-Capture-Limit": str(MAX_EVENTS),
            "GS1-EPCIS-Capture-File-Size-Limit": str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
            "GS1-Capture-Error-Behaviour": "rollback",
        }

    @extend_schema(
        operation_id="epcis_capture",
        summary="Capture an EPCIS 2.0 document (all events or none)",
        description=(
            "An `EPCISDocument` or `EPCISQueryDocument` as `application/json` or "
            "`application/ld+json`, checked against GS1's EPCIS JSON Schema. Events about the "
            "platform's packs become custody statements signed with your organisation's "
            "custodial key and held to the custody rules; others are kept as observations. "
            "An eventID captured before is accepted and not stored twice. Answers 202 with "
            "the capture job in `Location`, or a 400 problem naming the event and the problem."
        ),
        request={"application/ld+json": dict, "application/json": dict},
        responses={
            202: OpenApiResponse(description="captured; Location names the job"),
            400: OpenApiResponse(description="refused as a whole; nothing was written"),
            413: OpenApiResponse(description="more events than GS1-EPCIS-Capture-Limit"),
            415: OpenApiResponse(description="not JSON or JSON-LD"),
        },
    )
    def post(self, request):
        if request.content_type.split(";")[0].strip() not in MEDIA_TYPES:
            raise exceptions.UnsupportedMediaType(request.content_type or "(none)")
        behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback")
        if behaviour != "rollback":
            return problem(
                501,
                "ImplementationException",
                "Not implemented",
                "GS1-Capture-Error-Behaviour: only rollback (all or nothing)",
            )
        try:
            with garbage_collection_paused():  # from the parsed body on, all of it is the capture
                job = epcis_capture(
                    organisation=organisation_of(request.user), document=request.data
                )
        except CaptureTooLarge as exc:
            response = problem(413, "CaptureLimitExceededException", "Too many events", str(exc))
            response["GS1-EPCIS-Capture-Limit"] = str(MAX_EVENTS)
            return response
        except CaptureRefused as exc:
            where = {"eventIndex": exc.index, "eventID": exc.event_id}
            where = {k: v for k, v in where.items() if v is not None}
            return problem(
                400, "ValidationException", "The document was refused", str(exc), **where
            )
        except (IntegrityError, CapturedMeanwhile):  # even after a second try
            return problem(
                409,
                "CaptureException",
                "Captured concurrently",
                "another capture stored one of these eventIDs meanwhile; send again",
            )
        location = reverse("epcis:capture-job", kwargs={"capture_id": job.public_id})
        return Response(capture_job(job), status=202, headers={"Location": location})


class CaptureJobView(EpcisView):
    @extend_schema(
        operation_id="epcis_capture_job",
        summary="A capture job of yours",
        responses={
            200: OpenApiResponse(
                description="the capture job: captureID, createdAt, finishedAt, running, "
                "success, captureErrorBehaviour, errors, and the counts of events, custody "
                "events, observations and duplicates"
            ),
            404: OpenApiResponse(description="no capture job of yours has this id"),
        },
    )
    def get(self, request, capture_id):
        org = organisation_of(request.user)
        job = get_object_or_404(CaptureJob, public_id=capture_id, organisation=org)
        return Response(capture_job(job))


def _links(request, page: query.Page) -> dict:
    if page.next_token is None:
        return {}
    params = request.GET.copy()
    params["nextPageToken"] = page.next_token
    url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return {
        "Link": f'<{url}>; rel="next"',
        "GS1-Next-Page-Token-Expires": page.token_expires.isoformat(),
    }


class EventsView(EpcisView):
    @extend_schema(
        operation_id="epcis_events",
        summary="Query the EPCIS events you may see",
        description=(
            "EPCIS query parameters: `MATCH_epc`, `MATCH_anyEPC`, `MATCH_parentID`, "
            "`EQ_bizStep`, `EQ_disposition`, `EQ_bizLocation`, `EQ_readPoint`, `eventType`, "
            "`GE_eventTime`, `LT_eventTime` (values separated by `|`), `eventCountLimit`, "
            "`perPage` (at most 1,000) and `nextPageToken` (from the `Link` header). "
            "Regulators see every event; others the custody events about batches they "
            "handled and the observations they captured."
        ),
        parameters=[OpenApiParameter(name, str) for name in query.PARAMETERS],
        responses={
            200: OpenApiResponse(description="an EPCISQueryDocument"),
            400: OpenApiResponse(description="QueryParameterException naming it"),
        },
    )
    def get(self, request):
        try:
            parsed = query.query_parse(request.GET)
        except query.QueryParameterProblem as exc:
            return problem(
                400,
                "QueryParameterException",
                "Invalid query parameter",
                str(exc),
                parameter=exc.parameter,
            )
        page = query.events_page(epcis_events_visible_to(organisation_of(request.user)), parsed)
        return Response(export.query_document(page.events), headers=_links(request, page))


class EventView(EpcisView):
    @extend_schema(
        operation_id="epcis_event",
        summary="One EPCIS event by its eventID",
        responses={
            200: OpenApiResponse(description="an EPCISQueryDocument holding the one event"),
            404: OpenApiResponse(description="no event you may see has this eventID"),
        },
    )
    def get(self, request, event_id):
        visible = epcis_events_visible_to(organisation_of(request.user))
        row = get_object_or_404(visible, event_id=event_id)
        return Response(export.query_document(query.events_as_epcis([row])))


EXPORT_CHUNK = 200


def _batch_document_chunks(entries: list[int]):
    """The EPCIS document, written as it is read: a batch may have many events."""
    head = json.dumps(export.document([]))
    before, after = head.split('"eventList": []')
    yield before + '"eventList": ['
    for start in range(0, len(entries), EXPORT_CHUNK):
        events = export.custody_events(entries[start : start + EXPORT_CHUNK])
        chunk = ", ".join(json.dumps(events[e]) for e in entries[start : start + EXPORT_CHUNK])
        yield (", " if start else "") + chunk
    yield "]" + after


class BatchEventsView(EpcisView):
    @extend_schema(
        operation_id="epcis_batch_events",
        summary="A batch's custody history as one EPCIS 2.0 document",
        responses={
            200: OpenApiResponse(description="an EPCISDocument (JSON-LD)"),
            404: OpenApiResponse(description="no batch you handled has this GTIN and lot"),
        },
    )
    def get(self, request, gtin, lot):
        org = organisation_of(request.user)
        batch = get_object_or_404(batches_visible_to(org), product__gtin=gtin, lot=lot)
        entries = sorted(
            set(BatchEvent.objects.filter(batch=batch).values_list("entry", flat=True))
        )
        response = StreamingHttpResponse(
            _batch_document_chunks(entries), content_type="application/ld+json"
        )
        filename = f"epcis-{gtin}-{lot}.jsonld".replace("/", "_").replace('"', "_")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
