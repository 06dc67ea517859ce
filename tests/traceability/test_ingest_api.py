"""API clients sign custody events with their own keys: POST /api/v1/statements."""

import base64
import copy
import importlib.util
import uuid
from pathlib import Path

import nacl.signing
import pytest
import rfc8785

from accounts.services import token_create
from ledger import storage
from tests.factories import gln
from traceability import keys
from traceability.models import Member, Pack, Shipment

pytestmark = pytest.mark.django_db

CLIENT_PATH = Path(__file__).resolve().parents[2] / "examples" / "client.py"
spec = importlib.util.spec_from_file_location("example_client", CLIENT_PATH)
client_example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(client_example)


def own_key(org, regulator) -> bytes:
    """The seed of a key `org` keeps itself, registered by the regulator; the platform
    never sees it."""
    private = nacl.signing.SigningKey.generate()
    keys.key_register(
        organisation=org, registered_by=regulator, public_key=bytes(private.verify_key)
    )
    return bytes(private)


@pytest.fixture
def seed(manufacturer, regulator):
    return own_key(manufacturer, regulator)


@pytest.fixture
def api(client, manufacturer, django_user_model):
    user = django_user_model.objects.create_user("erp-integration", password="pw")
    Member.objects.create(user=user, organisation=manufacturer)
    _, token = token_create(user=user, name="ERP")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def post(api, signed):
    return api.post("/api/v1/statements", {"statements": signed}, content_type="application/json")


def ship(manufacturer, receiver, packs, seed):
    event = client_example.ship_event(
        manufacturer.gln, receiver.gln, [(p.gtin, p.serial) for p in packs]
    )
    return client_example.sign("ship", event, manufacturer.gln, seed)


def test_example_client_ships_packs_signed_with_its_own_key(
    api, batch, manufacturer, distributor, seed
):
    packs = list(batch.packs.order_by("pk")[:3])
    response = post(api, [ship(manufacturer, distributor, packs, seed)])
    assert response.status_code == 201, response.json()
    assert response.json()["size"] == storage.head_size()
    shipment = Shipment.objects.get()
    assert (shipment.sender, shipment.receiver, shipment.pack_count) == (
        manufacturer,
        distributor,
        3,
    )
    assert set(Pack.objects.filter(shipment=shipment).values_list("pk", flat=True)) == {
        p.pk for p in packs
    }


def refused(api, signed, message, position=0):
    size = storage.head_size()
    response = post(api, signed)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"], body
    assert body["position"] == position
    assert storage.head_size() == size
    return body


def test_a_tampered_statement_is_refused_and_nothing_is_written(
    api, batch, manufacturer, distributor, seed
):
    signed = ship(manufacturer, distributor, list(batch.packs.all()[:1]), seed)
    signed["statement"]["body"]["destinationList"][0]["destination"] = (
        "https://id.gs1.org/414/" + gln()
    )
    refused(api, [signed], "signature does not verify")


def test_a_replayed_statement_is_refused(api, batch, manufacturer, distributor, seed):
    signed = ship(manufacturer, distributor, list(batch.packs.all()[:1]), seed)
    assert post(api, [signed]).status_code == 201
    replay = copy.deepcopy(signed)
    refused(api, [replay], "nonce was already used: a replayed statement")


def test_statements_signed_for_another_organisation_are_refused(
    api, batch, distributor, pharmacy, seed
):
    signed = ship(distributor, pharmacy, list(batch.packs.all()[:1]), seed)
    refused(api, [signed], "signer.org must be your organisation's GLN")


def test_custody_rules_apply_to_client_statements(api, batch, manufacturer, distributor, seed):
    packs = list(batch.packs.order_by("pk")[:2])
    good = ship(manufacturer, distributor, packs[:1], seed)
    twice = ship(manufacturer, distributor, packs[:1], seed)
    refused(api, [good, twice], "a pack or case appears in two events of this batch", position=1)
    Pack.objects.filter(pk=packs[1].pk).update(status=Pack.Status.DESTROYED)
    refused(
        api,
        [ship(manufacturer, distributor, packs[1:], seed)],
        "is destroyed and can no longer move",
    )


