from django.conf import settings
from django.http import JsonResponse


class ContentSecurityPolicyMiddleware:
    """Send one Content-Security-Policy on every response (Django 5.2 has none built in)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class NulInUrlMiddleware:
    """A NUL (%00) in the URL names nothing here, and PostgreSQL will not even
    compare text holding one: wherever a path part or a query parameter reached
    a lookup, the answer was a 500. Refuse it up front, naming where it is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return self.refused("the URL path", "path")
        if "%00" in request.META.get("QUERY_STRING", ""):  # cheap: most requests stop here
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return self.refused(f"query parameter {name!r}", name)
        return self.get_response(request)

    @staticmethod
    def refused(where: str, field: str) -> JsonResponse:
        return JsonResponse(
            {
                "error": f"{where} contains the NUL character (%00), which no name here can hold",
                "code": "invalid",
                "field": field,
            },
            status=400,
        )
