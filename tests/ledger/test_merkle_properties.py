"""Property tests of the pure Merkle core against naive recomputations.

Proof plans are turned into proofs by hashing each planned perfect subtree
naively, then compared element by element with PATH and SUBPROOF written
straight from RFC 9162 sections 2.1.3.1 and 2.1.4.1. merkle.root is also
checked against an independent MTH and against pymerkle.
"""

import hashlib
from functools import cache

import pymerkle
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger import merkle

MAX_SIZE = 300
LEAVES = [merkle.leaf_hash(b"leaf %d" % i) for i in range(MAX_SIZE)]

fast = settings(max_examples=200, deadline=None)


# --- references written from RFC 9162, independent of ledger.merkle -------------------------------


def rfc_mth(hashes):
    """MTH (RFC 9162 2.1.1) over leaf hashes, with hashlib and nothing else."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + rfc_mth(hashes[:k]) + rfc_mth(hashes[k:])).digest()


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_path(m, hashes):
    """PATH(m, D[n]) of RFC 9162 2.1.3.1."""
    n = len(hashes)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*rfc_path(m, hashes[:k]), rfc_mth(hashes[k:])]
    return [*rfc_path(m - k, hashes[k:]), rfc_mth(hashes[:k])]


def rfc_subproof(m, hashes, b):
    """SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1."""
    n = len(hashes)
    if m == n:
        return [] if b else [rfc_mth(hashes)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*rfc_subproof(m, hashes[:k], b), rfc_mth(hashes[k:])]
    return [*rfc_subproof(m - k, hashes[k:], False), rfc_mth(hashes[:k])]


def rfc_proof(m, hashes):
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1."""
    return rfc_subproof(m, hashes, True)


# --- turning plans into proofs --------------------------------------------------------------------


def node(leaves, level, index):
    """The hash of perfect subtree (level, index), recomputed naively from the leaves."""
    begin, end = index << level, (index + 1) << level
    assert end <= len(leaves), f"node {(level, index)} lies outside a tree of {len(leaves)}"
    return merkle.root(leaves[begin:end])


def proof_from_plan(leaves, plan):
    return [merkle.fold([node(leaves, level, index) for level, index in group]) for group in plan]


@cache
def root_of(size):
    return merkle.root(LEAVES[:size])


def flip(value, position):
    """`value` with one bit changed at byte `position`."""
    changed = bytearray(value)
    changed[position] ^= 0x01
    return bytes(changed)


sizes = st.integers(min_value=1, max_value=MAX_SIZE)


@st.composite
def size_and_index(draw):
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def two_sizes(draw):
    size2 = draw(sizes)
    return draw(st.integers(min_value=1, max_value=size2)), size2


# --- roots ----------------------------------------------------------------------------------------


@fast
@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_root_agrees_with_an_independent_mth_for_every_size(size):
    assert merkle.root(LEAVES[:size]) == rfc_mth(LEAVES[:size])


def test_root_of_the_empty_tree_is_the_hash_of_nothing():
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


def test_leaf_and_node_hashes_carry_the_rfc_domain_prefixes():
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        merkle.node_hash(b"L" * 32, b"R" * 32)
        == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


@fast
@given(st.integers(min_value=0, max_value=8))
def test_perfect_root_equals_root_for_power_of_two_lists(level):
    leaves = LEAVES[: 1 << level]
    assert merkle.perfect_root(leaves) == merkle.root(leaves)


@st.composite
def aligned_range(draw):
    level = draw(st.integers(min_value=0, max_value=8))
    begin = draw(st.integers(min_value=0, max_value=(MAX_SIZE >> level) - 1)) << level
    width = draw(st.integers(min_value=1, max_value=min(1 << level, MAX_SIZE - begin)))
    return begin, begin + width


@fast
@given(aligned_range())
def test_subtrees_of_an_aligned_range_fold_into_the_root_of_its_slice(bounds):
    begin, end = bounds
    nodes = merkle.subtrees(begin, end)
    covered = []
    for level, index in nodes:
        covered.extend(range(index << level, (index + 1) << level))
    assert covered == list(range(begin, end)), "subtrees must tile the range left to right"
    hashes = [node(LEAVES, level, index) for level, index in nodes]
    assert merkle.fold(hashes) == merkle.root(LEAVES[begin:end])


def test_subtrees_of_an_empty_range_is_empty():
    assert merkle.subtrees(5, 5) == []


def test_fold_of_one_hash_is_that_hash():
    assert merkle.fold([LEAVES[7]]) == LEAVES[7]


