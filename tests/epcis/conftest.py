import copy
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.traceability import conftest as custody
from tests.web.helpers import bearer

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "epcis"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

regulator = custody.regulator
manufacturer = custody.manufacturer
distributor = custody.distributor
pharmacy = custody.pharmacy
batch = custody.batch


@pytest.fixture
def as_manufacturer(manufacturer):
    return bearer(manufacturer)


@pytest.fixture
def as_distributor(distributor):
    return bearer(distributor)


@pytest.fixture
def as_pharmacy(pharmacy):
    return bearer(pharmacy)


@pytest.fixture
def as_regulator(regulator):
    return bearer(regulator)


def document(*events) -> dict:
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-23T10:00:00Z",
        "epcisBody": {"eventList": [copy.deepcopy(e) for e in events]},
    }


def capture(client, doc, content_type="application/ld+json", **headers):
    return client.post("/epcis/capture", json.dumps(doc), content_type=content_type, **headers)


def pack_uri(pack) -> str:
    return f"https://id.gs1.org/01/{pack.gtin}/21/{pack.serial}"


def object_event(event_id, biz_step, epcs, *, when="2026-11-23T09:00:00.000+01:00", **fields):
    event = {
        "type": "ObjectEvent",
        "eventID": event_id,
        "eventTime": when,
        "eventTimeZoneOffset": when[-6:] if when[-6] in "+-" else "+00:00",
        "action": "OBSERVE",
        "bizStep": biz_step,
        "epcList": list(epcs),
    }
    event.update(fields)
    return event


def to(org, kind="destination") -> list[dict]:
    return [{"type": "owning_party", kind: f"urn:epc:id:pgln:{org.gln[:7]}.{org.gln[7:12]}"}]


def event_url(event_id: str) -> str:
    return f"/epcis/events/{quote(event_id, safe='')}"
