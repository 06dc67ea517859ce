import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from ledger import storage
from traceability.models import Pack

pytestmark = pytest.mark.django_db


def seed_json(capsys):
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


def test_seed_demo_json_prints_users_and_sample_packs(capsys):
    data = seed_json(capsys)
    assert set(data) == {"users", "samples", "recalled_batch"}
    assert {u["role"] for u in data["users"]} == {
        "regulator",
        "manufacturer",
        "distributor",
        "pharmacy",
    }
    assert all(set(u) == {"username", "password", "org", "role", "token"} for u in data["users"])
    pharmacists = {u["username"] for u in data["users"] if u["role"] == "pharmacy"}
    assert data["recalled_batch"] == {"gtin": "04000001000012", "lot": "AMX2601"}
    for kind in ("authentic", "dispensed", "recalled"):
        assert data["samples"][kind], kind
        for sample in data["samples"][kind]:
            assert set(sample) == {"gtin", "serial", "lot", "expiry", "holder"}
            assert sample["holder"] in pharmacists


def test_demo_tokens_work_on_the_api(capsys, client):
    users = seed_json(capsys)["users"]
    for user in users:
        response = client.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {user['token']}")
        assert response.status_code == 200, user["username"]
        assert response.json()["whoami"]["username"] == user["username"]


def test_demo_samples_say_what_the_projections_say(capsys):
    samples = seed_json(capsys)["samples"]
    expected = {"authentic": "active", "dispensed": "supplied", "recalled": "recalled"}
    for kind, status in expected.items():
        for sample in samples[kind]:
            pack = Pack.objects.get(gtin=sample["gtin"], serial=sample["serial"])
            assert pack.status == status
            assert pack.batch.lot == sample["lot"]
            assert pack.custodian.members.get().user.username == sample["holder"]


def test_the_demo_recall_reached_distributors_and_pharmacies_some_dispensed(capsys):
    from traceability.models import Recall
    from traceability.trace import batch_trace

    seed_json(capsys)
    trace = batch_trace(Recall.objects.get().batches.get())
    roles = {h.org.role for h in trace.holders if h.total}
    assert roles == {"manufacturer", "distributor", "pharmacy"}
    assert trace.totals()["dispensed"] > 0 and trace.totals()["quarantined"] > 0


def test_demo_data_is_signed_into_a_ledger_that_verifies_and_replays(capsys):
    seed_json(capsys)
    call_command("ledger", "verify")
    call_command("rebuild_projections", "--check")


def test_demo_user_can_log_in_with_the_printed_password(capsys):
    user = seed_json(capsys)["users"][0]
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": user["username"], "password": user["password"]}
    )
    assert response.status_code == 302
    assert client.get("/", follow=True).context["user"].username == user["username"]


def test_seed_demo_if_empty_leaves_an_existing_database_alone(capsys):
    seed_json(capsys)
    size = storage.head_size()
    call_command("seed_demo", "--if-empty")
    assert storage.head_size() == size
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
