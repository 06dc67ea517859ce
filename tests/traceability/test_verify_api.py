"""GET /api/v1/verify: the verdict, the evidence, and a client that checks the
evidence itself with nothing but ledger.merkle and ledger.note."""

import base64

import pytest

from ledger import merkle, note, storage
from tests.web.helpers import deliver, logged_in
from traceability.models import Alert

pytestmark = pytest.mark.django_db
GS = "\x1d"


def code(pack, lot="A1B2", expiry="280101"):
    return f"01{pack.gtin}17{expiry}10{lot}{GS}21{pack.serial}"


@pytest.fixture
def held(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 2)
    return batch.packs.filter(custodian=pharmacy).order_by("pk").first()


def test_pharmacist_gets_authentic_with_pack_chain_and_proof(held, pharmacy):
    response = logged_in(pharmacy).get("/api/v1/verify", {"code": code(held)})
    assert response.status_code == 200
    body = response.json()
    assert (body["verdict"], body["reasons"]) == ("AUTHENTIC", [])
    assert body["pack"] == {
        "gtin": held.gtin,
        "serial": held.serial,
        "product": "Amoxicillin 500 mg",
        "manufacturer": "Acme Pharma",
        "lot": "A1B2",
        "expiry": "2028-01-01",
        "status": "active",
        "held_by_you": True,
    }
    chain = body["evidence"]["custody_chain"]
    assert [(c["event"], c["by"]["name"], c["signature_valid"]) for c in chain] == [
        ("commission", "Acme Pharma", True),
        ("ship", "Acme Pharma", True),
        ("receive", "Corner Pharmacy", True),
    ]
    assert body["evidence"]["proof_valid"] is True


def test_a_client_checks_the_evidence_without_trusting_the_server(held, pharmacy):
    client = logged_in(pharmacy)
    pinned_log_key = storage.verifier_key()  # obtained out of band, once
    evidence = client.get("/api/v1/verify", {"code": code(held)}).json()["evidence"]

    checkpoint = note.open_checkpoint(evidence["checkpoint"], pinned_log_key)
    proof = evidence["inclusion_proof"]
    latest = evidence["custody_chain"][-1]
    entry_bytes = client.get(latest["entry_url"]).content
    leaf = merkle.leaf_hash(entry_bytes)
    assert proof["index"] == latest["entry"] and proof["size"] == checkpoint.size
    assert base64.b64decode(proof["leaf_hash"]) == leaf
    merkle.verify_inclusion(
        proof["index"],
        checkpoint.size,
        leaf,
        [base64.b64decode(h) for h in proof["proof"]],
        checkpoint.root,
    )
    with pytest.raises(merkle.ProofError):  # and a forged entry would not pass
        merkle.verify_inclusion(
            proof["index"],
            checkpoint.size,
            merkle.leaf_hash(entry_bytes + b" "),
            [base64.b64decode(h) for h in proof["proof"]],
            checkpoint.root,
        )


def test_a_pharmacy_that_never_held_the_pack_sees_diversion_but_not_who_holds_it(batch, pharmacy):
    pack = batch.packs.first()
    body = logged_in(pharmacy).get("/api/v1/verify", {"code": code(pack)}).json()
    assert body["verdict"] == "NOT_IN_YOUR_CUSTODY"
    assert body["pack"]["held_by_you"] is False
    assert [c["by"] for c in body["evidence"]["custody_chain"]] == [None]
    assert "Acme" not in str(body["evidence"]["custody_chain"])
    assert Alert.objects.get().verdict == "NOT_IN_YOUR_CUSTODY"


def test_a_digital_link_scan_is_verified_too(held, pharmacy):
    link = f"https://id.gs1.org/01/{held.gtin}/10/A1B2/21/{held.serial}?17=280101"
    body = logged_in(pharmacy).get("/api/v1/verify", {"code": link}).json()
    assert body["verdict"] == "AUTHENTIC"


def test_an_unknown_serial_is_a_verdict_not_an_error(batch, pharmacy):
    body = logged_in(pharmacy).get("/api/v1/verify", {"code": f"01{batch.product.gtin}21NOPE"})
    assert body.json()["verdict"] == "UNKNOWN_SERIAL"
    assert body.json()["pack"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "code is required"),
        ({"code": "01095060001343521"}, ""),
        ({"code": "0109506000134352"}, "no serial number (21)"),
        ({"code": "hello"}, ""),
        ({"code": "0109506000134352" + "21X", "separator": "ab"}, "single character"),
    ],
)
def test_a_malformed_scan_is_a_400_naming_the_problem_and_writes_nothing(
    batch, pharmacy, params, message
):
    response = logged_in(pharmacy).get("/api/v1/verify", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_scan" and body["field"] in ("code", "separator")
    assert message in body["error"] and body["error"]
    assert Alert.objects.count() == 0


def test_verify_needs_an_organisation_members_token(client, db):
    assert client.get("/api/v1/verify", {"code": "x"}).status_code == 401
