import hashlib

import pytest
from django.test import Client

from accounts import services
from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_new_token_is_random_recognisable_and_stored_only_as_its_digest(owner):
    token, plaintext = services.token_create(user=owner, name="warehouse ERP")
    _, other_plaintext = services.token_create(user=owner, name="warehouse ERP")
    assert plaintext.startswith("dt_") and len(plaintext) >= 40
    assert plaintext != other_plaintext
    token.refresh_from_db()
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:8]
    stored = [str(v) for v in ApiToken.objects.values_list(flat=False).get(pk=token.pk)]
    assert not any(plaintext in value for value in stored)


def test_a_token_needs_a_name(owner):
    with pytest.raises(services.TokenError, match=services.NAME_REQUIRED):
        services.token_create(user=owner, name="   ")


def test_only_the_owner_can_revoke_a_token(owner, outsider):
    token, _ = services.token_create(user=owner, name="ERP")
    with pytest.raises(services.TokenError, match=services.NOT_THE_OWNER):
        services.token_revoke(token=token, by_user=outsider)
    token.refresh_from_db()
    assert token.is_active


def test_revoking_twice_keeps_the_first_revocation_time(owner):
    token, _ = services.token_create(user=owner, name="ERP")
    first = services.token_revoke(token=token, by_user=owner).revoked_at
    assert first is not None
    assert services.token_revoke(token=token, by_user=owner).revoked_at == first


def test_the_tokens_page_needs_a_login(client):
    response = client.get("/accounts/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_with_no_tokens_the_page_says_so(owner_client):
    html = owner_client.get("/accounts/tokens/").content.decode()
    assert "You have no API tokens yet" in html


def test_a_created_token_is_shown_once_and_then_only_its_prefix(owner, owner_client):
    response = owner_client.post("/accounts/tokens/", {"name": "warehouse ERP"})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=owner)
    plaintext = response.context["plaintext"]
    html = response.content.decode()
    assert plaintext in html
    assert "shown only this once" in html

    html = owner_client.get("/accounts/tokens/").content.decode()
    assert plaintext not in html
    assert f"{token.prefix}…" in html
    assert "warehouse ERP" in html
    assert "never" in html  # last used


def test_a_token_without_a_name_is_refused_with_a_message(owner, owner_client):
    response = owner_client.post("/accounts/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_token_creation_is_csrf_protected(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/accounts/tokens/", {"name": "ERP"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_token_creation_with_the_csrf_token_from_the_page_works(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get("/accounts/tokens/")
    csrf = client.cookies["csrftoken"].value
    response = client.post("/accounts/tokens/", {"name": "ERP", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 201
    assert ApiToken.objects.filter(user=owner, name="ERP").exists()


def test_i_can_revoke_my_token_and_the_list_says_revoked(owner, owner_client):
    token, _ = services.token_create(user=owner, name="ERP")
    response = owner_client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/tokens/"
    token.refresh_from_db()
    assert not token.is_active
    html = response.content.decode()
    assert f"Token {token.prefix}… (ERP) is revoked." in html
    assert "revoked " + token.revoked_at.strftime("%Y-%m-%d") in html


def test_another_user_cannot_revoke_my_token(owner, outsider):
    token, _ = services.token_create(user=owner, name="ERP")
    client = Client()
    client.force_login(outsider)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_revoking_needs_a_post(owner, owner_client):
    token, _ = services.token_create(user=owner, name="ERP")
    assert owner_client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    token.refresh_from_db()
    assert token.is_active


def test_the_token_list_shows_only_my_tokens_a_page_at_a_time(owner, outsider, owner_client):
    services.token_create(user=outsider, name="theirs")
    for i in range(25):
        services.token_create(user=owner, name=f"mine {i:02d}")
    first = owner_client.get("/accounts/tokens/")
    assert len(first.context["page"].object_list) == 20
    assert "Page 1 of 2" in first.content.decode()
    second = owner_client.get("/accounts/tokens/?page=2")
    assert len(second.context["page"].object_list) == 5
    names = {t.name for t in first.context["page"]} | {t.name for t in second.context["page"]}
    assert "theirs" not in names
    assert len(names) == 25


def test_the_navigation_links_to_tokens_and_password_when_logged_in(owner_client, client):
    html = owner_client.get("/", follow=True).content.decode()  # members land on the dashboard
    assert 'href="/accounts/tokens/"' in html
    assert 'href="/accounts/password/"' in html
    assert 'href="/accounts/tokens/"' not in client.get("/").content.decode()
