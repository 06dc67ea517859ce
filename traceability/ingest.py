"""Statements that API clients signed with their own keys.

The client sends EPCIS-shaped custody events (ship, return, receive,
dispense, destroy, pack, unpack, and the counter's stolen, sample and
dispense.undo); they meet the same rules as the web path
(custody_rules). The batch is all or nothing: the first refused statement is
named by position and nothing is written.
"""

from collections.abc import Sequence

from django.db import transaction

from traceability import statements
from traceability.custody_rules import custody_check
from traceability.gc_pause import garbage_collection_paused
from traceability.models import Organisation, StatementRecord
from traceability.statement_log import (
    SignatureCheck,
    StatementRejected,
    replays,
    statements_append,
)

MAX_STATEMENTS = 10_000


def batch_problem(submitted) -> str | None:
    """What is wrong with the batch as a whole (not any one statement), or None."""
    if not isinstance(submitted, list) or not submitted:
        return "must be a non-empty list of signed statements"
    if len(submitted) > MAX_STATEMENTS:
        return f"at most {MAX_STATEMENTS:,} statements per request, not {len(submitted):,}"
    return None


def _parsed(organisation: Organisation, submitted: Sequence) -> list[statements.SignedStatement]:
    problem = batch_problem(submitted)
    if problem is not None:
        raise StatementRejected(0, f"statements {problem}")
    parsed = []
    for position, item in enumerate(submitted):
        try:
            signed = statements.parse(item)
        except statements.StatementError as exc:
            raise StatementRejected(position, str(exc)) from None
        if signed.signer_org != organisation.gln:
            raise StatementRejected(position, "signer.org must be your organisation's GLN")
        parsed.append(signed)
    return parsed


def statements_ingest(*, organisation: Organisation, submitted: Sequence) -> list[StatementRecord]:
    """Check and append a batch of client-signed statements for `organisation`."""
    with garbage_collection_paused(), transaction.atomic():
        return _ingest(organisation, submitted)


def _ingest(organisation: Organisation, submitted: Sequence) -> list[StatementRecord]:
    parsed = _parsed(organisation, submitted)
    # The rules are checked while other threads verify the signatures, but a
    # bad signer or signature is named before any rule, and nothing is written
    # until every signature verified.
    signatures = SignatureCheck(parsed)
    try:
        checked = custody_check(organisation, parsed)
    except StatementRejected:
        keys = signatures.keys()
        # A copy of this batch appended while this one waited for its goods
        # breaks the rules now, but being a replay is the reason to give.
        replayed = replays(parsed, keys)
        if replayed is not None:
            raise replayed from None
        raise
    return statements_append(parsed, keys=signatures.keys(), checked=checked)