def test_root_agrees_with_pymerkle_for_the_same_entries():
    # pymerkle 7 with default settings is RFC 9162 hashing: sha256, leaf prefix
    # 0x00, node prefix 0x01 (disable_security=False), and the same split at
    # the largest power of two. Its indices count from one.
    entries = [b"entry %d" % i for i in range(MAX_SIZE)]
    tree = pymerkle.InmemoryTree.init_from_entries(entries)
    assert tree.security and tree.algorithm == "sha256"
    leaves = [merkle.leaf_hash(e) for e in entries]
    assert tree.get_root() == merkle.root(leaves)
    for size in range(MAX_SIZE + 1):
        assert tree.get_root(size) == merkle.root(leaves[:size]), size


@fast
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=70), st.data())
def test_proofs_agree_with_pymerkle_for_random_entries(entries, data):
    tree = pymerkle.InmemoryTree.init_from_entries(entries)
    leaves = [merkle.leaf_hash(e) for e in entries]
    size = len(entries)
    assert tree.get_root() == merkle.root(leaves)

    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    theirs = tree.prove_inclusion(index + 1)
    # pymerkle's path starts with the leaf itself, then the RFC 9162 audit path.
    assert theirs.path[0] == leaves[index]
    assert theirs.path[1:] == proof_from_plan(leaves, merkle.inclusion_plan(index, size))

    # pymerkle's consistency path is laid out differently from RFC 9162's (it
    # carries the hashes that rebuild the old root, and always a base hash), so
    # only its verdict on our roots is comparable, not its path.
    size1 = data.draw(st.integers(min_value=1, max_value=size), label="size1")
    pymerkle.verify_consistency(
        merkle.root(leaves[:size1]),
        merkle.root(leaves),
        tree.prove_consistency(size1, size),
        prior_size=size1,
        later_size=size,
    )


# --- inclusion ------------------------------------------------------------------------------------


@fast
@given(size_and_index())
def test_inclusion_proof_from_plan_equals_rfc_path_and_verifies(case):
    size, index = case
    leaves = LEAVES[:size]
    plan = merkle.inclusion_plan(index, size)
    assert all(plan), "every proof element is made of at least one subtree"
    proof = proof_from_plan(leaves, plan)
    assert proof == rfc_path(index, leaves)
    merkle.verify_inclusion(index, size, leaves[index], proof, root_of(size))
    assert merkle.root_from_inclusion_proof(index, size, leaves[index], proof) == root_of(size)


def test_inclusion_proof_from_plan_verifies_for_every_leaf_of_small_trees():
    for size in range(1, 70):
        leaves = LEAVES[:size]
        for index in range(size):
            proof = proof_from_plan(leaves, merkle.inclusion_plan(index, size))
            assert proof == rfc_path(index, leaves), (index, size)
            merkle.verify_inclusion(index, size, leaves[index], proof, root_of(size))


@fast
@given(size_and_index(), st.data())
def test_inclusion_proof_is_refused_after_any_tampering(case, data):
    size, index = case
    leaves = LEAVES[:size]
    proof = proof_from_plan(leaves, merkle.inclusion_plan(index, size))
    root = root_of(size)

    def refused(idx, sz, leaf, prf, rt):
        try:
            merkle.verify_inclusion(idx, sz, leaf, prf, rt)
        except merkle.ProofError:
            return True
        return False

    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        byte = data.draw(st.integers(0, merkle.HASH_SIZE - 1), label="byte")
        tampered = list(proof)
        tampered[element] = flip(proof[element], byte)
        assert refused(index, size, leaves[index], tampered, root)
        assert refused(index, size, leaves[index], proof[:-1], root)
    assert refused(index, size, leaves[index], [*proof, LEAVES[0]], root)
    byte = data.draw(st.integers(0, merkle.HASH_SIZE - 1), label="root byte")
    assert refused(index, size, leaves[index], proof, flip(root, byte))
    assert refused(index, size, flip(leaves[index], byte), proof, root)
    assert refused(index, size, leaves[index], proof, root[:-1])
    assert refused(size, size, leaves[index], proof, root)
    assert refused(-1, size, leaves[index], proof, root)


@fast
@given(size_and_index(), size_and_index())
def test_inclusion_proof_is_refused_for_sizes_that_need_a_different_length(case, other):
    size, index = case
    other_size, other_index = other
    wanted = len(merkle.inclusion_plan(other_index, other_size))
    proof = proof_from_plan(LEAVES[:size], merkle.inclusion_plan(index, size))
    assume(wanted != len(proof))  # same length: see test_proofs_do_not_bind_tree_sizes
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(other_index, other_size, LEAVES[index], proof, root_of(size))


