import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def seed_json(capsys):
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


def test_seed_demo_json_prints_users_and_the_samples_shape(capsys):
    data = seed_json(capsys)
    assert set(data) == {"users", "samples", "recalled_batch"}
    assert set(data["samples"]) == {"authentic", "dispensed", "recalled"}
    user = data["users"][0]
    assert set(user) == {"username", "password", "org", "role", "token"}


def test_demo_user_can_log_in_with_the_printed_password(capsys):
    user = seed_json(capsys)["users"][0]
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": user["username"], "password": user["password"]}
    )
    assert response.status_code == 302
    assert client.get("/").context["user"].username == user["username"]


def test_seed_demo_if_empty_leaves_an_existing_database_alone(capsys):
    get_user_model().objects.create_user("someone", password="theirs")
    call_command("seed_demo", "--if-empty")
    assert not get_user_model().objects.filter(username="auditor").exists()
    assert "nothing seeded" in capsys.readouterr().err


def test_home_page_shows_the_ledger_size_and_a_login_link(client):
    html = client.get("/").content.decode()
    assert "<strong>0</strong> entries" in html
    assert 'href="/accounts/login/"' in html


def test_login_form_is_csrf_protected():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_wrong_password_is_refused_with_a_message(client):
    get_user_model().objects.create_user("pharmacist", password="right")
    response = client.post("/accounts/login/", {"username": "pharmacist", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_every_page_sends_a_content_security_policy(client):
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
