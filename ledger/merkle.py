"""RFC 9162 Merkle tree hashing and proofs, in plain Python.

No Django and no storage here, so an outside auditor can run this module
alone. Proof *generation* is described as a plan: which perfect subtrees
(level, index) each proof element is made of. Storage fetches those nodes
and `fold` turns each group into one hash. Verification follows RFC 9162
sections 2.1.3.2 and 2.1.4.2 step by step.
"""

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, index): leaves [index * 2**level, (index + 1) * 2**level)


class ProofError(ValueError):
    """A proof does not verify; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the definition, over leaf hashes. O(n); for tests and audits."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree given its 2**j bottom hashes."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def subtrees(begin: int, end: int) -> list[NodeId]:
    """Split leaves [begin, end) into aligned perfect subtrees, left to right.

    Where `begin` is a multiple of a power of two >= end - begin (true of
    every range the RFC's recursion asks for), the range's MTH is
    `fold` of these subtrees' hashes.
    """
    out = []
    while begin < end:
        align = (begin & -begin).bit_length() - 1 if begin else 64
        level = min(align, (end - begin).bit_length() - 1)
        out.append((level, begin >> level))
        begin += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine a range's subtree hashes (left to right) into the range's MTH."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_plan(index: int, size: int) -> list[list[NodeId]]:
    """PATH(index, D[size]) (RFC 9162 2.1.3.1) as groups of perfect subtrees."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    plan: list[list[NodeId]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            plan.append(subtrees(lo + k, hi))
            hi = lo + k
        else:
            plan.append(subtrees(lo, lo + k))
            lo = lo + k
    plan.reverse()  # the RFC lists the proof from the leaf upwards
    return plan


def consistency_plan(size1: int, size2: int) -> list[list[NodeId]]:
    """PROOF(size1, D[size2]) (RFC 9162 2.1.4.1) as groups of perfect subtrees."""
    if not 1 <= size1 <= size2:
        raise ValueError(f"cannot prove size {size1} consistent with size {size2}")
    if size1 == size2:
        return []
    plan: list[list[NodeId]] = []
    m, lo, hi, whole = size1, 0, size2, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            plan.append(subtrees(lo + k, hi))
            hi = lo + k
        else:
            plan.append(subtrees(lo, lo + k))
            m, lo, whole = m - k, lo + k, False
    if not whole:
        plan.append(subtrees(lo, hi))
    plan.reverse()
    return plan


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2: the root that `proof` implies for `leaf` at `index`."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]")
        if sn == 0:
            raise ProofError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    _check_hash(expected_root, "root")
    if root_from_inclusion_proof(index, size, leaf, proof) != expected_root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 2.1.4.2, with the edge cases of size 0 and size1 == size2.

    As in transparency-dev/merkle, a first tree of size 0 is refused: every
    tree extends the empty one, so such a "proof" would prove nothing.
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"size {size1} cannot precede size {size2}")
    if size1 == 0:
        raise ProofError("consistency with the empty tree proves nothing; use size1 >= 1")
    if size1 == size2:
        if proof:
            raise ProofError("proof must be empty for equal sizes")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]")
    if not proof:
        raise ProofError("proof is empty")

    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the first tree is a subtree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than needed")
    if fr != root1:
        raise ProofError("proof does not lead to the first root")
    if sr != root2:
        raise ProofError("proof does not lead to the second root")
