import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

OLD = "correct horse battery"
NEW = "a much longer new passphrase"


def test_the_password_page_needs_a_login(client):
    response = client.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_i_can_change_my_password_and_stay_logged_in(owner, owner_client):
    assert owner_client.get("/accounts/password/").status_code == 200
    response = owner_client.post(
        "/accounts/password/",
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert "Your password was changed." in response.content.decode()
    assert response.context["user"] == owner  # the session survived the change
    assert Client().login(username="owner", password=NEW)
    assert not Client().login(username="owner", password=OLD)


def test_a_wrong_old_password_changes_nothing(owner, owner_client):
    response = owner_client.post(
        "/accounts/password/",
        {"old_password": "not it", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert Client().login(username="owner", password=OLD)


def test_password_change_is_csrf_protected(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(
        "/accounts/password/", {"old_password": OLD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 403
    assert Client().login(username="owner", password=OLD)