@pytest.mark.parametrize(("index", "size"), [(0, 0), (3, 3), (-1, 5)])
def test_inclusion_plan_refuses_an_index_outside_the_tree(index, size):
    with pytest.raises(ValueError, match="outside a tree"):
        merkle.inclusion_plan(index, size)


# --- consistency ----------------------------------------------------------------------------------


@fast
@given(two_sizes())
def test_consistency_proof_from_plan_equals_rfc_subproof_and_verifies(case):
    size1, size2 = case
    leaves = LEAVES[:size2]
    plan = merkle.consistency_plan(size1, size2)
    assert all(plan), "every proof element is made of at least one subtree"
    proof = proof_from_plan(leaves, plan)
    assert proof == rfc_proof(size1, leaves)
    merkle.verify_consistency(size1, size2, proof, root_of(size1), root_of(size2))


def test_consistency_proof_from_plan_verifies_for_every_pair_of_small_sizes():
    for size2 in range(1, 50):
        leaves = LEAVES[:size2]
        for size1 in range(1, size2 + 1):
            proof = proof_from_plan(leaves, merkle.consistency_plan(size1, size2))
            assert proof == rfc_proof(size1, leaves), (size1, size2)
            merkle.verify_consistency(size1, size2, proof, root_of(size1), root_of(size2))


@fast
@given(two_sizes(), st.data())
def test_consistency_proof_is_refused_after_any_tampering(case, data):
    size1, size2 = case
    proof = proof_from_plan(LEAVES[:size2], merkle.consistency_plan(size1, size2))
    root1, root2 = root_of(size1), root_of(size2)

    def refused(s1, s2, prf, r1, r2):
        try:
            merkle.verify_consistency(s1, s2, prf, r1, r2)
        except merkle.ProofError:
            return True
        return False

    byte = data.draw(st.integers(0, merkle.HASH_SIZE - 1), label="byte")
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        tampered = list(proof)
        tampered[element] = flip(proof[element], byte)
        assert refused(size1, size2, tampered, root1, root2)
        assert refused(size1, size2, proof[:-1], root1, root2)
        assert refused(size1, size2, proof[1:], root1, root2)
    assert refused(size1, size2, [*proof, LEAVES[0]], root1, root2)
    assert refused(size1, size2, proof, flip(root1, byte), root2)
    assert refused(size1, size2, proof, root1, flip(root2, byte))
    if size1 != size2:
        assert refused(size1, size2, proof, root2, root1)
        assert refused(size2, size1, proof, root1, root2)
    assert refused(0, size2, proof, merkle.EMPTY_ROOT, root2)


@fast
@given(two_sizes(), two_sizes())
def test_consistency_proof_is_refused_for_sizes_that_need_a_different_length(case, other):
    size1, size2 = case
    other1, other2 = other
    proof = proof_from_plan(LEAVES[:size2], merkle.consistency_plan(size1, size2))
    # same length: see test_proofs_do_not_bind_tree_sizes
    assume(len(rfc_proof(other1, LEAVES[:other2])) != len(proof))
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(other1, other2, proof, root_of(size1), root_of(size2))


def test_proofs_do_not_bind_tree_sizes():
    # RFC 9162 proofs carry no sizes, and a proof element may stand for a
    # whole subtree, so the same hashes can verify under other sizes of the
    # same shape. transparency-dev/merkle behaves the same. The sizes must
    # therefore come from signed checkpoints, never from whoever asks.
    proof = proof_from_plan(LEAVES[:2], merkle.consistency_plan(1, 2))
    merkle.verify_consistency(1, 2, proof, root_of(1), root_of(2))
    merkle.verify_consistency(2, 3, proof, root_of(1), root_of(2))

    proof = proof_from_plan(LEAVES[:3], merkle.inclusion_plan(0, 3))
    merkle.verify_inclusion(0, 3, LEAVES[0], proof, root_of(3))
    merkle.verify_inclusion(0, 4, LEAVES[0], proof, root_of(3))


@pytest.mark.parametrize(("size1", "size2"), [(0, 5), (6, 5), (-1, 3)])
def test_consistency_plan_refuses_sizes_out_of_order(size1, size2):
    with pytest.raises(ValueError, match="cannot prove"):
        merkle.consistency_plan(size1, size2)


# --- plans only name complete subtrees of the tree they prove -------------------------------------


@fast
@given(two_sizes())
def test_plans_only_name_subtrees_complete_within_the_larger_tree(case):
    size1, size2 = case
    plans = [merkle.consistency_plan(size1, size2), merkle.inclusion_plan(size1 - 1, size2)]
    for plan in plans:
        for group in plan:
            for level, index in group:
                assert level >= 0 and index >= 0
                assert (index + 1) << level <= size2
