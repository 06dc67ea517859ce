"""EPCIS 2.0 vocabulary for statement bodies (CBV 2.0 bizStep/disposition,
GS1 Digital Link URIs as EPCs)."""

import re
from datetime import date, datetime
from urllib.parse import quote, unquote

DIGITAL_LINK = "https://id.gs1.org"


def sgtin_uri(gtin: str, serial: str) -> str:
    return f"{DIGITAL_LINK}/01/{gtin}/21/{quote(serial, safe='')}"


def object_event(
    *,
    action: str,
    biz_step: str,
    disposition: str,
    epcs: list[str],
    when: datetime,
    ilmd: dict | None = None,
    **extra,
) -> dict:
    event = {
        "type": "ObjectEvent",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "eventTimeZoneOffset": "+00:00",
        "action": action,
        "bizStep": biz_step,
        "disposition": disposition,
        "epcList": epcs,
    }
    if ilmd:
        event["ilmd"] = ilmd
    event.update(extra)
    return event


def batch_ilmd(*, lot: str, manufactured_on: date, expires_on: date) -> dict:
    return {
        "lotNumber": lot,
        "productionDate": manufactured_on.isoformat(),
        "itemExpirationDate": expires_on.isoformat(),
    }


SGTIN_URI = re.compile(r"https://[^/]+/01/([0-9]{14})/21/([^/?#]{1,60})")
GLN_URI = re.compile(r"https://[^/]+/414/([0-9]{13})")


def sgtin_parse(uri) -> tuple[str, str]:
    """(GTIN, serial) from a Digital Link pack URI; ValueError saying what is wrong."""
    match = SGTIN_URI.fullmatch(uri) if isinstance(uri, str) else None
    if not match:
        raise ValueError(f"{uri!r} is not a pack URI like https://id.gs1.org/01/<GTIN>/21/<serial>")
    return match[1], unquote(match[2])


def gln_parse(uri) -> str:
    match = GLN_URI.fullmatch(uri) if isinstance(uri, str) else None
    if not match:
        raise ValueError(f"{uri!r} is not a party URI like https://id.gs1.org/414/<GLN>")
    return match[1]


def gln_uri(gln: str) -> str:
    return f"{DIGITAL_LINK}/414/{gln}"


def parties(kind: str, gln: str) -> list[dict]:
    """EPCIS sourceList/destinationList entries: owning and possessing party."""
    return [
        {"type": "owning_party", kind: gln_uri(gln)},
        {"type": "possessing_party", kind: gln_uri(gln)},
    ]
