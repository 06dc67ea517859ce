"""What a verification remembers between scans never hides a change to the ledger."""

import base64

import pytest

from ledger import note
from ledger.models import Checkpoint
from tests.traceability.test_verification import tamper
from tests.web.helpers import deliver
from traceability import pack_states
from traceability.verification import pack_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 3)
    return list(batch.packs.filter(custodian=pharmacy).order_by("pk"))


def verify(pack, scanner):
    return pack_verify(scanner=scanner, gtin=pack.gtin, serial=pack.serial)


def checkpoint_size(found) -> int:
    return note.open_checkpoint(found.checkpoint_note, found.log_key).size


def test_a_new_checkpoint_is_used_once_the_tree_grows(held, pharmacy):
    before = verify(held[0], pharmacy)
    assert before.proof_valid and before.proof.size == checkpoint_size(before)

    pack_states.pack_dispense(pharmacy=pharmacy, gtin=held[1].gtin, serial=held[1].serial)
    after = verify(held[0], pharmacy)
    latest = Checkpoint.objects.order_by("-size").first()
    assert after.checkpoint_note == latest.note
    assert after.proof.size == checkpoint_size(after) == latest.size > before.proof.size
    assert after.proof_valid and after.verdict == "AUTHENTIC"


def test_a_checkpoint_whose_signature_is_edited_after_one_verified_is_refused(held, pharmacy):
    first = verify(held[0], pharmacy)
    assert first.proof_valid
    latest = Checkpoint.objects.order_by("-size").first()
    body, _, signature_line = latest.note.rpartition("\n\n")
    name, _, encoded = signature_line.rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # one bit of the signature flipped
    forged = f"{body}\n\n{name} {base64.b64encode(raw).decode()}\n"
    tamper("UPDATE ledger_checkpoint SET note = %s WHERE size = %s", [forged, latest.size])

    found = verify(held[0], pharmacy)
    assert found.verdict == "PROOF_INVALID" and not found.proof_valid
    assert "does not verify" in found.reasons[0].message
