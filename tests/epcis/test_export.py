"""Every custody event on the platform, however it was signed, is an EPCIS 2.0
event; a batch's history downloads as one EPCIS document."""

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import storage
from tests.epcis.conftest import capture, document, object_event
from tests.web.helpers import bearer, deliver, in_stock, logged_in, sgtins
from traceability.epcis import export, schema
from traceability.models import EpcisEvent
from traceability.rebuild import differences, rebuild
from traceability.shipping import packs_decommission

pytestmark = pytest.mark.django_db


def export_url(batch) -> str:
    return f"/epcis/batches/{batch.product.gtin}/{batch.lot}/events"


def downloaded(client, batch) -> dict:
    response = client.get(export_url(batch))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="epcis-{batch.product.gtin}-{batch.lot}.jsonld"'
    )
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def history(batch, manufacturer, distributor, pharmacy):
    """Shipped and received in the web UI's services; a pharmacy dispenses one."""
    deliver(batch, manufacturer, distributor, 4)
    deliver(batch, distributor, pharmacy, 2)
    packs_decommission(
        holder=pharmacy, sgtins=sgtins(in_stock(batch, pharmacy)[:1]), status="supplied"
    )
    return batch


def test_a_batch_history_downloads_as_one_valid_epcis_document(history, distributor):
    doc = downloaded(bearer(distributor), history)
    assert doc["type"] == "EPCISDocument"
    assert schema.is_valid(doc), list(schema.validator().iter_errors(doc))[:1]
    events = doc["epcisBody"]["eventList"]
    steps = [e["bizStep"] for e in events]
    assert steps == [
        "commissioning",
        "shipping",
        "receiving",
        "shipping",
        "receiving",
        "dispensing",
    ]
    assert [e["dt:ledgerEntry"] for e in events] == sorted(e["dt:ledgerEntry"] for e in events)


def test_exported_events_name_packs_parties_and_times_as_epcis_does(
    history, manufacturer, distributor
):
    events = downloaded(bearer(manufacturer), history)["epcisBody"]["eventList"]
    shipping = events[1]
    assert shipping["type"] == "ObjectEvent" and shipping["action"] == "OBSERVE"
    assert shipping["disposition"] == "in_transit"
    assert all(
        epc.startswith(f"https://id.gs1.org/01/{history.product.gtin}/21/")
        for epc in shipping["epcList"]
    )
    assert {
        "type": "owning_party",
        "source": f"https://id.gs1.org/417/{manufacturer.gln}",
    } in shipping["sourceList"]
    assert {
        "type": "possessing_party",
        "destination": f"https://id.gs1.org/417/{distributor.gln}",
    } in shipping["destinationList"]
    assert shipping["eventTimeZoneOffset"] == "+00:00" and shipping["eventTime"].endswith("Z")
    assert shipping["eventID"].startswith("urn:uuid:")
    assert events[0]["ilmd"]["cbvmda:lotNumber"] == history.lot
    # The ledger index proves the event: its entry is the signed statement.
    entry = storage.entry_get(shipping["dt:ledgerEntry"])
    assert b'"bizStep":"shipping"' in bytes(entry.data)


def test_a_batch_nobody_showed_you_is_not_found(batch, as_pharmacy):
    response = as_pharmacy.get(export_url(batch))
    assert response.status_code == 404
    assert response.json()["type"] == "epcisException:NoSuchNameException"


def test_the_batch_page_links_to_the_epcis_download(history, manufacturer):
    page = logged_in(manufacturer).get(f"/batches/{history.product.gtin}/{history.lot}/")
    assert export_url(history) in page.content.decode()
    download = logged_in(manufacturer).get(export_url(history))
    assert download.status_code == 200


def test_captured_and_web_signed_events_round_trip_through_export_and_capture(
    history, as_regulator, regulator
):
    """A regulator's copy of a batch history captures cleanly elsewhere: here,
    as duplicates, since every eventID is known already."""
    doc = downloaded(bearer(regulator), history)
    response = capture(as_regulator, doc)
    assert response.status_code == 202, response.json()
    assert response.json()["duplicateCount"] == len(doc["epcisBody"]["eventList"])


def test_rebuilding_the_projections_rebuilds_the_epcis_index(history, as_distributor):
    capture(
        as_distributor,
        document(object_event("urn:uuid:obs", "inspecting", ["urn:epc:id:sgtin:0614141.107346.1"])),
    )
    before = set(EpcisEvent.objects.values_list("event_id", "entry", "role"))
    assert differences() == []
    rebuild()
    assert set(EpcisEvent.objects.values_list("event_id", "entry", "role")) == before


def test_counter_actions_are_exported_too(history, pharmacy):
    from traceability.pack_states import pack_report_stolen, pack_undo_dispense

    dispensed = history.packs.get(status="supplied")
    pack_undo_dispense(pharmacy=pharmacy, gtin=dispensed.gtin, serial=dispensed.serial)
    other = in_stock(history, pharmacy)[-1]
    pack_report_stolen(holder=pharmacy, gtin=other.gtin, serial=other.serial)
    doc = downloaded(bearer(pharmacy), history)
    assert schema.is_valid(doc)
    last_two = doc["epcisBody"]["eventList"][-2:]
    assert [(e["bizStep"], e["disposition"]) for e in last_two] == [
        ("stocking", "active"),
        ("decommissioning", "stolen"),
    ]
    assert isinstance(last_two[0]["dt:undoes"], int)


def test_cases_packed_in_the_web_ui_export_as_aggregation_events(batch, manufacturer, distributor):
    from traceability.aggregation import case_pack, sscc_new
    from traceability.shipping import shipment_create

    sscc = sscc_new(manufacturer)
    packs = sgtins(in_stock(batch, manufacturer)[:4])
    case_pack(holder=manufacturer, sscc=sscc, sgtins=packs)
    shipment_create(sender=manufacturer, receiver=distributor, ssccs=[sscc])
    client = bearer(distributor)
    doc = downloaded(client, batch)
    assert schema.is_valid(doc)
    packing = [e for e in doc["epcisBody"]["eventList"] if e["type"] == "AggregationEvent"]
    assert [(e["action"], e["parentID"]) for e in packing] == [
        ("ADD", f"https://id.gs1.org/00/{sscc}")
    ]
    found = client.get("/epcis/events", {"MATCH_anyEPC": f"https://id.gs1.org/00/{sscc}"})
    steps = [
        e["bizStep"] for e in found.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ]
    assert steps == ["packing", "shipping"]


def test_every_statement_kind_about_goods_is_exported():
    from traceability.custody_state import CUSTODY_KINDS
    from traceability.epcis.export import CUSTODY_KINDS as EXPORTED

    about_goods = CUSTODY_KINDS | {"commission"}
    assert about_goods == EXPORTED


@given(namespace=st.uuids(), name=st.text())
def test_an_event_id_derived_for_a_statement_is_the_rfc_4122_name_based_uuid(namespace, name):
    try:
        expected = str(uuid.uuid5(namespace, name))
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 name, no id either way
        with pytest.raises(UnicodeEncodeError):
            export.uuid5_text(namespace, name)
        return
    assert export.uuid5_text(namespace, name) == expected
