"""GS1's EPCIS 2.0 JSON Schema, compiled once, and the event list of a document.

The schema file beside this module is GS1's, byte for byte (a test compares it
with the conformance copy). jsonschema treats `format` as an annotation (draft
7 makes it optional), so the schema does not check that eventTime is a date:
capture parses it and says so.

Speed: a document repeats the same small values thousands of times (bizStep,
readPoint, property names, parties), and jsonschema walks the schema anew
for each. The validator therefore remembers which (definition, value) pairs
were valid: a `$ref` to a definition is a pure function of the value, since
every reference in this one-file schema resolves to the same place. Invalid
values are always validated again, so every error is reported exactly as
jsonschema reports it. A definition whose values rarely repeat (whole
events, eventIDs) stops being remembered after a trial.
"""

import functools
import json
from pathlib import Path

import jsonschema

SCHEMA_PATH = Path(__file__).with_name("EPCIS-JSON-Schema.json")
DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")


class SchemaProblem(ValueError):
    """Where the document breaks the schema: event index (or None) and the problem."""

    def __init__(self, index: int | None, event_id: str | None, message: str):
        super().__init__(message)
        self.index, self.event_id, self.message = index, event_id, message


PLAIN_REF = jsonschema.Draft7Validator.VALIDATORS["$ref"]


class _ValidRefs:
    """Which (reference, value) pairs validated without error."""

    MAX_ENTRIES = 50_000
    TRIAL = 500  # lookups of a reference before judging whether remembering pays
    MIN_HIT_RATE = 0.2

    def __init__(self):
        self.valid: set = set()
        self.lookups: dict[str, list[int]] = {}  # ref -> [lookups, hits]
        self.skipped: set[str] = set()

    @staticmethod
    def _key(value):
        if isinstance(value, dict | list):
            return json.dumps(value, sort_keys=True)
        return (type(value).__name__, value)

    def keyword(self, validator, ref, instance, schema):
        """jsonschema's `$ref`, skipping pairs already known to be valid."""
        if ref in self.skipped:
            yield from PLAIN_REF(validator, ref, instance, schema)
            return
        key, stats = (ref, self._key(instance)), self.lookups.setdefault(ref, [0, 0])
        stats[0] += 1
        if key in self.valid:
            stats[1] += 1
            return
        errors = list(PLAIN_REF(validator, ref, instance, schema))
        if stats[0] >= self.TRIAL and stats[1] < self.MIN_HIT_RATE * stats[0]:
            self.skipped.add(ref)
        elif not errors:
            if len(self.valid) >= self.MAX_ENTRIES:
                self.valid.clear()
            self.valid.add(key)
        yield from errors


@functools.cache
def validator() -> jsonschema.Draft7Validator:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    remembering = jsonschema.validators.extend(
        jsonschema.Draft7Validator, {"$ref": _ValidRefs().keyword}
    )
    return remembering(schema)


def events_of(document: dict) -> list:
    """The eventList of an EPCISDocument or of an EPCISQueryDocument's results."""
    body = document.get("epcisBody") or {}
    if document.get("type") == "EPCISQueryDocument":
        body = (body.get("queryResults") or {}).get("resultsBody") or {}
    events = body.get("eventList")
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
    error = jsonschema.exceptions.best_match(validator().iter_errors(document))
    if error is None:
        return
    index = _event_index(error.absolute_path)
    event_id = None
    if index is not None:
        event = events_of(document)[index]
        event_id = event.get("eventID") if isinstance(event, dict) else None
    raise SchemaProblem(index, event_id, f"{_where(error.absolute_path)}: {error.message}")


def is_valid(document: dict) -> bool:
    return validator().is_valid(document)
