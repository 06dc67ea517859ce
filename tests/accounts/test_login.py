import pytest
from django.test import Client

from accounts import ratelimit

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
TOO_MANY = "Too many failed attempts; try again in 15 minutes."


def log_in(client, username, password, ip="192.0.2.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_the_right_password_logs_in(owner, client):
    response = log_in(client, "owner", PASSWORD)
    assert response.status_code == 302


def test_after_five_failures_the_username_is_locked_from_that_address(owner, client):
    for _ in range(4):
        response = log_in(client, "owner", "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    response = log_in(client, "owner", "wrong")
    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()
    # Not even the right password gets in while locked: guesses cannot be tested.
    response = log_in(client, "owner", PASSWORD)
    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()


def test_the_lock_is_per_username_and_address(owner, outsider, client):
    for _ in range(5):
        log_in(client, "owner", "wrong")
    assert log_in(client, "owner", PASSWORD, ip="198.51.100.7").status_code == 302
    assert log_in(Client(), "outsider", PASSWORD).status_code == 302


def test_the_username_is_matched_whatever_its_case(owner, client):
    for name in ["owner", "OWNER", "Owner", "owner ", "oWnEr"]:
        log_in(client, name, "wrong")
    assert log_in(client, "owner", PASSWORD).status_code == 429


def test_twenty_failures_from_one_address_lock_that_address(owner, client):
    for i in range(19):
        assert log_in(client, f"guess{i}", "wrong").status_code == 200
    assert log_in(client, "guess19", "wrong").status_code == 429
    assert log_in(client, "owner", PASSWORD).status_code == 429
    assert log_in(client, "owner", PASSWORD, ip="198.51.100.7").status_code == 302


def test_a_successful_login_clears_the_count_of_failures(owner, client):
    for _ in range(4):
        log_in(client, "owner", "wrong")
    assert log_in(client, "owner", PASSWORD).status_code == 302
    for _ in range(4):
        assert log_in(Client(), "owner", "wrong").status_code == 200


def test_the_lock_lifts_after_fifteen_minutes(owner, client, monkeypatch):
    for _ in range(5):
        log_in(client, "owner", "wrong")
    start = ratelimit._now()
    monkeypatch.setattr(ratelimit, "_now", lambda: start + 10 * 60)
    response = log_in(client, "owner", PASSWORD)
    assert response.status_code == 429
    assert "try again in 5 minutes" in response.content.decode()
    monkeypatch.setattr(ratelimit, "_now", lambda: start + 15 * 60 + 1)
    assert log_in(client, "owner", PASSWORD).status_code == 302


def test_the_login_page_still_uses_its_template_and_names(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "registration/login.html" in [t.name for t in response.templates]


def test_the_admin_login_counts_towards_the_same_limit(owner, client):
    for _ in range(5):
        client.post(
            "/admin/login/", {"username": "owner", "password": "wrong"}, REMOTE_ADDR="192.0.2.1"
        )
    response = client.post(
        "/admin/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="192.0.2.1"
    )
    assert TOO_MANY in response.content.decode()
    assert log_in(client, "owner", PASSWORD).status_code == 429
