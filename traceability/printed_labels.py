"""What a pack's code says against what the ledger knows of its batch.

A serial printed with another lot or expiry than the one it was commissioned
in is a falsification signal: the verification screen answers BATCH_MISMATCH
or EXPIRY_MISMATCH for one pack; this checks many scanned at once."""

import datetime
from dataclasses import dataclass

from traceability.custody_state import packs_by_sgtin
from traceability.models import Batch


@dataclass(frozen=True)
class PrintedLabel:
    line: int  # where it was scanned, to name it back
    lot: str | None
    expiry: datetime.date | None


def label_mismatches(printed: dict[tuple[str, str], PrintedLabel]) -> list[str]:
    """One message per scanned pack whose printed lot or expiry is not its batch's."""
    packs = packs_by_sgtin(printed)
    batches = Batch.objects.in_bulk({pack.batch_id for pack in packs.values()})
    problems = []
    for sgtin, label in sorted(printed.items(), key=lambda item: item[1].line):
        if sgtin not in packs:
            continue  # unknown packs are the custody rules' to refuse
        batch = batches[packs[sgtin].batch_id]
        lot, expires_on = batch.lot, batch.expires_on
        if label.lot is not None and label.lot != lot:
            problems.append(
                f"Line {label.line}: the code says lot {label.lot}, but serial {sgtin[1]} "
                f"is of lot {lot}."
            )
        if label.expiry is not None and label.expiry != expires_on:
            problems.append(
                f"Line {label.line}: the code says expiry {label.expiry.isoformat()}, but lot "
                f"{lot} expires {expires_on.isoformat()}."
            )
    return problems
