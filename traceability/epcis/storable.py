"""Text that JSON can carry but the platform cannot store: the NUL character
(PostgreSQL text and jsonb refuse it) and unpaired surrogates (not Unicode, so
not UTF-8). A document carrying either is refused up front, naming the event,
rather than failing half-way through its writes."""

import json
import re

import orjson

# \u0000 in JSON text, unless its backslash is itself escaped (a literal "\u0000")
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL = "a text contains the NUL character (\\u0000), which cannot be stored"
SURROGATE = "a text contains an unpaired surrogate, which is not Unicode"


def problem_in(value) -> str | None:
    """Why `value` (parsed JSON) cannot be stored, or None."""
    try:
        data = orjson.dumps(value)  # several times faster than json, UTF-8 or an error
    except orjson.JSONEncodeError:  # json tells a surrogate from what orjson does not write
        return _problem_by_json(value)
    return _nul_in(data)


def _problem_by_json(value) -> str | None:
    try:
        data = json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return SURROGATE
    except RecursionError:
        return "the JSON is nested too deeply"
    return _nul_in(data)


def _nul_in(data: bytes) -> str | None:
    return NUL if b"\\u0000" in data and NUL_ESCAPE.search(data) else None


def first_problem(document, events: list) -> tuple[int | None, str] | None:
    """(event index or None for the envelope, problem) for the first part of
    `document` that cannot be stored, or None. One pass when all is well."""
    if problem_in(document) is None:
        return None
    for position, event in enumerate(events):
        if (problem := problem_in(event)) is not None:
            return position, problem
    return None, problem_in(document)
