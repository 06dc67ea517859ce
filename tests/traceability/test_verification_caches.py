"""What a verification remembers between scans (signatures, checkpoints, the
tree's right edge) never hides a change to the ledger."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import note
from ledger.models import Checkpoint, Entry
from tests.traceability.test_verification import tamper
from tests.web.helpers import deliver
from traceability import pack_states, statements
from traceability.models import SigningKey
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


@pytest.fixture
def verifications(monkeypatch):
    """Counts the Ed25519 checks of statements as they happen."""
    calls = []
    real = statements.verify

    def counting(signed, public_key):
        calls.append(signed.kind)
        return real(signed, public_key)

    monkeypatch.setattr(statements, "verify", counting)
    return calls


def test_each_stored_statement_is_checked_once_and_trusted_only_for_its_bytes(
    held, pharmacy, verifications
):
    assert verify(held[0], pharmacy).verdict == "AUTHENTIC"
    assert verifications == ["commission", "ship", "receive"]
    second = verify(held[1], pharmacy)  # the same three statements name it
    assert second.verdict == "AUTHENTIC"
    assert all(link.signature_valid for link in second.chain)
    assert len(verifications) == 3


def test_a_statement_edited_after_it_verified_is_caught_on_the_next_scan(held, pharmacy):
    pack = held[0]
    assert verify(pack, pharmacy).verdict == "AUTHENTIC"
    commissioned = pack.commissioned_entry
    data = bytes(Entry.objects.get(index=commissioned).data)
    forged = data.replace(b"commissioning", b"Commissioning")
    tamper('UPDATE ledger_entry SET data = %s WHERE "index" = %s', [forged, commissioned])

    found = verify(pack, pharmacy)
    assert found.verdict == "SIGNATURE_INVALID"
    assert [link.signature_valid for link in found.chain] == [False, True, True]


def test_a_signing_key_replaced_after_the_chain_verified_is_caught(held, pharmacy, manufacturer):
    assert verify(held[0], pharmacy).verdict == "AUTHENTIC"
    other = SigningKey.objects.exclude(organisation=manufacturer).first()
    SigningKey.objects.filter(organisation=manufacturer).update(public_key=other.public_key)

    found = verify(held[0], pharmacy)
    assert found.verdict == "SIGNATURE_INVALID"
    assert [link.signature_valid for link in found.chain] == [False, False, True]


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


def test_a_received_statement_edited_after_a_scan_is_caught_when_another_of_its_packs_is_scanned(
    held, pharmacy
):
    assert verify(held[0], pharmacy).verdict == "AUTHENTIC"
    received = held[1].last_entry
    assert received == held[0].last_entry  # one receive statement for the delivery
    data = bytes(Entry.objects.get(index=received).data)
    forged = data.replace(b"receiving", b"Receiving")
    tamper('UPDATE ledger_entry SET data = %s WHERE "index" = %s', [forged, received])

    found = verify(held[1], pharmacy)
    assert [r.code for r in found.reasons] == ["SIGNATURE_INVALID", "PROOF_INVALID"]
    assert "does not hash to its leaf" in found.reasons[1].message


def test_a_repeat_scan_reads_pack_chain_and_checkpoint_in_one_query(held, pharmacy):
    # What the counter pays per scan once the tree's tiles are known: one round trip.
    verify(held[0], pharmacy)
    with CaptureQueriesContext(connection) as queries:
        found = verify(held[1], pharmacy)
    assert found.verdict == "AUTHENTIC" and found.proof_valid
    assert len(queries.captured_queries) == 1
