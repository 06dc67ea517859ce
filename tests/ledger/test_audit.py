import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import merkle, note, storage
from ledger.audit import AuditFailure, audit
from ledger.models import Checkpoint

pytestmark = pytest.mark.django_db


def fill(count, batch=100):
    for start in range(0, count, batch):
        storage.append([f"statement {i}".encode() for i in range(start, min(count, start + batch))])


def tamper(sql, params=()):
    """Edit rows behind the application's back, as a database superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # triggers off
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_an_untouched_log_verifies():
    fill(700)
    report = audit()
    assert report.entries == 700
    assert report.tiles == 2
    assert report.checkpoints == 8  # the empty tree's, then one per append
    assert report.root == merkle.root(
        [merkle.leaf_hash(f"statement {i}".encode()) for i in range(700)]
    )


def test_ledger_verify_command_exits_zero_and_reports_counts(capsys):
    fill(300)
    call_command("ledger", "verify")
    out = capsys.readouterr()
    assert "ledger verify OK: 300 entries, 1 tiles, 4 signed checkpoints" in out.out
    assert "verified 300/300 entries (100%)" in out.err


def test_edited_entry_bytes_are_named_by_index():
    fill(700)
    tamper('UPDATE ledger_entry SET data = %s WHERE "index" = 345', [b"forged"])
    with pytest.raises(
        AuditFailure, match="entry 345: its bytes do not match its stored leaf hash"
    ):
        audit()


def test_edited_entry_with_a_recomputed_leaf_hash_is_caught_by_its_tile():
    fill(700)
    forged = b"forged"
    tamper(
        'UPDATE ledger_entry SET data = %s, leaf_hash = %s WHERE "index" = 300',
        [forged, merkle.leaf_hash(forged)],
    )
    with pytest.raises(
        AuditFailure, match="entry 300: its bytes do not match the hash that tile 0/1"
    ):
        audit()


def test_edit_past_the_last_tile_is_bounded_by_the_checkpoints():
    fill(700)  # entries 512..699 are not in a complete tile; checkpoints every 100
    forged = b"forged"
    tamper(
        'UPDATE ledger_entry SET data = %s, leaf_hash = %s WHERE "index" = 650',
        [forged, merkle.leaf_hash(forged)],
    )
    with pytest.raises(AuditFailure, match=r"checkpoint at size 700: .* among entries 600\.\.699"):
        audit()


def test_a_deleted_entry_is_reported_missing():
    fill(300)
    tamper('DELETE FROM ledger_entry WHERE "index" = 42')
    with pytest.raises(AuditFailure, match="entry 42 is missing"):
        audit()


def test_a_forged_checkpoint_signature_is_caught():
    fill(200)
    checkpoint = Checkpoint.objects.get(size=100)
    forged = note.checkpoint_body("localhost/drug-traceability/ledger", 100, b"\x00" * 32)
    tamper(
        "UPDATE ledger_checkpoint SET note = %s WHERE size = 100",
        [forged + "\n\u2014 " + checkpoint.note.rsplit("\u2014 ", 1)[1]],
    )
    with pytest.raises(AuditFailure, match="checkpoint at size 100: signature does not verify"):
        audit()


def test_a_rewound_tree_head_is_caught():
    fill(200)
    tamper("UPDATE ledger_treehead SET size = 100")
    with pytest.raises(AuditFailure, match="tree head"):
        audit()


def test_ledger_verify_command_fails_naming_the_entry():
    fill(300)
    tamper('UPDATE ledger_entry SET data = %s WHERE "index" = 7', [b"x"])
    with pytest.raises(CommandError, match="ledger verify FAILED: entry 7"):
        call_command("ledger", "verify")


def test_the_empty_log_verifies():
    report = audit()
    assert (report.entries, report.checkpoints) == (0, 1)
    assert storage.checkpoint_latest().size == 0
