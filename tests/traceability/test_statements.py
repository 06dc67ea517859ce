"""The statement format that API clients sign and the ledger stores."""

import base64
import json

import nacl.signing
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from traceability import statements

GLN = "4012345000009"


@pytest.fixture
def key():
    return nacl.signing.SigningKey.generate()


def new_statement(key, **overrides):
    statement = statements.build(
        kind="ship",
        body={"packs": ["(01)09506000134352(21)ABC"], "to": "4098765000002"},
        org=GLN,
        key=statements.key_id(bytes(key.verify_key)),
    )
    statement.update(overrides)
    return statement


def test_signed_statement_round_trips_through_entry_bytes(key):
    signed = statements.sign(new_statement(key), bytes(key))
    entry = signed.entry_bytes()
    again = statements.parse_entry(entry)
    assert again == signed
    statements.verify(again, bytes(key.verify_key))


def test_entry_bytes_are_canonical_json(key):
    entry = statements.sign(new_statement(key), bytes(key)).entry_bytes()
    assert rfc8785.dumps(json.loads(entry)) == entry


def test_client_signs_the_domain_prefix_and_the_canonical_statement(key):
    # What the README tells API clients: sign DOMAIN + JCS(statement).
    statement = new_statement(key)
    message = b"drug-traceability/statement/v1\n" + rfc8785.dumps(statement)
    signature = key.sign(message).signature
    submitted = {"statement": statement, "signature": base64.b64encode(signature).decode()}
    statements.verify(statements.parse(submitted), bytes(key.verify_key))


def test_a_signature_over_the_statement_without_the_domain_prefix_is_refused(key):
    statement = new_statement(key)
    signature = key.sign(rfc8785.dumps(statement)).signature
    signed = statements.SignedStatement(statement=statement, signature=signature)
    with pytest.raises(statements.StatementError, match="signature does not verify"):
        statements.verify(signed, bytes(key.verify_key))


def test_an_altered_body_breaks_the_signature(key):
    signed = statements.sign(new_statement(key), bytes(key))
    signed.statement["body"]["to"] = "4000000000006"
    with pytest.raises(statements.StatementError, match="signature does not verify"):
        statements.verify(signed, bytes(key.verify_key))


def test_a_key_other_than_the_named_one_is_refused(key):
    signed = statements.sign(new_statement(key), bytes(key))
    other = nacl.signing.SigningKey.generate()
    with pytest.raises(statements.StatementError, match=r"signer\.key does not identify"):
        statements.verify(signed, bytes(other.verify_key))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"v": 2}, "v must be 1"),
        ({"v": True}, "v must be 1"),
        ({"kind": "Ship Now"}, "kind must be"),
        ({"body": []}, "body must be a JSON object"),
        ({"signer": {"org": GLN}}, "signer must be"),
        ({"signer": {"org": "123", "key": "0" * 16}}, "signer.org must be"),
        ({"signer": {"org": GLN, "key": "XYZ"}}, "signer.key must be"),
        ({"issued_at": "yesterday"}, "issued_at must be UTC RFC 3339"),
        ({"issued_at": "2026-11-23T09:30:00+01:00"}, "issued_at must be UTC"),
        ({"nonce": "c2hvcnQ="}, "nonce must be base64 of 16"),
        ({"nonce": 5}, "nonce must be base64"),
        ({"extra": 1}, "unknown field extra"),
    ],
)
def test_malformed_statements_are_refused_naming_the_field(key, change, message):
    statement = new_statement(key, **change)
    with pytest.raises(statements.StatementError, match=message):
        statements.sign(statement, bytes(key))


def test_missing_fields_are_named(key):
    statement = new_statement(key)
    del statement["nonce"], statement["kind"]
    with pytest.raises(statements.StatementError, match="missing kind, nonce"):
        statements.check_shape(statement)


@pytest.mark.parametrize(
    "submitted, message",
    [
        ([], "expected"),
        ({"statement": {}}, "expected"),
        ({"statement": None, "signature": "x"}, "must be a JSON object"),
    ],
)
def test_malformed_submissions_are_refused(submitted, message):
    with pytest.raises(statements.StatementError, match=message):
        statements.parse(submitted)


def test_a_short_or_non_base64_signature_is_refused(key):
    statement = new_statement(key)
    for bad in ["not base64!", base64.b64encode(b"x" * 10).decode(), None]:
        with pytest.raises(statements.StatementError, match="signature must be base64"):
            statements.parse({"statement": statement, "signature": bad})


