"""Integrators push EPCIS documents; events about the platform's packs become
signed custody statements held to the custody rules."""

import json

import pytest
from django.test import Client

from ledger import storage
from tests.epcis.conftest import (
    capture,
    document,
    event_url,
    object_event,
    pack_uri,
    to,
)
from tests.web.helpers import deliver, in_stock, logged_in
from traceability import statements
from traceability.models import (
    CaptureJob,
    Case,
    EpcisEvent,
    Pack,
    Shipment,
    SigningKey,
    StatementRecord,
)
from traceability.rebuild import differences

pytestmark = pytest.mark.django_db


def urn(pack) -> str:
    """The pack's SGTIN as an EPC URN (company prefix 0950600, as in the test GTIN)."""
    gtin = pack.gtin
    return f"urn:epc:id:sgtin:{gtin[1:8]}.{gtin[0]}{gtin[8:13]}.{pack.serial}"


def ship_event(event_id, packs, receiver, **fields):
    return object_event(
        event_id,
        "shipping",
        [pack_uri(p) for p in packs],
        disposition="in_transit",
        destinationList=to(receiver),
        **fields,
    )


def refused(client, doc, *, index, event_id, message):
    size, observations = storage.head_size(), EpcisEvent.objects.count()
    response = capture(client, doc)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "epcisException:ValidationException"
    assert problem["eventIndex"] == index
    assert problem.get("eventID") == event_id
    assert message in problem["detail"], problem
    assert storage.head_size() == size, "nothing may reach the ledger"
    assert EpcisEvent.objects.count() == observations, "nothing may be stored"
    return problem


def test_manufacturer_ships_packs_by_epcis_and_the_distributor_receives_them(
    as_manufacturer, as_distributor, batch, manufacturer, distributor
):
    packs = list(batch.packs.order_by("pk")[:3])
    response = capture(as_manufacturer, document(ship_event("urn:uuid:ship-1", packs, distributor)))
    assert response.status_code == 202, response.json()
    assert response["Location"] == f"/epcis/capture/{response.json()['captureID']}"
    assert response.json()["custodyEventCount"] == 1

    shipment = Shipment.objects.get()
    assert (shipment.sender, shipment.receiver, shipment.pack_count) == (
        manufacturer,
        distributor,
        3,
    )
    record = StatementRecord.objects.get(entry=shipment.shipped_entry)
    assert (record.kind, record.organisation) == ("ship", manufacturer)

    receipt = object_event(
        "urn:uuid:receive-1", "receiving", [urn(p) for p in packs], disposition="in_progress"
    )
    response = capture(as_distributor, document(receipt))
    assert response.status_code == 202, response.json()
    assert set(
        Pack.objects.filter(pk__in=[p.pk for p in packs]).values_list("custodian", flat=True)
    ) == {distributor.pk}
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RECEIVED


def test_captured_custody_event_is_signed_with_the_capturers_custodial_key(
    as_manufacturer, batch, manufacturer, distributor
):
    pack = batch.packs.first()
    capture(as_manufacturer, document(ship_event("urn:uuid:signed", [pack], distributor)))
    row = EpcisEvent.objects.get(event_id="urn:uuid:signed")
    signed = statements.parse_entry(bytes(storage.entry_get(row.entry).data))
    assert signed.signer_org == manufacturer.gln
    assert signed.body["eventID"] == "urn:uuid:signed"
    assert signed.body["eventTime"] == "2026-11-23T09:00:00.000+01:00"


