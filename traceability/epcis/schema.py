"""GS1's EPCIS 2.0 JSON Schema, and the event list of a document.

The schema file beside this module is GS1's, byte for byte (a test compares it
with the conformance copy). Two validators read it:

- jsonschema-rs (compiled Rust, a few microseconds an event) accepts the
  documents it finds valid;
- jsonschema (pure Python, about a millisecond an event on these documents
  however it is called: the time is in its walk of the schema, not in the
  event-type dispatch) is the authority. Whenever the fast one finds fault or
  cannot read a document, jsonschema judges it again: its verdict stands and
  its error names the event and the problem.

So the fast validator only ever says yes to what jsonschema says yes to;
tests hold it to that on GS1's examples and on generated mutations of them.
Where the two are known to differ, the Rust one is the stricter (`$` before a
final newline, non-ASCII digits for `\\d`, NaN), which costs the slow path and
never accepts a document jsonschema refuses. Neither checks `format` (draft 7
makes it an annotation): capture parses eventTime itself and says so.
"""

import functools
import json
from pathlib import Path

import jsonschema
import jsonschema_rs

SCHEMA_PATH = Path(__file__).with_name("EPCIS-JSON-Schema.json")
DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")


class SchemaProblem(ValueError):
    """Where the document breaks the schema: event index (or None) and the problem."""

    def __init__(self, index: int | None, event_id: str | None, message: str):
        super().__init__(message)
        self.index, self.event_id, self.message = index, event_id, message


@functools.cache
def _schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


@functools.cache
def validator() -> jsonschema.Draft7Validator:
    """The authority: its verdict and its error messages."""
    return jsonschema.Draft7Validator(_schema())


@functools.cache
def fast_validator() -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.Draft7Validator(_schema(), validate_formats=False, offline=True)


def fast_accepts(document) -> bool:
    try:
        return fast_validator().is_valid(document)
    except ValueError:  # e.g. a lone surrogate in a key: the authority judges it
        return False


def events_of(document: dict) -> list:
    """The eventList of an EPCISDocument or of an EPCISQueryDocument's results."""
    # Any level may be the wrong type: the schema check names it, later.
    path = ["epcisBody"]
    if document.get("type") == "EPCISQueryDocument":
        path += ["queryResults", "resultsBody"]
    body = document
    for name in path:
        body = body.get(name) if isinstance(body, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    return events if isinstance(events, list) else []


def _event_index(path) -> int | None:
    """The eventList position in an error's path, if the error is inside an event."""
    parts = list(path)
    for i, part in enumerate(parts[:-1]):
        if part == "eventList" and isinstance(parts[i + 1], int):
            return parts[i + 1]
    return None


def _where(path) -> str:
    return "/".join(str(p) for p in path) or "(document)"


def document_check(document) -> None:
    """SchemaProblem naming the first event (or the envelope) that breaks the schema."""
    if not isinstance(document, dict):
        raise SchemaProblem(None, None, "the body must be a JSON object (an EPCIS document)")
    if document.get("type") not in DOCUMENT_TYPES:
        raise SchemaProblem(None, None, "type must be EPCISDocument or EPCISQueryDocument")
    if fast_accepts(document):
        return
    error = jsonschema.exceptions.best_match(validator().iter_errors(document))
    if error is None:
        return
    index = _event_index(error.absolute_path)
    event_id = None
    if index is not None:
        event = events_of(document)[index]
        event_id = event.get("eventID") if isinstance(event, dict) else None
    raise SchemaProblem(index, event_id, f"{_where(error.absolute_path)}: {error.message}")


def is_valid(document) -> bool:
    """jsonschema's verdict, reached by the fast path when it can be."""
    return fast_accepts(document) or validator().is_valid(document)
