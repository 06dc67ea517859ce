"""The public page at a pack's GS1 Digital Link path."""

import base64
import json

import pytest
from django.core.cache import cache
from django.test import Client

from ledger import merkle, note, storage
from tests.web.helpers import deliver
from traceability import pack_states
from traceability.models import Alert, Pack
from traceability.web import patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()


@pytest.fixture
def dispensed(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 2)
    pack = batch.packs.filter(custodian=pharmacy).first()
    pack_states.pack_dispense(pharmacy=pharmacy, gtin=pack.gtin, serial=pack.serial)
    return pack


def link(pack, lot="A1B2", expiry="280101"):
    return f"/01/{pack.gtin}/10/{lot}/21/{pack.serial}?17={expiry}"


def test_a_patient_with_a_dispensed_pack_sees_it_is_genuine_without_where_it_has_been(
    client, dispensed
):
    page = client.get(link(dispensed))
    html = page.content.decode()
    assert page.status_code == 200
    assert "This pack is genuine" in html
    assert "Amoxicillin 500 mg" in html and "A1B2" in html and "2028-01-01" in html
    assert "No recall for this batch." in html
    assert "Corner Pharmacy" not in html and "dispensed" not in html.lower()
    assert Alert.objects.count() == 0


def test_a_recalled_batch_is_said_so(client, dispensed):
    Pack.objects.filter(pk=dispensed.pk).update(status=Pack.Status.RECALLED)  # as issue 6 will
    assert "This batch is recalled" in client.get(link(dispensed)).content.decode()


def test_the_proof_bundle_checks_out_with_the_pinned_log_key(client, dispensed):
    response = client.get(link(dispensed) + "&format=proof")
    assert response["Content-Disposition"].startswith("attachment;")
    bundle = json.loads(response.content)
    checkpoint = note.open_checkpoint(bundle["checkpoint"], storage.verifier_key())
    proof = bundle["inclusion_proof"]
    assert bundle["entry_hash"] == proof["leaf_hash"]
    merkle.verify_inclusion(
        proof["index"],
        checkpoint.size,
        base64.b64decode(proof["leaf_hash"]),
        [base64.b64decode(h) for h in proof["proof"]],
        checkpoint.root,
    )


def test_without_lot_and_expiry_the_page_asks_for_them_and_reveals_nothing(client, batch):
    known = client.get(f"/01/{batch.product.gtin}/21/{batch.packs.first().serial}")
    unknown = client.get(f"/01/{batch.product.gtin}/21/NOSUCHSERIAL")
    for page in (known, unknown):
        assert page.status_code == 200
        assert 'id="ask"' in page.content.decode()
        assert "genuine" not in page.content.decode()


def test_the_ask_form_leads_to_the_full_digital_link(client, dispensed):
    answer = client.get(
        f"/01/{dispensed.gtin}/21/{dispensed.serial}", {"lot": "A1B2", "expiry": "2028-01-01"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == link(dispensed)


def test_unknown_serial_wrong_lot_and_stolen_pack_all_look_the_same(client, batch, dispensed):
    stolen = batch.packs.filter(status=Pack.Status.ACTIVE, custodian=dispensed.custodian).first()
    pack_states.pack_report_stolen(holder=stolen.custodian, gtin=stolen.gtin, serial=stolen.serial)
    pages = [
        client.get(f"/01/{batch.product.gtin}/10/A1B2/21/NOSUCHSERIAL?17=280101"),
        client.get(link(dispensed, lot="Z9")),
        client.get(link(stolen)),
    ]
    bodies = {p.content.decode().replace(p.wsgi_request.path, "") for p in pages}
    assert len(bodies) == 1
    assert "We could not confirm this pack" in bodies.pop()
    assert client.get(link(stolen) + "&format=proof").status_code == 404


def test_a_malformed_link_is_a_400(client, db):
    page = client.get("/01/09506000134353/21/ABC")  # bad check digit
    assert page.status_code == 400
    assert "not a valid pack link" in page.content.decode()


def test_lookups_are_rate_limited_per_client(dispensed, monkeypatch):
    # Mid-minute, so a slow run cannot cross into the next window.
    monkeypatch.setattr(patient, "_now", lambda: 1_800_000_030.0)
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(30):
        assert client.get(link(dispensed)).status_code == 200
    limited = client.get(link(dispensed))
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="203.0.113.10").get(link(dispensed)).status_code == 200
