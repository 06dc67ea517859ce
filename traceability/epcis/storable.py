"""Text that JSON can carry but the platform cannot store: the NUL character
(PostgreSQL text and jsonb refuse it) and unpaired surrogates (not Unicode, so
not UTF-8). A document carrying either is refused up front, naming the event,
rather than failing half-way through its writes."""

import json
import re

# \u0000 in JSON text, unless its backslash is itself escaped (a literal "\u0000")
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def problem_in(value) -> str | None:
    """Why `value` (parsed JSON) cannot be stored, or None."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:
        return "the JSON is nested too deeply"
    if NUL_ESCAPE.search(text):
        return "a text contains the NUL character (\\u0000), which cannot be stored"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "a text contains an unpaired surrogate, which is not Unicode"
    return None


def first_problem(document, events: list) -> tuple[int | None, str] | None:
    """(event index or None for the envelope, problem) for the first part of
    `document` that cannot be stored, or None. One pass when all is well."""
    if problem_in(document) is None:
        return None
    for position, event in enumerate(events):
        if (problem := problem_in(event)) is not None:
            return position, problem
    return None, problem_in(document)