def test_unknown_packs_and_malformed_events_are_named(api, batch, manufacturer, distributor, seed):
    event = client_example.ship_event(
        manufacturer.gln, distributor.gln, [("04000001000012", "NOPE")]
    )
    refused(
        api,
        [client_example.sign("ship", event, manufacturer.gln, seed)],
        "pack 04000001000012/NOPE is unknown",
    )
    event["epcList"] = ["urn:epc:id:sgtin:bad"]
    refused(api, [client_example.sign("ship", event, manufacturer.gln, seed)], "is not a pack URI")
    event["bizStep"] = "receiving"
    refused(
        api,
        [client_example.sign("ship", event, manufacturer.gln, seed)],
        "a ship has bizStep 'shipping'",
    )


def test_a_serial_no_pack_can_have_is_an_unknown_pack(api, batch, manufacturer, distributor, seed):
    event = client_example.ship_event(manufacturer.gln, distributor.gln, [])
    event["epcList"] = [f"https://id.gs1.org/01/{batch.product.gtin}/21/A%00B"]
    signed = [client_example.sign("ship", event, manufacturer.gln, seed)]
    refused(api, signed, f"pack {batch.product.gtin}/A\x00B is unknown")


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_event_time_outside_years_1_to_9999_in_utc_is_refused(
    api, batch, manufacturer, distributor, seed, when
):
    event = client_example.ship_event(
        manufacturer.gln, distributor.gln, [(p.gtin, p.serial) for p in batch.packs.all()[:1]]
    )
    event["eventTime"] = when
    signed = [client_example.sign("ship", event, manufacturer.gln, seed)]
    refused(api, signed, f"body.eventTime {when!r} is outside years 1 to 9999 in UTC")
    assert api.get("/epcis/events").status_code == 200, "queries still answer"


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "statements: must be a non-empty list of signed statements"),
        ({"statements": []}, "statements: must be a non-empty list of signed statements"),
        ({"statements": "x"}, "statements: must be a non-empty list of signed statements"),
        ({"statements": [{"statement": {}, "signature": "x"}]}, "statement is missing"),
        ({"statements": ["nope"]}, "expected"),
    ],
)
def test_malformed_batches_get_400_naming_the_problem(api, payload, message):
    response = api.post("/api/v1/statements", payload, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_batch_that_is_not_a_list_names_the_field_not_a_statement_position(api):
    response = api.post(
        "/api/v1/statements", {"statements": {"a": 1}}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "statements: must be a non-empty list of signed statements",
        "code": "invalid",
        "fields": {"statements": ["must be a non-empty list of signed statements"]},
    }


def test_more_statements_than_the_limit_are_refused_before_any_is_read(api):
    size = storage.head_size()
    payload = {"statements": [{}] * 10_001}
    response = api.post("/api/v1/statements", payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "statements": ["at most 10,000 statements per request, not 10,001"]
    }
    assert storage.head_size() == size


@pytest.mark.parametrize(
    "number, message",
    [("9" * 5_000, "has 5,000 digits, too many"), ("1e999", "the number 1e999 is too large")],
)
def test_a_number_no_client_means_is_named_in_the_parse_error(api, number, message):
    body = '{"statements": [{"statement": {"v": ' + number + '}, "signature": "x"}]}'
    response = api.post("/api/v1/statements", body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert "sys." not in response.json()["error"]


def test_an_oversized_body_is_refused_with_a_json_413_and_nothing_written(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    size = storage.head_size()
    body = '{"statements": ["' + "x" * 2_000 + '"]}'
    response = api.post("/api/v1/statements", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "error": "request body is larger than the 1,000-byte limit",
        "code": "too_large",
    }
    assert storage.head_size() == size


def test_a_non_json_body_is_a_400(api):
    response = api.post("/api/v1/statements", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_the_api_needs_a_token(client):
    response = client.post(
        "/api/v1/statements", {"statements": []}, content_type="application/json"
    )
    assert response.status_code == 401


def test_the_example_client_signs_exactly_what_the_readme_says(seed):
    signed = client_example.sign("ship", {"type": "ObjectEvent"}, "4000000000020", seed)
    message = b"drug-traceability/statement/v1\n" + rfc8785.dumps(signed["statement"])
    key = nacl.signing.SigningKey(seed).verify_key
    key.verify(message, base64.b64decode(signed["signature"]))


def test_one_shipment_cannot_go_to_two_receivers(
    api, batch, manufacturer, distributor, pharmacy, seed
):
    packs = list(batch.packs.order_by("pk")[:2])
    first = client_example.ship_event(
        manufacturer.gln, distributor.gln, [(packs[0].gtin, packs[0].serial)]
    )
    second = client_example.ship_event(
        manufacturer.gln, pharmacy.gln, [(packs[1].gtin, packs[1].serial)]
    )
    second["shipment"] = first["shipment"]
    signed = [client_example.sign("ship", e, manufacturer.gln, seed) for e in (first, second)]
    refused(api, signed, "goes to another receiver earlier in this batch", position=1)


def test_a_large_client_shipment_may_span_statements(api, batch, manufacturer, distributor, seed):
    packs = [(p.gtin, p.serial) for p in batch.packs.order_by("pk")[:4]]
    first = client_example.ship_event(manufacturer.gln, distributor.gln, packs[:2])
    second = client_example.ship_event(manufacturer.gln, distributor.gln, packs[2:])
    second["shipment"] = first["shipment"]
    signed = [client_example.sign("ship", e, manufacturer.gln, seed) for e in (first, second)]
    assert post(api, signed).status_code == 201
    assert Shipment.objects.get().pack_count == 4


def test_a_forged_statement_is_named_before_an_earlier_one_that_breaks_a_rule(
    api, batch, manufacturer, distributor, seed
):
    """Rules are checked while the signatures verify, but a batch with a bad
    signature is refused for it, as if signatures were checked first."""
    packs = list(batch.packs.order_by("pk")[:2])
    unknown = client_example.ship_event(
        manufacturer.gln, distributor.gln, [("04000001000012", "NOPE")]
    )
    forged = ship(manufacturer, distributor, packs[1:], seed)
    forged["statement"]["body"]["shipment"] = str(uuid.uuid4())
    signed = [client_example.sign("ship", unknown, manufacturer.gln, seed), forged]
    refused(api, signed, "signature does not verify", position=1)
    refused(api, signed[:1], "pack 04000001000012/NOPE is unknown", position=0)


def test_an_event_time_that_is_not_a_time_is_named(api, batch, manufacturer, distributor, seed):
    packs = list(batch.packs.order_by("pk")[:1])
    event = client_example.ship_event(
        manufacturer.gln, distributor.gln, [(packs[0].gtin, packs[0].serial)]
    )
    event["eventTime"] = "yesterday"
    refused(
        api,
        [client_example.sign("ship", event, manufacturer.gln, seed)],
        "body.eventTime must be a date and time",
    )


def test_an_event_time_without_a_time_zone_is_refused_as_ambiguous(
    api, batch, manufacturer, distributor, seed
):
    pack = batch.packs.order_by("pk").first()
    event = client_example.ship_event(manufacturer.gln, distributor.gln, [(pack.gtin, pack.serial)])
    event["eventTime"] = "2026-11-23T09:30:00"
    refused(
        api,
        [client_example.sign("ship", event, manufacturer.gln, seed)],
        "body.eventTime needs a time zone offset, e.g. Z or +01:00",
    )
    assert not pack.events.exists(), "nothing after its commissioning"
