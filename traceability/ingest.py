"""Statements that API clients signed with their own keys.

The client sends EPCIS-shaped custody events (ship, return, receive,
dispense, destroy, pack, unpack); they meet the same rules as the web path
(custody_rules). The batch is all or nothing: the first refused statement is
named by position and nothing is written.
"""

from collections.abc import Sequence

from django.db import transaction

from traceability import statements
from traceability.custody_rules import custody_check
from traceability.models import Organisation, StatementRecord
from traceability.statement_log import StatementRejected, statements_append, statements_check

MAX_STATEMENTS = 10_000


def _parsed(organisation: Organisation, submitted: Sequence) -> list[statements.SignedStatement]:
    if not isinstance(submitted, list) or not submitted:
        raise StatementRejected(0, "statements must be a non-empty list")
    if len(submitted) > MAX_STATEMENTS:
        raise StatementRejected(0, f"at most {MAX_STATEMENTS:,} statements per request")
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


@transaction.atomic
def statements_ingest(*, organisation: Organisation, submitted: Sequence) -> list[StatementRecord]:
    """Check and append a batch of client-signed statements for `organisation`."""
    parsed = _parsed(organisation, submitted)
    keys = statements_check(parsed)  # signatures first: no rule looks at unsigned content
    checked = custody_check(organisation, parsed)
    return statements_append(parsed, keys=keys, checked=checked)
