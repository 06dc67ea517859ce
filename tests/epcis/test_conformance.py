"""GS1's example documents are accepted, and the schema the server uses is GS1's."""

import json

import pytest

from tests.epcis.conftest import TESTDATA, capture, event_url
from traceability.epcis import schema
from traceability.models import EpcisEvent

EXAMPLES = sorted((TESTDATA / "JSON").rglob("*.jsonld"))


def test_the_server_validates_with_gs1s_schema_unchanged():
    assert schema.SCHEMA_PATH.read_bytes() == (TESTDATA / "EPCIS-JSON-Schema.json").read_bytes()


def test_there_are_gs1_examples_to_capture():
    assert len(EXAMPLES) >= 40


@pytest.mark.django_db
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(TESTDATA / "JSON")))
def test_integrator_captures_gs1_example_document(as_distributor, path):
    doc = json.loads(path.read_text())
    response = capture(as_distributor, doc)
    assert response.status_code == 202, response.json()
    job = response.json()
    events = schema.events_of(doc)
    assert job["success"] is True and job["eventCount"] == len(events)
    assert response.headers["GS1-EPCIS-Version"] == "2.0"
    # Every event is now stored as an observation, findable by its eventID.
    stored = EpcisEvent.objects.filter(role=EpcisEvent.Role.OBSERVATION)
    assert stored.count() == job["observationCount"] == len(events) - job["duplicateCount"]
    for event in events:
        if "eventID" in event:
            found = as_distributor.get(event_url(event["eventID"]))
            assert found.status_code == 200
            returned = found.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            assert returned[0]["eventID"] == event["eventID"]
