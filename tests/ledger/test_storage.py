import random
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ledger import merkle, note, storage
from ledger.logkey import log_key_get_or_create
from ledger.models import Checkpoint, Entry, Tile, TreeHead

pytestmark = pytest.mark.django_db


def entries(start, count):
    return [f"statement {i}".encode() for i in range(start, start + count)]


def naive_leaves(count):
    return [merkle.leaf_hash(e) for e in entries(0, count)]


def test_fresh_log_has_a_signed_empty_checkpoint():
    checkpoint = storage.checkpoint_latest()
    signed = note.open_checkpoint(checkpoint.note, storage.verifier_key())
    assert (signed.size, signed.root) == (0, merkle.EMPTY_ROOT)


def test_append_gives_consecutive_indices_and_a_new_signed_checkpoint():
    first = storage.append(entries(0, 3))
    second = storage.append(entries(3, 2))
    assert (first.first_index, first.size) == (0, 3)
    assert (second.first_index, second.size) == (3, 5)
    assert list(Entry.objects.order_by("index").values_list("index", flat=True)) == [0, 1, 2, 3, 4]
    signed = note.open_checkpoint(storage.checkpoint_latest().note, storage.verifier_key())
    assert signed.size == 5
    assert signed.root == merkle.root(naive_leaves(5))


def test_entries_keep_their_exact_bytes():
    raw = bytes(range(256)) + b"\x00\xff"
    storage.append([raw])
    stored = storage.entry_get(0)
    assert bytes(stored.data) == raw
    assert bytes(stored.leaf_hash) == merkle.leaf_hash(raw)


def test_empty_or_non_bytes_appends_are_refused_and_write_nothing():
    with pytest.raises(storage.LedgerError, match="nothing to append"):
        storage.append([])
    with pytest.raises(storage.LedgerError, match="must be bytes"):
        storage.append([b"ok", "not bytes"])
    assert Entry.objects.count() == 0
    assert TreeHead.objects.get().size == 0


def test_a_failing_caller_transaction_leaves_no_entry_behind():
    storage.append(entries(0, 2))
    with pytest.raises(RuntimeError), transaction.atomic():
        storage.append(entries(2, 300))
        raise RuntimeError("the domain rule failed after the append")
    assert Entry.objects.count() == 2
    assert Tile.objects.count() == 0
    assert TreeHead.objects.get().size == 2
    assert storage.checkpoint_latest().size == 2


def test_tiles_are_written_once_complete_at_every_level():
    storage.append(entries(0, 255))
    assert Tile.objects.count() == 0
    storage.append(entries(255, 1))
    tile = Tile.objects.get()
    assert (tile.level, tile.index) == (0, 0)
    assert bytes(tile.hashes) == b"".join(naive_leaves(256))
    assert bytes(tile.root) == merkle.root(naive_leaves(256))


def test_roots_and_proofs_match_naive_recomputation_across_tile_boundaries():
    # Odd batch sizes so batches straddle tile edges; past 65,536 entries a
    # level-1 tile completes too.
    total, start = 65_536 + 1000, 0
    for size in [1, 254, 3, 1000, 64_000, 1000, 278]:
        storage.append(entries(start, size))
        start += size
    assert start == total
    assert Tile.objects.filter(level=1).count() == 1
    leaves = naive_leaves(total)
    rng = random.Random(9162)
    sizes = [1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, total]
    sizes += rng.sample(range(1, total + 1), 6)
    for size in sizes:
        expected_root = merkle.root(leaves[:size])
        reader = storage.NodeReader(total)
        assert reader.root(size) == expected_root, size
        for index in {0, size - 1, rng.randrange(size)}:
            proof = storage.inclusion_proof(index, size)
            assert proof.root == expected_root
            merkle.verify_inclusion(index, size, leaves[index], proof.proof, expected_root)
        for size1 in {1, size, rng.randrange(1, size + 1)}:
            proof = storage.consistency_proof(size1, size)
            merkle.verify_consistency(
                size1, size, proof.proof, merkle.root(leaves[:size1]), expected_root
            )


def test_proof_requests_outside_the_log_are_refused_with_a_reason():
    storage.append(entries(0, 10))
    with pytest.raises(storage.LedgerError, match="less than size"):
        storage.inclusion_proof(10, 10)
    with pytest.raises(storage.LedgerError, match="beyond the log's size 10"):
        storage.inclusion_proof(3, 11)
    with pytest.raises(storage.LedgerError, match="from=0 must be at least 1"):
        storage.consistency_proof(0, 5)
    with pytest.raises(storage.LedgerError, match="at most to=4"):
        storage.consistency_proof(5, 4)
    with pytest.raises(storage.LedgerError, match="beyond the log's size 10"):
        storage.consistency_proof(5, 11)


def test_log_private_key_is_encrypted_at_rest():
    key = log_key_get_or_create()
    blob = bytes(key.encrypted_private_key)
    from ledger.logkey import log_key_seed

    seed = log_key_seed(key)
    assert len(seed) == 32
    assert seed not in blob


