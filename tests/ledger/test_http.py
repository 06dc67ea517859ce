"""The ledger's read-only HTTP API, checked the way an outside auditor would:
trust only the verifier key, verify the checkpoint's signature, then check
every served proof against the signed root with the standalone pure core."""

import base64

import pytest
from django.contrib.auth import get_user_model

from ledger import merkle, note, storage

pytestmark = pytest.mark.django_db

STATEMENTS = [f"statement {i}".encode() for i in range(600)]


@pytest.fixture
def log():
    for start in range(0, len(STATEMENTS), 200):
        storage.append(STATEMENTS[start : start + 200])


def b64d(value):
    return base64.b64decode(value)


def signed_checkpoint(client):
    vkey = client.get("/ledger/pubkey").content.decode().strip()
    response = client.get("/ledger/checkpoint")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    return note.open_checkpoint(response.content.decode(), vkey)


def test_checkpoint_and_pubkey_are_public_plain_text(client, log):
    pubkey = client.get("/ledger/pubkey")
    assert pubkey.status_code == 200
    assert pubkey["Content-Type"] == "text/plain; charset=utf-8"
    name, public_key = note.parse_verifier_key(pubkey.content.decode())
    assert len(public_key) == 32
    checkpoint = client.get("/ledger/checkpoint").content.decode()
    assert checkpoint.startswith(f"{name}\n600\n")
    assert "\n\n\u2014 " + name + " " in checkpoint


def test_auditor_verifies_inclusion_of_every_kind_of_leaf_against_the_signed_root(client, log):
    checkpoint = signed_checkpoint(client)
    assert checkpoint.size == 600
    for index in [0, 1, 255, 256, 511, 599]:
        response = client.get(f"/ledger/proof/inclusion?index={index}&size={checkpoint.size}")
        assert response.status_code == 200
        body = response.json()
        assert body["index"] == index and body["size"] == 600
        assert b64d(body["leaf_hash"]) == merkle.leaf_hash(STATEMENTS[index])
        assert b64d(body["root"]) == checkpoint.root
        merkle.verify_inclusion(
            index,
            600,
            merkle.leaf_hash(STATEMENTS[index]),
            [b64d(p) for p in body["proof"]],
            checkpoint.root,
        )


def test_auditor_verifies_the_log_only_grew_between_two_checkpoints(client, log):
    old = signed_checkpoint(client)
    storage.append([b"one more", b"and another"])
    new = signed_checkpoint(client)
    body = client.get(f"/ledger/proof/consistency?from={old.size}&to={new.size}").json()
    assert (body["from"], body["to"]) == (600, 602)
    assert b64d(body["from_root"]) == old.root
    assert b64d(body["to_root"]) == new.root
    merkle.verify_consistency(
        old.size, new.size, [b64d(p) for p in body["proof"]], old.root, new.root
    )


def test_proof_sizes_default_to_the_latest_checkpoint(client, log):
    assert client.get("/ledger/proof/inclusion?index=5").json()["size"] == 600
    assert client.get("/ledger/proof/consistency?from=5").json()["to"] == 600


@pytest.mark.parametrize(
    "url, message",
    [
        ("/ledger/proof/inclusion", "index is required"),
        ("/ledger/proof/inclusion?index=abc&size=10", "index must be a non-negative integer"),
        ("/ledger/proof/inclusion?index=-1&size=10", "index must be a non-negative integer"),
        ("/ledger/proof/inclusion?index=10&size=10", "index=10 must be at least 0 and less than"),
        ("/ledger/proof/inclusion?index=1&size=601", "size=601 is beyond the log's size 600"),
        ("/ledger/proof/inclusion?index=1&size=99999999999999999999999", "non-negative integer"),
        ("/ledger/proof/consistency?from=0&to=10", "from=0 must be at least 1"),
        ("/ledger/proof/consistency?from=11&to=10", "at most to=10"),
        ("/ledger/proof/consistency?from=1&to=700", "to=700 is beyond the log's size 600"),
        ("/ledger/proof/consistency?to=10", "from is required"),
        ("/ledger/proof/consistency?from=1.5&to=10", "from must be a non-negative integer"),
        ("/ledger/proof/inclusion?index=%C2%B2&size=10", "index must be a non-negative integer"),
        ("/ledger/proof/consistency?from=1&to=%D9%A3", "to must be a non-negative integer"),
    ],
)
def test_bad_proof_parameters_get_400_saying_what_is_wrong(client, log, url, message):
    response = client.get(url)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_proofs_of_an_empty_log_are_refused_clearly(client):
    response = client.get("/ledger/proof/inclusion?index=0")
    assert response.status_code == 400
    assert "less than size=0" in response.json()["error"]


def test_ledger_endpoints_are_read_only(client, log):
    for url in ["/ledger/checkpoint", "/ledger/pubkey", "/ledger/proof/inclusion?index=1"]:
        assert client.post(url).status_code in (403, 405)


def test_entries_need_a_login(client, log):
    response = client.get("/ledger/entries/3")
    assert response.status_code == 401
    assert "authentication required" in response.json()["error"]


def everyone(user, index):
    return True


def nobody(user, index):
    return False


def test_logged_in_user_reads_an_entrys_exact_bytes(client, log, settings):
    settings.LEDGER_ENTRY_ACCESS = "tests.ledger.test_http.everyone"
    user = get_user_model().objects.create_user("auditor", password="pw")
    client.force_login(user)
    response = client.get("/ledger/entries/3")
    assert response.status_code == 200
    assert response.content == STATEMENTS[3]
    assert b64d(response["X-Ledger-Leaf-Hash"]) == merkle.leaf_hash(STATEMENTS[3])
    missing = client.get("/ledger/entries/600")
    assert missing.status_code == 404
    assert "there is no entry 600" in missing.json()["error"]


def test_ledger_page_shows_the_checkpoint_and_recent_entries(client, log):
    response = client.get("/ledger/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tree size <strong>600</strong>" in html
    assert base64.b64encode(merkle.leaf_hash(STATEMENTS[599])).decode() in html
    assert "Content-Security-Policy" in response.headers


def test_ledger_page_of_an_empty_log_says_so(client):
    html = client.get("/ledger/").content.decode()
    assert "The ledger has no entries yet" in html


def test_ledger_page_pages_through_older_entries(client, log):
    first = client.get("/ledger/").content.decode()
    assert "?before=580" in first
    assert "Newer entries" not in first
    older = client.get("/ledger/?before=580").content.decode()
    assert "<td>579</td>" in older and "<td>580</td>" not in older
    assert "?before=600" in older  # back to the newest page
    last = client.get("/ledger/?before=5").content.decode()
    assert "<td>0</td>" in last and "Older entries" not in last


def test_ledger_page_rejects_a_bad_page_parameter(client, log):
    response = client.get("/ledger/?before=soon")
    assert response.status_code == 400
    assert "before must be a non-negative integer" in response.json()["error"]


def test_an_entry_the_caller_may_not_read_looks_like_a_missing_one(client, log, settings):
    settings.LEDGER_ENTRY_ACCESS = "tests.ledger.test_http.nobody"
    client.force_login(get_user_model().objects.create_user("outsider", password="pw"))
    response = client.get("/ledger/entries/3")
    assert response.status_code == 404
    assert response.json()["error"] == "there is no entry 3"
