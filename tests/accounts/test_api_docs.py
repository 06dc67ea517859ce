import re

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_with_the_bearer_scheme(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Drug traceability API"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    root = schema["paths"]["/api/v1/"]["get"]
    assert {"bearerAuth": []} in root["security"]
    assert set(root["responses"]) == {"200", "401", "403"}


def test_the_schema_is_also_served_as_json(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_reference_page_lists_the_operations_without_anything_from_elsewhere(client):
    response = client.get("/api/reference/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "GET /api/v1/" in html
    assert "bearerAuth" in html
    assert 'id="schema-ApiRoot"' in html
    # Served under CSP default-src 'self': every script, style, image and link is ours.
    assert "<script" not in html
    assert not re.search(r"(?:src|href|action)=[\"'](?:[a-z]+:)?//", html, re.IGNORECASE)
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]*(?:cdn|jsdelivr|unpkg)", html)
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_descriptions_on_the_docs_page_are_escaped_with_code_spans_kept():
    from accounts.api import _code_spans

    assert _code_spans("<b>use `Bearer <token>`</b>") == (
        "&lt;b&gt;use <code>Bearer &lt;token&gt;</code>&lt;/b&gt;"
    )


def test_the_interactive_docs_load_swagger_ui_from_our_own_static_files(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # Split view: the start-up script is a file of ours, not inline (the CSP forbids inline).
    assert re.search(r"<script src=\"[^\"]*/api/docs/\?script=\"", html)
    assert not re.search(r"<script>\s*\S", html)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()


def test_the_schema_builds_without_a_warning_so_every_operation_is_documented(tmp_path):
    """A warning means an operation left out or two components under one name."""
    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--fail-on-warn")


def test_every_operation_that_looks_something_up_by_path_documents_its_404(client):
    """Objects of other organisations are 404s, so a client must expect them."""
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    lookups = [
        (method, path)
        for path, operations in paths.items()
        if "{" in path
        for method, operation in operations.items()
        if "404" not in operation["responses"]
    ]
    assert lookups == []