def test_an_oversized_statement_is_refused(key):
    statement = new_statement(key, body={"note": "x" * 70_000})
    signed = statements.sign(statement, bytes(key))
    submitted = {"statement": statement, "signature": base64.b64encode(signed.signature).decode()}
    with pytest.raises(statements.StatementError, match="larger than 65536 bytes"):
        statements.parse(submitted)


def test_numbers_json_cannot_represent_exactly_are_refused(key):
    with pytest.raises(statements.StatementError, match="cannot be canonicalized"):
        statements.sign(new_statement(key, body={"quantity": 2**60}), bytes(key))


def test_a_non_json_entry_is_refused():
    with pytest.raises(statements.StatementError, match="entry is not JSON"):
        statements.parse_entry(b"\x00garbage")


def test_entry_bytes_equal_the_canonical_json_of_the_whole_entry(key):
    for body in [{}, {"é": "ü", "n": [1, 2.5, None, True]}, {"quote": 'a"b\\c/d'}]:
        signed = statements.sign(new_statement(key, body=body), bytes(key))
        wrapper = {
            "statement": signed.statement,
            "signature": base64.b64encode(signed.signature).decode(),
        }
        assert signed.entry_bytes() == rfc8785.dumps(wrapper)
        assert statements.parse(wrapper).entry_bytes() == rfc8785.dumps(wrapper)


def test_parsed_statements_store_exactly_the_bytes_that_were_verified(key):
    signed = statements.sign(new_statement(key), bytes(key))
    parsed = statements.parse(json.loads(signed.entry_bytes()))
    statements.verify(parsed, bytes(key.verify_key))
    assert parsed.entry_bytes() == signed.entry_bytes()


SAFE = 2**53 - 1
ASCII = st.text(st.characters(max_codepoint=127), max_size=8)


def json_values(scalars, keys):
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=30,
    )


# what the fast path takes (json.dumps), and anything JSON at all (some go to rfc8785)
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | st.text()
plain = json_values(scalars, ASCII)
anything = json_values(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8) | st.sampled_from(["a", "B", "é", "\ufb01", "\U0001f48a"]),
)


@settings(max_examples=500, deadline=None)
@given(body=st.dictionaries(ASCII, plain, max_size=6))
def test_the_bytes_to_sign_of_plain_json_are_exactly_rfc8785(body):
    statement = new_statement(nacl.signing.SigningKey(bytes(32)), body=body)
    assert statements.signing_bytes(statement) == statements.DOMAIN + rfc8785.dumps(statement)


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.text(max_size=8), anything, max_size=6))
def test_the_bytes_to_sign_of_any_json_are_exactly_rfc8785(body):
    statement = new_statement(nacl.signing.SigningKey(bytes(32)), body=body)
    assert statements.signing_bytes(statement) == statements.DOMAIN + rfc8785.dumps(statement)


@pytest.mark.parametrize(
    "body",
    [{"text": "\ud800"}, {"\udfff": 1}, {"n": 2**53}, {"n": float("nan")}],
    ids=["lone surrogate", "surrogate key", "unsafe integer", "NaN"],
)
def test_what_rfc8785_cannot_canonicalize_is_refused(key, body):
    with pytest.raises(statements.StatementError, match="cannot be canonicalized"):
        statements.signing_bytes(new_statement(key, body=body))


def test_a_statement_nested_too_deeply_is_refused_not_crashed(key):
    body: dict = {}
    nested = body
    for _ in range(5_000):
        nested["x"] = {}
        nested = nested["x"]
    with pytest.raises(statements.StatementError, match="nested too deeply"):
        statements.signing_bytes(new_statement(key, body=body))


def _verify_batch(key, size: int) -> list:
    batch = [statements.sign(new_statement(key), bytes(key)) for _ in range(size)]
    return statements.verify_each(batch, [bytes(key.verify_key)] * size)


def _verify_in_child(key, size, results) -> None:
    results.put(_verify_batch(key, size))


def test_a_forked_worker_verifies_big_batches_after_its_parent_did():
    """A preforking server may verify in the master before it forks: the workers
    must not inherit a thread pool whose threads they do not have."""
    import multiprocessing

    key = nacl.signing.SigningKey.generate()
    size = statements.VERIFY_PER_THREAD * 2  # enough to use the pool
    assert _verify_batch(key, size) == [None] * size
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_verify_in_child, args=(key, size, results))
    child.start()
    child.join(timeout=30)
    alive = child.is_alive()
    child.kill()
    assert not alive, "the child hung on its inherited pool"
    assert results.get(timeout=5) == [None] * size
