"""Append signed statements to the ledger, after checking who signed them.

All or nothing: one bad statement in a batch refuses the whole batch, and
the error names its position and the problem.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger import storage
from traceability import projections, statements
from traceability.bulk_sql import insert_rows
from traceability.custody_state import State
from traceability.models import Organisation, SigningKey, StatementRecord

CLOCK_SKEW = timedelta(minutes=5)
REGULATOR_KINDS = ("root.", "key.")
RECORD_COLUMNS = ["entry", "kind", "organisation_id", "key_id", "nonce", "issued_at"]
REPLAYED = "nonce was already used: a replayed statement"


class StatementRejected(ValueError):
    def __init__(self, position: int, message: str):
        super().__init__(f"statement[{position}]: {message}")
        self.position = position
        self.reason = message


def _check_signer(
    position: int,
    signed: statements.SignedStatement,
    key: SigningKey | None,
    problem: str | None,
    latest: datetime,
):
    if key is None:
        raise StatementRejected(position, f"signer.key {signed.signer_key} is not registered")
    if key.organisation.gln != signed.signer_org:
        raise StatementRejected(position, "signer.org does not own signer.key")
    if key.status != SigningKey.Status.ACTIVE:
        raise StatementRejected(position, f"signer.key {key.key_id} is revoked")
    is_regulator = key.organisation.role == Organisation.Role.REGULATOR
    if signed.kind.startswith(REGULATOR_KINDS) and not is_regulator:
        raise StatementRejected(position, f"only a regulator may sign {signed.kind!r}")
    if signed.issued_at > latest:
        raise StatementRejected(position, "issued_at is in the future")
    if problem is not None:  # with its signature
        raise StatementRejected(position, problem)


def replays(batch: Sequence[statements.SignedStatement], keys: dict) -> StatementRejected | None:
    seen = set()
    for position, signed in enumerate(batch):
        pair = (signed.signer_key, signed.nonce)
        if pair in seen:
            return StatementRejected(position, "nonce is used twice in this batch")
        seen.add(pair)
    used = set(
        StatementRecord.objects.filter(
            key__in=[k for k in keys.values()], nonce__any_of=[s.nonce for s in batch]
        ).values_list("key__key_id", "nonce")
    )
    for position, signed in enumerate(batch):
        if (signed.signer_key, signed.nonce) in used:
            return StatementRejected(position, REPLAYED)
    return None


class SignatureCheck:
    """Who signed each statement of a batch, and may they, answered by `keys()`.

    The signatures are verified on other threads from the moment this is made,
    so the caller may read and check the rules meanwhile; `keys()` waits for
    them. It refuses exactly as checking first would: the first statement
    whose signer or signature is wrong, then replays."""

    def __init__(self, batch: Sequence[statements.SignedStatement]):
        if not batch:
            raise StatementRejected(0, "no statements to append")
        self.batch = batch
        self._keys = {
            k.key_id: k
            for k in SigningKey.objects.select_related("organisation").filter(
                key_id__in={s.signer_key for s in batch}
            )
        }
        public = {key_id: bytes(key.public_key) for key_id, key in self._keys.items()}
        self._problems = statements.verify_each_started(
            batch, [public.get(s.signer_key) for s in batch]
        )
        self._replayed = replays(batch, self._keys)

    def keys(self) -> dict[str, SigningKey]:
        """The signing keys by id, or StatementRejected naming the first bad statement."""
        problems, latest = self._problems(), timezone.now() + CLOCK_SKEW
        for position, signed in enumerate(self.batch):
            key = self._keys.get(signed.signer_key)
            _check_signer(position, signed, key, problems[position], latest)
        if self._replayed is not None:
            raise self._replayed
        return self._keys


def statements_check(batch: Sequence[statements.SignedStatement]) -> dict[str, SigningKey]:
    """Who signed each statement, and may they: the keys by id, or StatementRejected."""
    return SignatureCheck(batch).keys()


def _keys_still_active(batch: Sequence[statements.SignedStatement], keys: dict) -> None:
    """Refuse the batch if a signer's key was revoked since it was checked: called
    under the ledger lock, which the revocation took too, so none can slip between."""
    revoked = set(
        SigningKey.objects.filter(pk__in=[key.pk for key in keys.values()])
        .exclude(status=SigningKey.Status.ACTIVE)
        .values_list("key_id", flat=True)
    )
    for position, signed in enumerate(batch):
        if signed.signer_key in revoked:
            raise StatementRejected(position, f"signer.key {signed.signer_key} is revoked")


def _names_still_free(batch: Sequence[statements.SignedStatement], checked: State) -> None:
    """Refuse the batch if a shipment or case it creates was created since the
    rules checked it (the caller holds the ledger lock)."""
    taken = checked.taken_meanwhile()
    if taken is not None:
        signed, reason = taken
        raise StatementRejected(next(i for i, s in enumerate(batch) if s is signed), reason)


def _record_row(record: StatementRecord) -> tuple:
    return tuple(getattr(record, column) for column in RECORD_COLUMNS)


def statements_append(
    batch: Sequence[statements.SignedStatement],
    *,
    keys: dict[str, SigningKey] | None = None,
    checked: State | None = None,
) -> list[StatementRecord]:
    """Append the statements as one ledger batch and update the projections.

    Pass `keys` from statements_check and `checked` from custody_check when
    the batch was checked already in this transaction.
    """
    if keys is None:
        keys = statements_check(batch)
    with transaction.atomic():
        appended = storage.append(
            [s.entry_bytes() for s in batch], check=lambda: _keys_still_active(batch, keys)
        )
        applied = [(signed, appended.first_index + i) for i, signed in enumerate(batch)]
        # The nonces first: a copy of this batch appended since it was checked
        # is refused as a replay before the projections trip over what it did.
        records = projections.statement_records(applied, keys)
        try:
            with transaction.atomic():
                insert_rows(StatementRecord, RECORD_COLUMNS, [_record_row(r) for r in records])
        except IntegrityError:
            raise replays(batch, keys) or StatementRejected(0, REPLAYED) from None
        if checked is not None:
            _names_still_free(batch, checked)
        projections.apply_batch(applied, checked=checked)
    return records
