"""A NUL (%00) in a URL is a 400 naming where it is, never a 500: PostgreSQL
cannot compare text holding one, and no batch, lot, event or parameter has one."""

import pytest

from tests.web.helpers import bearer, logged_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/batches/{gtin}/{lot}%00/",
        "/api/v1/batches/{gtin}/%00/trace",
        "/api/v1/batches/{gtin}/{lot}%00/labels.pdf",
        "/epcis/batches/{gtin}/%00/events",
        "/epcis/events/urn:uuid:a%00b",
    ],
)
def test_a_url_path_with_a_nul_is_refused_naming_the_path(regulator, batch, url):
    url = url.format(gtin=batch.product.gtin, lot=batch.lot)
    for client in (bearer(regulator), logged_in(regulator)):
        response = client.get(url)
        assert response.status_code == 400, response.content[:200]
        assert response.json()["field"] == "path"
        assert "the URL path contains the NUL character" in response.json()["error"]


@pytest.mark.parametrize(
    "parameter", ["EQ_bizStep", "MATCH_epc", "MATCH_anyEPC", "MATCH_parentID", "EQ_readPoint"]
)
def test_an_epcis_query_parameter_with_a_nul_is_refused_naming_it(regulator, parameter):
    response = bearer(regulator).get(f"/epcis/events?perPage=5&{parameter}=urn:x%00y")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["field"] == parameter
    assert f"query parameter {parameter!r} contains the NUL character" in response.json()["error"]


def test_a_scan_with_a_nul_is_refused_naming_the_code(regulator):
    response = bearer(regulator).get("/api/v1/verify?code=01%00")
    assert response.status_code == 400
    assert response.json()["field"] == "code"
