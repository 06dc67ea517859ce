"""GET /epcis/events: the EPCIS 2.0 query parameters, over the events the
caller may see (selectors.epcis_events_visible_to), paged by a signed token.

Values of one parameter are alternatives, separated by `|` or given as
repeated parameters (EQ_bizStep=shipping|receiving). Results are in eventTime
order. The next page's token is signed (django.core.signing) over where the
page ended and the query it belongs to, so a client can neither forge one
nor reuse it for another query.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core import signing
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from traceability.epcis import export
from traceability.epcis.identifiers import epc_canonical, vocabulary_canonical
from traceability.models import EpcisEvent, EpcisEventEpc

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1_000
TOKEN_LIFETIME = timedelta(hours=24)
TOKEN_SALT = "epcis.events.next-page"  # noqa: S105 (a signing namespace, not a secret)
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
LIST_FILTERS = {
    "eventType": ("event_type__in", str),
    "EQ_bizStep": ("biz_step__in", vocabulary_canonical),
    "EQ_disposition": ("disposition__in", vocabulary_canonical),
    "EQ_bizLocation": ("biz_location__in", vocabulary_canonical),
    "EQ_readPoint": ("read_point__in", vocabulary_canonical),
    "MATCH_parentID": ("parent_id__in", epc_canonical),
}
EPC_MATCHES = ("MATCH_epc", "MATCH_anyEPC")
TIMES = {"GE_eventTime": "event_time__gte", "LT_eventTime": "event_time__lt"}
PAGING = ("eventCountLimit", "perPage", "nextPageToken")
PARAMETERS = (*LIST_FILTERS, *EPC_MATCHES, *TIMES, *PAGING)


class QueryParameterProblem(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass
class EventQuery:
    filters: Q = field(default_factory=Q)
    epc_filters: list = field(default_factory=list)
    limit: int | None = None
    per_page: int = DEFAULT_PER_PAGE
    fingerprint: str = ""
    after: tuple[datetime, int] | None = None
    served: int = 0


def _values(params, name: str) -> list[str]:
    values = [v for raw in params.getlist(name) for v in raw.split("|")]
    if not all(v.strip() for v in values):
        raise QueryParameterProblem(name, "an empty value")
    return [v.strip() for v in values]


def _time(params, name: str) -> datetime:
    (text,) = params.getlist(name)[-1:]
    # An unencoded "+" in an offset arrives as a space; read it as the client meant it.
    text = text.strip().replace(" ", "+")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise QueryParameterProblem(name, f"{text!r} is not an RFC 3339 date-time") from None
    if when.tzinfo is None:
        raise QueryParameterProblem(name, "needs a time zone offset, e.g. Z or +01:00")
    return when


def _positive(params, name: str, maximum: int = 10**18) -> int:
    text = params.getlist(name)[-1]
    # ASCII digits only: str.isdigit() also passes "²", which int() refuses
    if not (text.isascii() and text.isdigit()) or not text.strip("0"):
        raise QueryParameterProblem(name, f"{text!r} is not a positive whole number")
    # by length first: int() refuses more than 4,300 digits
    if len(text.lstrip("0")) > len(str(maximum)) or int(text) > maximum:
        raise QueryParameterProblem(name, f"at most {maximum:,}")
    return int(text)


def _epc_filter(name: str, epcs: list[str]) -> Q:
    canonical = [epc_canonical(e) for e in epcs]
    named = EpcisEventEpc.objects.filter(event=OuterRef("pk"), epc__in=canonical)
    if name == "MATCH_epc":  # epcList and childEPCs, per EPCIS
        return Q(Exists(named.filter(field=EpcisEventEpc.Field.EPC_LIST)))
    return Q(Exists(named)) | Q(parent_id__in=canonical)


def _fingerprint(params) -> str:
    pairs = sorted((k, v) for k in params if k != "nextPageToken" for v in params.getlist(k))
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:32]


def query_parse(params) -> EventQuery:
    """An EventQuery from the request's query string, or QueryParameterProblem."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise QueryParameterProblem(unknown[0], "not a query parameter this server supports")
    query = EventQuery(fingerprint=_fingerprint(params))
    for name, (lookup, canonical) in LIST_FILTERS.items():
        if name in params:
            values = _values(params, name)
            if name == "eventType" and set(values) - set(EVENT_TYPES):
                raise QueryParameterProblem(name, f"event types are {', '.join(EVENT_TYPES)}")
            query.filters &= Q(**{lookup: [canonical(v) for v in values]})
    for name in EPC_MATCHES:
        if name in params:
            query.epc_filters.append(_epc_filter(name, _values(params, name)))
    for name, lookup in TIMES.items():
        if name in params:
            query.filters &= Q(**{lookup: _time(params, name)})
    if "eventCountLimit" in params:
        query.limit = _positive(params, "eventCountLimit")
    if "perPage" in params:
        query.per_page = _positive(params, "perPage", MAX_PER_PAGE)
    if "nextPageToken" in params:
        _resume(query, params.getlist("nextPageToken")[-1])
    return query


def _resume(query: EventQuery, token: str) -> None:
    try:
        state = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_LIFETIME)
    except signing.SignatureExpired:
        raise QueryParameterProblem("nextPageToken", "expired; run the query again") from None
    except signing.BadSignature:
        raise QueryParameterProblem("nextPageToken", "not a token this server issued") from None
    if state["q"] != query.fingerprint:
        raise QueryParameterProblem("nextPageToken", "belongs to a query with other parameters")
    query.after = (datetime.fromisoformat(state["t"]), state["i"])
    query.served = state["n"]


def _token(query: EventQuery, last: EpcisEvent, served: int) -> str:
    state = {"q": query.fingerprint, "t": last.event_time.isoformat(), "i": last.pk, "n": served}
    return signing.dumps(state, salt=TOKEN_SALT, compress=True)


@dataclass
class Page:
    events: list[dict]
    next_token: str | None
    token_expires: datetime | None


def events_page(visible: QuerySet[EpcisEvent], query: EventQuery) -> Page:
    events = visible.filter(query.filters)
    for epc_filter in query.epc_filters:
        events = events.filter(epc_filter)
    if query.after:
        time, pk = query.after
        events = events.filter(Q(event_time__gt=time) | Q(event_time=time, pk__gt=pk))
    size = query.per_page
    if query.limit is not None:
        size = min(size, query.limit - query.served)
    rows = list(events.order_by("event_time", "pk")[: size + 1]) if size > 0 else []
    more = len(rows) > size
    rows = rows[:size]
    served = query.served + len(rows)
    if query.limit is not None and served >= query.limit:
        more = False
    token = _token(query, rows[-1], served) if more else None
    expires = timezone.now() + TOKEN_LIFETIME if token else None
    return Page(events_as_epcis(rows), token, expires)


def events_as_epcis(rows: list[EpcisEvent]) -> list[dict]:
    """Observations as captured; custody events read from their ledger entries."""
    custody = export.custody_events(r.entry for r in rows if r.entry is not None)
    return [r.body if r.entry is None else custody[r.entry] for r in rows]
