"""The fast schema validator (jsonschema-rs) only ever accepts what jsonschema,
the authority, accepts; jsonschema names the problem whenever a document is refused.

Documents are GS1's examples and mutations of them: values replaced (by values
found in the examples, or by arbitrary JSON), members removed or added, list
items repeated.
"""

import copy
import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.epcis.conftest import TESTDATA
from traceability.epcis import schema

EXAMPLES = sorted((TESTDATA / "JSON").rglob("*.jsonld"))
DOCUMENTS = [json.loads(path.read_text()) for path in EXAMPLES]
MUTATIONS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _nodes(value, path=()):
    """Every (path, value) in a JSON tree, the root included."""
    yield path, value
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _nodes(child, (*path, key))


def _scalars_and_small_trees() -> list:
    found = {}
    for doc in DOCUMENTS:
        for _, value in _nodes(doc):
            text = json.dumps(value, sort_keys=True)
            if len(text) < 200:
                found[text] = value
    return [found[key] for key in sorted(found)]


GS1_VALUES = _scalars_and_small_trees()
NAMES = sorted({p[-1] for doc in DOCUMENTS for p, _ in _nodes(doc) if p and isinstance(p[-1], str)})
TRICKY = [
    "ADD\n",
    "2.0\n",
    "+01:00\n",
    "\u0662.\u0660",
    "+14:00",
    "+14:01",
    "https://ns.gs1.org/cbv/x",
]
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
gs1_like = st.sampled_from(GS1_VALUES) | st.sampled_from(NAMES) | st.sampled_from(TRICKY)
names = st.sampled_from(NAMES) | st.text(max_size=12)


@st.composite
def mutated(draw, values) -> dict:
    """A GS1 example with one to three changes somewhere in it."""
    doc = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(1, 3))):
        path, node = draw(st.sampled_from(list(_nodes(doc))))
        change = draw(st.sampled_from(["replace", "remove", "add", "repeat"]))
        if change == "add" and isinstance(node, dict):
            # A copy: a later change may edit what was added, and GS1_VALUES
            # are the examples' own subtrees, which every draw must find unchanged.
            node[draw(names)] = copy.deepcopy(draw(values))
        elif change == "repeat" and isinstance(node, list) and node:
            node.append(copy.deepcopy(draw(st.sampled_from(node))))
        elif path:
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            if change == "remove" and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(draw(values))
    return doc


def _check_refuses(doc) -> bool:
    try:
        schema.document_check(doc)
    except schema.SchemaProblem:
        return True
    return False


def _authority_message(doc) -> str:
    return jsonschema.exceptions.best_match(schema.validator().iter_errors(doc)).message


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(TESTDATA / "JSON")))
def test_every_gs1_example_is_accepted_on_the_fast_path(path):
    doc = json.loads(path.read_text())
    assert schema.fast_accepts(doc)
    assert schema.validator().is_valid(doc)


@MUTATIONS
@given(mutated(any_json))
def test_the_fast_validator_never_accepts_what_jsonschema_refuses(doc):
    authority = schema.validator().is_valid(doc)
    if schema.fast_accepts(doc):
        assert authority
    enveloped = doc.get("type") in schema.DOCUMENT_TYPES
    assert _check_refuses(doc) == (not authority or not enveloped)


@MUTATIONS
@given(mutated(gs1_like))
def test_both_validators_agree_on_documents_with_gs1s_own_values(doc):
    if any(isinstance(v, str) and v in TRICKY for _, v in _nodes(doc)):
        assert not schema.fast_accepts(doc) or schema.validator().is_valid(doc)
    else:
        assert schema.fast_accepts(doc) == schema.validator().is_valid(doc)


@MUTATIONS
@given(mutated(gs1_like))
def test_a_refused_document_gets_jsonschemas_own_message(doc):
    if doc.get("type") in schema.DOCUMENT_TYPES and not schema.validator().is_valid(doc):
        with pytest.raises(schema.SchemaProblem) as refused:
            schema.document_check(doc)
        assert refused.value.message.endswith(_authority_message(doc))


@pytest.mark.parametrize(
    "field, value",
    [
        ("schemaVersion", "2.0\n"),  # Python's `$` matches before a final newline
        ("schemaVersion", "\u0662.\u0660"),  # Arabic-Indic digits are `\d` to Python
    ],
)
def test_where_the_fast_validator_is_stricter_jsonschema_decides(field, value):
    doc = copy.deepcopy(DOCUMENTS[0])
    doc[field] = value
    assert not schema.fast_accepts(doc)
    schema.document_check(doc)  # accepted: jsonschema finds nothing wrong
    assert schema.is_valid(doc)


def test_a_document_the_fast_validator_cannot_read_is_judged_by_jsonschema():
    doc = copy.deepcopy(DOCUMENTS[0])
    event = doc["epcisBody"]["eventList"][0]
    event["\ud800"] = 1  # a lone surrogate, as JSON may carry: Rust strings cannot hold it
    assert not schema.fast_accepts(doc)
    schema.document_check(doc)  # any property name is a URI to a schema without formats
    del event["eventTimeZoneOffset"]
    with pytest.raises(schema.SchemaProblem) as refused:
        schema.document_check(doc)
    assert refused.value.index == 0
    assert refused.value.message.endswith("'eventTimeZoneOffset' is a required property")
