from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import authentication, services
from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def bearer(plaintext):
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def test_a_bearer_token_opens_the_api_and_says_who_i_am(owner, client):
    _, plaintext = services.token_create(user=owner, name="ERP")
    response = client.get("/api/v1/", **bearer(plaintext))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    org = owner.member.organisation
    assert body["whoami"] == {
        "username": "owner",
        "organisation": org.name,
        "gln": org.gln,
        "role": "pharmacy",
    }
    links = body["links"]
    assert links["schema"] == "http://testserver/api/schema/"
    assert links["docs"] == "http://testserver/api/docs/"
    assert links["ledger"]["checkpoint"] == "http://testserver/ledger/checkpoint"
    assert links["ledger"]["entry"] == "http://testserver/ledger/entries/{index}"


def test_the_entry_point_links_lead_somewhere(owner, client):
    _, plaintext = services.token_create(user=owner, name="ERP")
    links = client.get("/api/v1/", **bearer(plaintext)).json()["links"]
    for url in [links["schema"], links["docs"], links["ledger"]["checkpoint"]]:
        assert client.get(url).status_code == 200, url


def test_a_logged_in_member_can_use_the_api_from_the_browser(owner_client):
    response = owner_client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["whoami"]["username"] == "owner"


def test_without_a_token_the_api_answers_401_asking_for_a_bearer_token(client):
    response = client.get("/api/v1/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "error": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_an_unknown_token_is_refused_with_401(owner, client):
    response = client.get("/api/v1/", **bearer("dt_not-a-token-we-ever-made"))
    assert response.status_code == 401
    assert response.json() == {"error": authentication.UNKNOWN, "code": "authentication_failed"}


def test_a_revoked_token_is_refused_with_401(owner, client):
    token, plaintext = services.token_create(user=owner, name="ERP")
    services.token_revoke(token=token, by_user=owner)
    response = client.get("/api/v1/", **bearer(plaintext))
    assert response.status_code == 401
    assert response.json()["error"] == authentication.REVOKED


@pytest.mark.parametrize("header", ["Bearer", "Bearer two parts", "Bearer  "])
def test_a_malformed_authorization_header_is_refused_with_401(client, header):
    response = client.get("/api/v1/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"] == authentication.MALFORMED


def test_a_non_ascii_token_is_refused_with_401(client):
    response = client.get("/api/v1/", HTTP_AUTHORIZATION="Bearer dt_\u00e9t\u00e9")
    assert response.status_code == 401
    assert response.json()["error"] == authentication.MALFORMED


def test_another_authorization_scheme_is_not_a_token(client):
    response = client.get("/api/v1/", HTTP_AUTHORIZATION="Basic b3duZXI6cHc=")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_deactivated_users_token_is_refused_with_401(owner, client):
    _, plaintext = services.token_create(user=owner, name="ERP")
    owner.is_active = False
    owner.save()
    response = client.get("/api/v1/", **bearer(plaintext))
    assert response.status_code == 401
    assert response.json()["error"] == authentication.INACTIVE


def test_a_user_without_an_organisation_is_refused_with_403(loner, client):
    _, plaintext = services.token_create(user=loner, name="ERP")
    response = client.get("/api/v1/", **bearer(plaintext))
    assert response.status_code == 403
    assert response.json() == {
        "error": authentication.NO_ORGANISATION,
        "code": "permission_denied",
    }


def test_a_logged_in_user_without_an_organisation_is_refused_with_403(loner):
    client = Client()
    client.force_login(loner)
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == authentication.NO_ORGANISATION


def test_using_a_token_records_when_at_most_once_a_minute(owner, client, django_assert_num_queries):
    token, plaintext = services.token_create(user=owner, name="ERP")
    assert client.get("/api/v1/", **bearer(plaintext)).status_code == 200
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None

    # Within the minute: one query (the token and its user), no write.
    with django_assert_num_queries(1):
        assert client.get("/api/v1/", **bearer(plaintext)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    client.get("/api/v1/", **bearer(plaintext))
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(seconds=1)
    assert token.last_used_at <= timezone.now()


def test_session_requests_that_change_state_need_the_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/v1/", {}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]
    assert response.json()["code"] == "permission_denied"


def test_a_wrong_method_gets_the_same_error_shape(owner, client):
    _, plaintext = services.token_create(user=owner, name="ERP")
    response = client.delete("/api/v1/", **bearer(plaintext))
    assert response.status_code == 405
    assert response.json() == {
        "error": 'Method "DELETE" not allowed.',
        "code": "method_not_allowed",
    }