def test_log_private_key_cannot_be_read_with_another_kek(settings):
    key = log_key_get_or_create()
    settings.LEDGER_KEK = b"\x01" * 32
    from cryptography.exceptions import InvalidTag

    from ledger.logkey import log_key_seed

    with pytest.raises(InvalidTag):
        log_key_seed(key)


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_are_serialized_without_gaps():
    workers, batches, batch_size = 4, 5, 50
    errors = []

    def work(worker):
        try:
            for b in range(batches):
                storage.append([f"w{worker}-b{b}-{i}".encode() for i in range(batch_size)])
        except Exception as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = workers * batches * batch_size
    indices = list(Entry.objects.order_by("index").values_list("index", flat=True))
    assert indices == list(range(total))
    data = Entry.objects.order_by("index").values_list("data", flat=True)
    leaves = [merkle.leaf_hash(bytes(d)) for d in data]
    assert bytes(TreeHead.objects.get().root) == merkle.root(leaves)
    assert Checkpoint.objects.count() == 1 + workers * batches


def test_postgres_refuses_to_update_or_delete_ledger_rows(on_postgres):
    from django.db import DatabaseError

    storage.append(entries(0, 3))
    for statement in [
        "UPDATE ledger_entry SET data = 'x' WHERE index = 1",
        "DELETE FROM ledger_entry WHERE index = 2",
        "UPDATE ledger_checkpoint SET note = 'forged'",
        "DELETE FROM ledger_logkey",
    ]:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert Entry.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_committed_appends_reuse_the_cached_right_edge_and_stay_correct():
    # Committed appends publish the tree's right edge for the next append;
    # batches of odd sizes cross tile edges at 256, 512, 768 and 1024.
    start = 0
    for size in [200, 56, 1, 300, 211, 1, 255, 100]:
        storage.append(entries(start, size))
        start += size
        leaves = naive_leaves(start)
        assert bytes(TreeHead.objects.get().root) == merkle.root(leaves), start
        index = start - 1
        proof = storage.inclusion_proof(index, start)
        merkle.verify_inclusion(index, start, leaves[index], proof.proof, merkle.root(leaves))
    for tile in Tile.objects.filter(level=0):
        assert bytes(tile.hashes) == b"".join(leaves[tile.index * 256 : tile.index * 256 + 256])


def test_repeated_proofs_from_one_tree_reuse_its_right_edge_and_stay_correct():
    # The edge's subtree hashes are remembered per (size, root): the second
    # round of proofs from each tree uses them, and a grown tree gets its own.
    start, rng = 0, random.Random(6962)
    for size in [300, 211, 1, 255]:
        storage.append(entries(start, size))
        start += size
        leaves = naive_leaves(start)
        root = merkle.root(leaves)
        indices = [0, start - 1, *rng.sample(range(start), 5)]
        for _ in range(2):
            for index in indices:
                proof = storage.inclusion_proof(index, start)
                merkle.verify_inclusion(index, start, leaves[index], proof.proof, root)
            for size1 in (1, start - 1, rng.randrange(1, start)):
                proof = storage.consistency_proof(size1, start)
                merkle.verify_consistency(
                    size1, start, proof.proof, merkle.root(leaves[:size1]), root
                )


def test_a_proof_in_a_checkpoints_tree_matches_the_one_from_the_head():
    storage.append(entries(0, 700))
    checkpoint = storage.checkpoint_latest()
    leaves = naive_leaves(700)
    for index in (0, 255, 256, 699):
        proof = storage.inclusion_proof_at(index, checkpoint.size, bytes(checkpoint.root))
        assert proof == storage.inclusion_proof(index, 700)
        merkle.verify_inclusion(index, 700, leaves[index], proof.proof, merkle.root(leaves))
    with pytest.raises(storage.LedgerError, match="missing hashes"):
        storage.inclusion_proof_at(0, 701, bytes(checkpoint.root))


def test_proofs_in_a_checkpoints_tree_are_kept_until_the_tree_grows():
    storage.append(entries(0, 300))
    root = bytes(storage.checkpoint_latest().root)
    first = storage.inclusion_proof_at(5, 300, root)
    assert storage.inclusion_proof_at(5, 300, root) is first

    storage.append(entries(300, 1))
    grown = storage.inclusion_proof_at(5, 301, bytes(storage.checkpoint_latest().root))
    assert grown.size == 301 and grown.proof != first.proof
    leaves = naive_leaves(301)
    merkle.verify_inclusion(5, 301, leaves[5], grown.proof, merkle.root(leaves))


def test_proving_other_leaves_of_a_known_tree_reads_no_tile_again():
    # A counter scans pack after pack: each proof is new, the tiles under it are not.
    storage.append(entries(0, 700))
    root = bytes(storage.checkpoint_latest().root)
    leaves = naive_leaves(700)
    storage.inclusion_proof_at(3, 700, root)
    with CaptureQueriesContext(connection) as queries:
        for index in (4, 100, 255, 256, 511, 600, 699):
            proof = storage.inclusion_proof_at(index, 700, root)
            merkle.verify_inclusion(index, 700, leaves[index], proof.proof, merkle.root(leaves))
    tile_reads = [q for q in queries.captured_queries if Tile._meta.db_table in q["sql"]]
    # leaves 0-255 and 256-511 lie in two complete tiles: only the second is read
    assert len(tile_reads) == 1