def test_a_broken_rule_refuses_the_whole_document_naming_the_event(
    as_distributor, batch, distributor, pharmacy
):
    observation = object_event("urn:uuid:seen", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    not_held = ship_event("urn:uuid:not-mine", [batch.packs.first()], pharmacy)
    refused(
        as_distributor,
        document(observation, not_held),
        index=1,
        event_id="urn:uuid:not-mine",
        message="is not held by Northern Wholesale",
    )


def test_a_schema_violation_names_the_event(as_distributor):
    broken = object_event("urn:uuid:broken", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    del broken["eventTimeZoneOffset"]
    fine = object_event("urn:uuid:fine", "inspecting", ["urn:epc:id:sgtin:0614141.107346.2"])
    problem = refused(
        as_distributor,
        document(fine, broken),
        index=1,
        event_id="urn:uuid:broken",
        message="'eventTimeZoneOffset' is a required property",
    )
    assert problem["detail"].startswith("event 1 (urn:uuid:broken): epcisBody/eventList/1")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (5, "epcisBody: 5 is not of type 'object'"),
        ({"queryResults": 5}, "epcisBody/queryResults: 5 is not of type 'object'"),
        (
            {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": 5}},
            "epcisBody/queryResults/resultsBody: 5 is not of type 'object'",
        ),
    ],
)
def test_an_envelope_part_of_the_wrong_type_is_named(as_distributor, body, where):
    doc = {**document(), "type": "EPCISQueryDocument", "epcisBody": body}
    response = capture(as_distributor, doc)
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["type"] == "epcisException:ValidationException"
    assert where in problem["detail"], problem
    assert "eventIndex" not in problem


def test_an_event_time_that_is_not_a_date_is_refused(as_distributor):
    event = object_event("urn:uuid:when", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    event["eventTime"] = "yesterday"
    refused(
        as_distributor,
        document(event),
        index=0,
        event_id="urn:uuid:when",
        message="eventTime 'yesterday' is not an RFC 3339 date-time",
    )


def test_capturing_the_same_event_twice_stores_it_once(as_manufacturer, batch, distributor):
    pack = batch.packs.first()
    event = ship_event("urn:uuid:once", [pack], distributor)
    first = capture(as_manufacturer, document(event, event))
    assert first.status_code == 202
    assert (first.json()["custodyEventCount"], first.json()["duplicateCount"]) == (1, 1)
    size = storage.head_size()
    again = capture(as_manufacturer, document(event))
    assert again.status_code == 202
    assert again.json()["duplicateCount"] == 1
    assert storage.head_size() == size
    assert Shipment.objects.count() == 1
    assert EpcisEvent.objects.filter(event_id="urn:uuid:once").count() == 1


def test_an_observation_without_event_id_gets_one_and_is_captured_once(as_distributor):
    event = object_event("x", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    del event["eventID"]
    assert capture(as_distributor, document(event)).json()["observationCount"] == 1
    assert capture(as_distributor, document(event)).json()["duplicateCount"] == 1
    assert EpcisEvent.objects.get().event_id.startswith("urn:uuid:")


def test_manufacturer_commissions_serials_by_epcis_then_ships_them_in_the_same_document(
    as_manufacturer, batch, distributor
):
    new = [f"https://id.gs1.org/01/{batch.product.gtin}/21/NEW{i}" for i in range(3)]
    commission = object_event(
        "urn:uuid:commission",
        "commissioning",
        new,
        action="ADD",
        disposition="active",
        ilmd={"cbvmda:lotNumber": "L2", "cbvmda:itemExpirationDate": "2029-01-31"},
    )
    ship = object_event(
        "urn:uuid:ship-new",
        "shipping",
        new[:2],
        disposition="in_transit",
        destinationList=to(distributor),
    )
    response = capture(as_manufacturer, document(commission, ship))
    assert response.status_code == 202, response.json()
    lot = batch.product.batches.get(lot="L2")
    assert (lot.quantity, str(lot.expires_on), str(lot.manufactured_on)) == (
        3,
        "2029-01-31",
        "2026-11-23",
    )
    assert lot.packs.filter(shipment__isnull=False).count() == 2


def test_only_the_products_manufacturer_commissions_and_never_a_serial_twice(
    as_manufacturer, as_distributor, batch
):
    taken = batch.packs.first()
    commission = object_event(
        "urn:uuid:again",
        "commissioning",
        [pack_uri(taken)],
        action="ADD",
        ilmd={"lotNumber": "L3", "itemExpirationDate": "2029-01-31"},
    )
    refused(
        as_distributor,
        document(commission),
        index=0,
        event_id="urn:uuid:again",
        message="only a manufacturer may commission packs",
    )
    refused(
        as_manufacturer,
        document(commission),
        index=0,
        event_id="urn:uuid:again",
        message=f"pack {taken.gtin}/{taken.serial} is commissioned already",
    )


def test_platform_packs_and_unknown_objects_cannot_share_a_custody_event(
    as_manufacturer, batch, distributor
):
    event = ship_event("urn:uuid:mixed", [batch.packs.first()], distributor)
    event["epcList"].append("urn:epc:id:sgtin:0614141.107346.2017")
    refused(
        as_manufacturer,
        document(event),
        index=0,
        event_id="urn:uuid:mixed",
        message="is not a pack or case on the platform",
    )


def test_a_serial_no_pack_can_have_is_refused_as_unknown(as_manufacturer, batch, distributor):
    event = ship_event("urn:uuid:nul", [], distributor)
    event["epcList"] = [f"https://id.gs1.org/01/{batch.product.gtin}/21/A%00B"]
    refused(
        as_manufacturer,
        document(event),
        index=0,
        event_id="urn:uuid:nul",
        message=f"pack {batch.product.gtin}/A\x00B is unknown",
    )


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_event_time_outside_years_1_to_9999_in_utc_is_refused(
    as_manufacturer, as_regulator, batch, distributor, when
):
    event = ship_event("urn:uuid:far-off", batch.packs.all()[:1], distributor, when=when)
    refused(
        as_manufacturer,
        document(event),
        index=0,
        event_id="urn:uuid:far-off",
        message=f"eventTime {when!r} is outside years 1 to 9999 in UTC",
    )
    assert as_regulator.get("/epcis/events").status_code == 200, "queries still answer"


def test_an_unknown_serial_of_a_platform_product_is_refused(as_manufacturer, batch, distributor):
    event = ship_event("urn:uuid:typo", [batch.packs.first()], distributor)
    event["epcList"] = [f"https://id.gs1.org/01/{batch.product.gtin}/21/NOSUCH"]
    refused(
        as_manufacturer,
        document(event),
        index=0,
        event_id="urn:uuid:typo",
        message=f"pack {batch.product.gtin}/NOSUCH is unknown",
    )


CASE_URN = "urn:epc:id:sscc:0950600.0123456789"  # SSCC 009506001234567897


def aggregation(event_id, action, children, biz_step, parent=CASE_URN):
    return {
        "type": "AggregationEvent",
        "eventID": event_id,
        "eventTime": "2026-11-23T09:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": parent,
        "childEPCs": children,
        "action": action,
        "bizStep": biz_step,
    }


def test_manufacturer_packs_a_case_and_ships_it_and_the_distributor_receives_the_case(
    as_manufacturer, as_distributor, batch, distributor
):
    packs = list(batch.packs.order_by("pk")[:3])
    pack_into = aggregation("urn:uuid:pack", "ADD", [pack_uri(p) for p in packs], "packing")
    ship_case = object_event(
        "urn:uuid:ship-case", "shipping", [CASE_URN], destinationList=to(distributor)
    )
    response = capture(as_manufacturer, document(pack_into, ship_case))
    assert response.status_code == 202, response.json()
    case = Case.objects.get()
    assert case.sscc == "009506001234567897"
    assert set(case.packs.values_list("pk", flat=True)) == {p.pk for p in packs}

    receipt = object_event(
        "urn:uuid:receive-case", "receiving", ["https://id.gs1.org/00/009506001234567897"]
    )
    received = capture(as_distributor, document(receipt))
    assert received.status_code == 202, received.json()
    assert {p.custodian_id for p in Pack.objects.filter(case=case)} == {distributor.pk}
    unpack = aggregation("urn:uuid:unpack", "DELETE", [pack_uri(packs[0])], "unpacking")
    assert capture(as_distributor, document(unpack)).status_code == 202
    assert Pack.objects.get(pk=packs[0].pk).case_id is None


def test_aggregation_rules_apply_to_captured_events(as_distributor, batch):
    pack_into = aggregation("urn:uuid:not-mine", "ADD", [pack_uri(batch.packs.first())], "packing")
    refused(
        as_distributor,
        document(pack_into),
        index=0,
        event_id="urn:uuid:not-mine",
        message="is not held by Northern Wholesale",
    )
    seen = aggregation(
        "urn:uuid:seen-together", "OBSERVE", [pack_uri(batch.packs.first())], "inspecting"
    )
    response = capture(as_distributor, document(seen))
    assert response.json()["observationCount"] == 1


def test_a_manufacturer_commissions_a_lot_level_quantity_and_ships_part_of_it(
    as_manufacturer, batch, distributor
):
    lot = f"https://id.gs1.org/01/{batch.product.gtin}/10/BULK1"
    commission = object_event(
        "urn:uuid:bulk",
        "commissioning",
        [],
        action="ADD",
        quantityList=[{"epcClass": lot, "quantity": 500, "uom": "EA"}],
        ilmd={"cbvmda:itemExpirationDate": "2029-06-30"},
    )
    ship = object_event(
        "urn:uuid:bulk-ship",
        "shipping",
        [],
        destinationList=to(distributor),
        quantityList=[{"epcClass": lot, "quantity": 200, "uom": "EA"}],
    )
    too_much = object_event(
        "urn:uuid:bulk-ship-2",
        "shipping",
        [],
        destinationList=to(distributor),
        quantityList=[{"epcClass": lot, "quantity": 301, "uom": "EA"}],
    )
    refused(
        as_manufacturer,
        document(commission, ship, too_much),
        index=2,
        event_id="urn:uuid:bulk-ship-2",
        message="has only 300 of lot BULK1 on hand",
    )
    assert capture(as_manufacturer, document(commission, ship)).status_code == 202
    bulk = batch.product.batches.get(lot="BULK1")
    assert (bulk.serialized, bulk.quantity) == (False, 500)


def test_a_pharmacy_dispenses_by_epcis_and_the_pack_cannot_be_dispensed_again(
    as_manufacturer, as_distributor, as_pharmacy, batch, distributor, pharmacy
):
    pack = batch.packs.first()
    capture(as_manufacturer, document(ship_event("urn:uuid:s1", [pack], distributor)))
    capture(as_distributor, document(object_event("urn:uuid:r1", "receiving", [pack_uri(pack)])))
    capture(as_distributor, document(ship_event("urn:uuid:s2", [pack], pharmacy)))
    capture(as_pharmacy, document(object_event("urn:uuid:r2", "receiving", [pack_uri(pack)])))
    dispense = object_event("urn:uuid:d1", "dispensing", [pack_uri(pack)], disposition="dispensed")
    assert capture(as_pharmacy, document(dispense)).status_code == 202
    pack.refresh_from_db()
    assert pack.status == Pack.Status.SUPPLIED
    again = object_event("urn:uuid:d2", "dispensing", [pack_uri(pack)])
    refused(
        as_pharmacy,
        document(again),
        index=0,
        event_id="urn:uuid:d2",
        message="is supplied and can no longer move",
    )


def test_a_pharmacy_reports_a_stolen_pack_and_supplies_a_sample_by_epcis(
    as_pharmacy, batch, manufacturer, pharmacy
):
    stolen, sample = deliver_two(batch, manufacturer, pharmacy)
    doc = document(
        object_event("urn:uuid:st1", "decommissioning", [pack_uri(stolen)], disposition="stolen"),
        object_event(
            "urn:uuid:sa1", "sampling", [pack_uri(sample)], disposition="non_sellable_other"
        ),
    )
    assert capture(as_pharmacy, doc).status_code == 202
    assert [Pack.objects.get(pk=p.pk).status for p in (stolen, sample)] == ["stolen", "sample"]


def test_a_pack_decommissioned_for_a_reason_the_platform_has_no_state_for_is_refused(
    as_pharmacy, batch, manufacturer, pharmacy
):
    pack, _ = deliver_two(batch, manufacturer, pharmacy)
    for event_id, fields in [("urn:uuid:x1", {"disposition": "inactive"}), ("urn:uuid:x2", {})]:
        refused(
            as_pharmacy,
            document(object_event(event_id, "decommissioning", [pack_uri(pack)], **fields)),
            index=0,
            event_id=event_id,
            message="decommissioning takes disposition stolen",
        )
    assert Pack.objects.get(pk=pack.pk).status == Pack.Status.ACTIVE


def deliver_two(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 2)
    return in_stock(batch, pharmacy)


def test_capture_speaks_the_rest_binding(as_distributor, distributor):
    doc = document(object_event("urn:uuid:1", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"]))
    assert capture(as_distributor, doc, content_type="text/plain").status_code == 415
    old = capture(as_distributor, doc, HTTP_GS1_EPCIS_VERSION="1.2")
    assert old.status_code == 406
    greedy = capture(as_distributor, doc, HTTP_GS1_CAPTURE_ERROR_BEHAVIOUR="proceed")
    assert greedy.status_code == 501
    assert capture(Client(), doc).status_code == 401
    assert capture(as_distributor, doc, content_type="application/json").status_code == 202
    options = as_distributor.options("/epcis/capture")
    assert options.status_code == 204
    assert options["GS1-EPCIS-Capture-Limit"] == "10000"
    assert options["GS1-Capture-Error-Behaviour"] == "rollback"


def test_too_many_events_is_a_413(as_distributor, settings, monkeypatch):
    from traceability.epcis import capture as capture_module

    monkeypatch.setattr(capture_module, "MAX_EVENTS", 2)
    events = [
        object_event(f"urn:uuid:{i}", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
        for i in range(3)
    ]
    response = capture(as_distributor, document(*events))
    assert response.status_code == 413
    assert response.json()["type"] == "epcisException:CaptureLimitExceededException"


def test_session_users_need_the_csrf_token_to_capture(distributor):
    browser = logged_in(distributor, enforce_csrf_checks=True)
    doc = document(object_event("urn:uuid:1", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"]))
    assert capture(browser, doc).status_code == 403


def test_capture_jobs_are_visible_to_their_organisation_only(as_distributor, as_pharmacy):
    doc = document(object_event("urn:uuid:1", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"]))
    location = capture(as_distributor, doc)["Location"]
    job = as_distributor.get(location)
    assert job.status_code == 200
    assert (job.json()["running"], job.json()["success"], job.json()["observationCount"]) == (
        False,
        True,
        1,
    )
    assert as_pharmacy.get(location).status_code == 404
    assert (
        json.loads(as_pharmacy.get(location).content)["type"]
        == "epcisException:NoSuchNameException"
    )


def test_an_observation_is_queryable_by_its_capturer_only(as_distributor, as_pharmacy):
    event = object_event("urn:uuid:mine", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    capture(as_distributor, document(event))
    assert as_distributor.get(event_url("urn:uuid:mine")).status_code == 200
    assert as_pharmacy.get(event_url("urn:uuid:mine")).status_code == 404


def test_an_observation_is_stored_exactly_as_captured_whatever_its_text(as_distributor):
    awkward = 'tab\there, line\nbreak, back\\slash, "quotes", {braces}, é € 𝄞, \\N, \\u0000'
    event = object_event("urn:uuid:awkward", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    event["example:note"] = awkward
    event["readPoint"] = {"id": "urn:epc:id:sgln:0614141.07346.1234"}
    capture(as_distributor, document(event))
    found = as_distributor.get(event_url("urn:uuid:awkward")).json()
    stored = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]
    assert stored["example:note"] == awkward
    assert stored["readPoint"] == event["readPoint"]
    by_place = as_distributor.get(
        "/epcis/events", {"EQ_readPoint": "https://id.gs1.org/414/0614141073467/254/1234"}
    )
    assert len(by_place.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1


def test_an_event_another_capture_stores_meanwhile_is_a_409_and_nothing_is_written(
    as_distributor, distributor, monkeypatch
):
    from traceability.epcis import index

    store = index.observations_save

    def another_capture_first(*args, **kwargs):
        EpcisEvent.objects.create(
            event_id="urn:uuid:raced",
            role=EpcisEvent.Role.OBSERVATION,
            event_type="ObjectEvent",
            event_time="2026-11-23T08:00:00Z",
            captured_by=distributor,
            body={},
        )
        store(*args, **kwargs)

    monkeypatch.setattr(index, "observations_save", another_capture_first)
    first = object_event("urn:uuid:first", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    raced = object_event("urn:uuid:raced", "inspecting", ["urn:epc:id:sgtin:0614141.107346.2"])
    response = capture(as_distributor, document(first, raced))
    assert response.status_code == 409
    assert response.json()["type"] == "epcisException:CaptureException"
    assert not EpcisEvent.objects.exists()
    assert not CaptureJob.objects.exists()


def test_a_captured_document_leaves_what_replaying_its_signed_statements_gives(
    as_manufacturer, as_distributor, batch, manufacturer, distributor
):
    packs = list(batch.packs.order_by("pk")[:6])
    shipped = [ship_event(f"urn:uuid:run-{i}", [p], distributor) for i, p in enumerate(packs)]
    assert capture(as_manufacturer, document(*shipped)).json()["custodyEventCount"] == 6
    receipts = [
        object_event(f"urn:uuid:got-{i}", "receiving", [pack_uri(p)], disposition="in_progress")
        for i, p in enumerate(packs[:4])
    ]
    assert capture(as_distributor, document(*receipts)).json()["custodyEventCount"] == 4

    assert differences() == [], "the projections are what the ledger says"
    for row in EpcisEvent.objects.filter(role=EpcisEvent.Role.CUSTODY):
        signed = statements.parse_entry(bytes(storage.entry_get(row.entry).data))
        key = SigningKey.objects.get(key_id=signed.signer_key)
        statements.verify(signed, bytes(key.public_key))  # raises if not


@pytest.mark.parametrize(
    "json_text, problem",
    [
        ('"a\\u0000b"', "NUL character"),
        ('"\\ud800"', "unpaired surrogate"),
    ],
)
@pytest.mark.parametrize("where", ["a value", "a property name", "the eventID"])
def test_text_the_database_cannot_store_is_a_400_naming_the_event(
    as_manufacturer, batch, distributor, json_text, problem, where
):
    observation = object_event("urn:uuid:o", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    shipment = ship_event("urn:uuid:s", [batch.packs.first()], distributor)
    if where == "a value":
        shipment["readPoint"] = {"id": "PLACEHOLDER"}
    elif where == "a property name":
        shipment["PLACEHOLDER"] = 1
    else:
        shipment["eventID"] = "PLACEHOLDER"
    body = json.dumps(document(observation, shipment)).replace('"PLACEHOLDER"', json_text)
    size = storage.head_size()
    response = as_manufacturer.post("/epcis/capture", body, content_type="application/ld+json")
    assert response.status_code == 400, response.content
    assert response.json()["eventIndex"] == 1
    assert problem in response.json()["detail"]
    assert storage.head_size() == size and not EpcisEvent.objects.filter(event_id="urn:uuid:o")


@pytest.mark.parametrize("depth, status", [(300, 202), (5000, 400)])
def test_deep_json_is_captured_until_too_deep_to_read_which_is_a_400(as_distributor, depth, status):
    event = object_event("urn:uuid:deep", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    event["example:deep"] = "PLACEHOLDER"
    body = json.dumps(document(event)).replace('"PLACEHOLDER"', "[" * depth + "]" * depth)
    response = as_distributor.post("/epcis/capture", body, content_type="application/ld+json")
    assert response.status_code == status, response.content[:300]
    if status == 400:
        assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_a_number_too_large_for_a_float_is_refused_as_unreadable(as_distributor, number):
    event = object_event("urn:uuid:huge", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])
    event["example:reading"] = "PLACEHOLDER"
    body = json.dumps(document(event)).replace('"PLACEHOLDER"', number)
    response = as_distributor.post("/epcis/capture", body, content_type="application/ld+json")
    assert response.status_code == 400, response.content[:300]
    assert f"the number {number} is too large" in response.json()["detail"]
    assert not EpcisEvent.objects.exists()


def test_a_signature_that_does_not_verify_refuses_the_document_naming_its_event(
    as_manufacturer, batch, distributor, monkeypatch
):
    verify = statements.verify_each_started

    def second_fails(batch, public_keys):
        problems = verify(batch, public_keys)
        forged = "signature does not verify"
        return lambda: [p if i != 1 else forged for i, p in enumerate(problems())]

    monkeypatch.setattr(statements, "verify_each_started", second_fails)
    packs = list(batch.packs.order_by("pk")[:2])
    shipped = [ship_event(f"urn:uuid:v{i}", [p], distributor) for i, p in enumerate(packs)]
    refused(
        as_manufacturer,
        document(*shipped),
        index=1,
        event_id="urn:uuid:v1",
        message="signature does not verify",
    )
    assert not Shipment.objects.exists()


def test_a_server_that_cannot_unlock_the_capturers_key_refuses_the_document_saying_why(
    as_manufacturer, batch, distributor, settings
):
    settings.LEDGER_KEK = bytes(32)
    refused(
        as_manufacturer,
        document(ship_event("urn:uuid:locked", [batch.packs.first()], distributor)),
        index=0,
        event_id="urn:uuid:locked",
        message="cannot be unlocked on this server",
    )
