"""GET /epcis/events: EPCIS query parameters over the events each organisation may see."""

import pytest
from django.test import Client

from tests.epcis.conftest import capture, document, event_url, object_event, pack_uri
from tests.web.helpers import deliver, ship
from traceability.epcis import schema

pytestmark = pytest.mark.django_db
FOREIGN = "urn:epc:id:sgtin:0614141.107346.{}"


def event_list(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "EPCISQueryDocument"
    assert schema.is_valid(body), "a query answer is a valid EPCIS query document"
    return body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def ids(response) -> list[str]:
    return [e["eventID"] for e in event_list(response)]


def query(client, **params):
    return client.get("/epcis/events", params)


@pytest.fixture
def observed(as_distributor):
    """Five observations an hour apart, at two read points, of foreign goods."""
    events = [
        object_event(
            f"urn:uuid:obs-{i}",
            "inspecting" if i % 2 else "storing",
            [FOREIGN.format(i)],
            when=f"2026-11-20T0{i}:00:00.000+00:00",
            readPoint={
                "id": "urn:epc:id:sgln:0614141.07346.1234"
                if i < 3
                else "urn:epc:id:sgln:0614141.07346.0"
            },
        )
        for i in range(5)
    ]
    assert capture(as_distributor, document(*events)).status_code == 202
    return [e["eventID"] for e in events]


def test_a_packs_history_is_found_by_its_epc_urn_or_digital_link(
    as_regulator, batch, manufacturer, distributor
):
    deliver(batch, manufacturer, distributor, 2)
    pack = batch.packs.filter(custodian=distributor).first()
    urn = f"urn:epc:id:sgtin:{pack.gtin[1:8]}.{pack.gtin[0]}{pack.gtin[8:13]}.{pack.serial}"
    for epc in (urn, pack_uri(pack)):
        events = event_list(query(as_regulator, MATCH_epc=epc))
        assert [e["bizStep"] for e in events] == ["commissioning", "shipping", "receiving"]
        assert all(pack_uri(pack) in e["epcList"] for e in events)


def test_filters_by_business_step_and_time_window(as_distributor, observed):
    assert ids(query(as_distributor, EQ_bizStep="inspecting")) == [
        "urn:uuid:obs-1",
        "urn:uuid:obs-3",
    ]
    assert (
        ids(query(as_distributor, EQ_bizStep="urn:epcglobal:cbv:bizstep:storing|inspecting"))
        == observed
    )
    window = query(
        as_distributor,
        GE_eventTime="2026-11-20T01:00:00Z",
        LT_eventTime="2026-11-20T04:00:00+01:00",
    )
    assert ids(window) == observed[1:3]


def test_read_points_match_whether_written_as_sgln_urn_or_digital_link(as_distributor, observed):
    assert (
        ids(query(as_distributor, EQ_readPoint="urn:epc:id:sgln:0614141.07346.0")) == observed[3:]
    )
    assert (
        ids(query(as_distributor, EQ_readPoint="https://id.gs1.org/414/0614141073467/254/1234"))
        == observed[:3]
    )
    assert ids(query(as_distributor, EQ_bizLocation="urn:epc:id:sgln:0614141.07346.0")) == []


def test_parent_and_any_epc_find_aggregations(as_distributor):
    aggregation = {
        "type": "AggregationEvent",
        "eventID": "urn:uuid:agg",
        "eventTime": "2026-11-20T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": [FOREIGN.format(7)],
        "action": "ADD",
        "bizStep": "packing",
    }
    capture(as_distributor, document(aggregation))
    sscc = "https://id.gs1.org/00/106141412345678908"
    assert ids(query(as_distributor, MATCH_parentID=sscc)) == ["urn:uuid:agg"]
    assert ids(query(as_distributor, MATCH_anyEPC=sscc)) == ["urn:uuid:agg"]
    assert ids(query(as_distributor, MATCH_epc=sscc)) == []  # the parent is not in epcList
    assert ids(query(as_distributor, MATCH_epc=FOREIGN.format(7))) == ["urn:uuid:agg"]


def test_pages_follow_the_link_header_until_the_last(as_distributor, observed):
    seen, response = [], query(as_distributor, perPage=2)
    while True:
        seen += ids(response)
        if "Link" not in response:
            break
        assert response["GS1-Next-Page-Token-Expires"]
        url = response["Link"].split(";")[0].strip("<>")
        response = as_distributor.get(url)
    assert seen == observed


def test_event_count_limit_caps_the_total_across_pages(as_distributor, observed):
    first = query(as_distributor, perPage=2, eventCountLimit=3)
    url = first["Link"].split(";")[0].strip("<>")
    second = as_distributor.get(url)
    assert ids(first) + ids(second) == observed[:3]
    assert "Link" not in second


def test_a_tampered_or_foreign_page_token_is_refused(as_distributor, observed):
    token = query(as_distributor, perPage=2)["Link"].split("nextPageToken=")[1].split(">")[0]
    tampered = query(as_distributor, perPage=2, nextPageToken=token[:-2] + "xx")
    assert tampered.status_code == 400
    assert tampered.json()["parameter"] == "nextPageToken"
    from urllib.parse import unquote

    other = query(as_distributor, perPage=3, nextPageToken=unquote(token))
    assert other.status_code == 400
    assert "belongs to a query with other parameters" in other.json()["detail"]


@pytest.mark.parametrize(
    ("params", "parameter", "message"),
    [
        ({"MATCH_everything": "x"}, "MATCH_everything", "not a query parameter"),
        ({"GE_eventTime": "last week"}, "GE_eventTime", "is not an RFC 3339 date-time"),
        ({"LT_eventTime": "2026-11-20T10:00:00"}, "LT_eventTime", "needs a time zone offset"),
        ({"perPage": "0"}, "perPage", "is not a positive whole number"),
        ({"perPage": "5000"}, "perPage", "at most 1,000"),
        ({"eventCountLimit": "-1"}, "eventCountLimit", "is not a positive whole number"),
        ({"perPage": "\u00b2"}, "perPage", "is not a positive whole number"),
        ({"eventCountLimit": "\u0663"}, "eventCountLimit", "is not a positive whole number"),
        ({"perPage": "9" * 5000}, "perPage", "at most 1,000"),
        ({"eventCountLimit": "9" * 5000}, "eventCountLimit", "at most 1,000,000,000,000,000,000"),
        ({"eventType": "PartyEvent"}, "eventType", "event types are"),
        ({"EQ_bizStep": "shipping|"}, "EQ_bizStep", "an empty value"),
    ],
)
def test_bad_parameters_are_named(as_distributor, params, parameter, message):
    response = query(as_distributor, **params)
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "epcisException:QueryParameterException"
    assert problem["parameter"] == parameter and message in problem["detail"]


def test_each_organisation_sees_the_events_of_batches_it_handled(
    as_regulator, as_distributor, as_pharmacy, batch, manufacturer, distributor, pharmacy
):
    ship(batch, manufacturer, distributor, 1)
    assert ids(query(as_pharmacy)) == []
    assert len(ids(query(as_distributor))) == 2  # the batch's commissioning and the shipment
    assert len(ids(query(as_regulator))) == 2
    shipment_event = event_list(query(as_distributor, EQ_bizStep="shipping"))[0]
    assert as_pharmacy.get(event_url(shipment_event["eventID"])).status_code == 404
    assert as_distributor.get(event_url(shipment_event["eventID"])).status_code == 200


def test_observations_are_private_to_their_capturer_and_the_regulator(
    as_distributor, as_pharmacy, as_regulator, observed
):
    assert ids(query(as_pharmacy)) == []
    assert ids(query(as_regulator)) == observed


def test_queries_need_an_api_token_or_a_session():
    response = Client().get("/epcis/events")
    assert response.status_code == 401
    assert response.json()["type"] == "epcisException:SecurityException"
