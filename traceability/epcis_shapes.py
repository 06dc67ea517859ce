"""EPCIS 2.0 vocabulary for statement bodies (CBV 2.0 bizStep/disposition,
GS1 Digital Link URIs as EPCs)."""

import re
from datetime import UTC, date, datetime
from urllib.parse import quote, unquote

DIGITAL_LINK = "https://id.gs1.org"
EVENT_TIME_MIN, EVENT_TIME_MAX = datetime(1, 1, 2), datetime(9999, 12, 30)


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


def in_utc_range(when: datetime) -> bool:
    """Whether an event time stays within years 1 to 9999 in UTC: PostgreSQL
    would store 0001-01-01T00:00+14:00 (a date BC), but no reader gets it back.
    A day's margin at either end covers the server's zone for a naive time."""
    try:
        utc = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    except OverflowError:
        return False
    return EVENT_TIME_MIN <= utc <= EVENT_TIME_MAX


def sscc_uri(sscc: str) -> str:
    return f"{DIGITAL_LINK}/00/{sscc}"


def lot_uri(gtin: str, lot: str) -> str:
    """The EPC class of a lot: what a quantityList counts for lot-level stock."""
    return f"{DIGITAL_LINK}/01/{gtin}/10/{quote(lot, safe='')}"


def aggregation_event(
    *, action: str, biz_step: str, disposition: str, parent: str, children: list[str], when
) -> dict:
    return {
        "type": "AggregationEvent",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "eventTimeZoneOffset": "+00:00",
        "action": action,
        "bizStep": biz_step,
        "disposition": disposition,
        "parentID": parent,
        "childEPCs": children,
    }


def quantity_list(quantities: dict[tuple[str, str], int]) -> list[dict]:
    """quantityList entries for {(GTIN, lot): count}."""
    return [
        {"epcClass": lot_uri(gtin, lot), "quantity": count, "uom": "EA"}
        for (gtin, lot), count in sorted(quantities.items())
    ]


SGTIN_URI = re.compile(r"https://[^/]+/01/([0-9]{14})/21/([^/?#]{1,60})")
SSCC_URI = re.compile(r"https://[^/]+/00/([0-9]{18})")
LOT_URI = re.compile(r"https://[^/]+/01/([0-9]{14})/10/([^/?#]{1,60})")
GLN_URI = re.compile(r"https://[^/]+/414/([0-9]{13})")


def sgtin_parse(uri) -> tuple[str, str]:
    """(GTIN, serial) from a Digital Link pack URI; ValueError saying what is wrong."""
    match = SGTIN_URI.fullmatch(uri) if isinstance(uri, str) else None
    if not match:
        raise ValueError(f"{uri!r} is not a pack URI like https://id.gs1.org/01/<GTIN>/21/<serial>")
    return match[1], unquote(match[2])


def sscc_parse(uri) -> str:
    match = SSCC_URI.fullmatch(uri) if isinstance(uri, str) else None
    if not match:
        raise ValueError(f"{uri!r} is not a case URI like https://id.gs1.org/00/<SSCC>")
    return match[1]


def is_case(uri) -> bool:
    return isinstance(uri, str) and SSCC_URI.fullmatch(uri) is not None


def lot_parse(uri) -> tuple[str, str]:
    match = LOT_URI.fullmatch(uri) if isinstance(uri, str) else None
    if not match:
        raise ValueError(f"{uri!r} is not a lot URI like https://id.gs1.org/01/<GTIN>/10/<lot>")
    return match[1], unquote(match[2])


def epcs_split(uris) -> tuple[list[tuple[str, str]], list[str]]:
    """Pack SGTINs and case SSCCs named in an epcList/childEPCs; ValueError for others."""
    if not isinstance(uris, list):
        raise ValueError("an EPC list must be a list of URIs")
    packs, cases = [], []
    for uri in uris:
        if is_case(uri):
            cases.append(sscc_parse(uri))
        else:
            packs.append(sgtin_parse(uri))
    return packs, cases


def quantities_parse(entries) -> dict[tuple[str, str], int]:
    """{(GTIN, lot): count} from a quantityList; ValueError naming what is wrong."""
    if not isinstance(entries, list):
        raise ValueError("quantityList must be a list")
    found: dict[tuple[str, str], int] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("each quantityList entry must be an object")
        lot = lot_parse(entry.get("epcClass"))
        count = entry.get("quantity")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"quantityList quantity for {lot[1]} must be a whole number >= 1")
        if lot in found:
            raise ValueError(f"quantityList names lot {lot[1]} twice")
        found[lot] = count
    return found


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
