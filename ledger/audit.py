"""Recompute the whole log from its stored bytes and compare with what is stored.

Every leaf hash, every stored tile, every checkpoint's root and signature and
the head row are checked. The first thing that does not match is reported,
naming the entry index (or tile, or checkpoint). Runs in one pass, in
memory proportional to the tree's height plus one tile per level.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ledger import merkle, note
from ledger.models import TILE_WIDTH, Checkpoint, Entry, LogKey, Tile, TreeHead

CHUNK = 5_000


class AuditFailure(Exception):
    """The log does not match itself; the message names the first bad entry or node."""


@dataclass(frozen=True)
class AuditReport:
    entries: int
    tiles: int
    checkpoints: int
    root: bytes


class _CompactRange:
    """The perfect subtrees covering leaves [0, n): enough to know every root."""

    def __init__(self):
        self.stack: list[tuple[int, bytes]] = []

    def push(self, leaf: bytes) -> None:
        level, value = 0, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            level, value = level + 1, merkle.node_hash(left, value)
        self.stack.append((level, value))

    def root(self) -> bytes:
        return merkle.fold([h for _, h in self.stack]) if self.stack else merkle.EMPTY_ROOT


class _TileChecker:
    """Rebuilds tiles from recomputed hashes and compares them with stored ones."""

    def __init__(self):
        self.pending: dict[int, list[bytes]] = {}
        self.next_index: dict[int, int] = {}
        self.stored: dict[int, Iterator] = {}
        self.checked = 0

    def _stored_tiles(self, level: int) -> Iterator:
        if level not in self.stored:
            rows = Tile.objects.filter(level=level).order_by("index")
            self.stored[level] = rows.values_list("index", "hashes", "root").iterator(200)
        return self.stored[level]

    def add(self, level: int, value: bytes, first_leaf: int) -> None:
        pending = self.pending.setdefault(level, [])
        pending.append(value)
        if len(pending) < TILE_WIDTH:
            return
        index = self.next_index.get(level, 0)
        self._compare(level, index, pending, first_leaf)
        self.pending[level], self.next_index[level] = [], index + 1
        self.add(level + 1, merkle.perfect_root(pending), first_leaf)

    def _compare(self, level: int, index: int, hashes: list[bytes], first_leaf: int) -> None:
        stored = next(self._stored_tiles(level), None)
        if stored is None or stored[0] != index:
            raise AuditFailure(f"tile {level}/{index} is missing from storage")
        stored_hashes = bytes(stored[1])
        for i, value in enumerate(hashes):
            if stored_hashes[i * 32 : i * 32 + 32] != value:
                if level == 0:
                    raise AuditFailure(
                        f"entry {index * TILE_WIDTH + i}: its bytes do not match the hash "
                        f"that tile 0/{index} recorded for it"
                    )
                raise AuditFailure(f"tile {level}/{index}, hash {i} does not match the tiles below")
        if bytes(stored[2]) != merkle.perfect_root(hashes):
            raise AuditFailure(f"tile {level}/{index}: stored root does not match its hashes")
        self.checked += 1

    def first_stored_mismatch(self) -> int | None:
        """Index of the first recomputed leaf in the open level-0 tile that differs
        from a stored tile holding it, if that tile is already stored."""
        pending = self.pending.get(0, [])
        index = self.next_index.get(0, 0)
        tile = Tile.objects.filter(level=0, index=index).values_list("hashes", flat=True).first()
        if not pending or tile is None:
            return None
        tile = bytes(tile)
        for i, value in enumerate(pending):
            if tile[i * 32 : i * 32 + 32] != value:
                return index * TILE_WIDTH + i
        return None

    def close(self) -> None:
        for rows in self.stored.values():
            rows.close()

    def finish(self) -> None:
        for level, rows in self.stored.items():
            extra = next(rows, None)
            if extra is not None:
                raise AuditFailure(f"tile {level}/{extra[0]} is stored but the log is too short")
        levels_seen = set(self.stored)
        if Tile.objects.exclude(level__in=levels_seen).exists():
            raise AuditFailure("tiles are stored at a level the log does not reach")


def _verifier_keys() -> dict[int, str]:
    return {
        key.pk: note.verifier_key(key.name, bytes(key.public_key)) for key in LogKey.objects.all()
    }


def _check_checkpoint(
    cp: Checkpoint, root: bytes, vkeys: dict[int, str], after: int, tiles: _TileChecker
) -> None:
    where = f"checkpoint at size {cp.size}"
    try:
        signed = note.open_checkpoint(cp.note, vkeys[cp.key_id])
    except (note.NoteError, KeyError) as exc:
        raise AuditFailure(f"{where}: signature does not verify ({exc})") from exc
    if signed.size != cp.size or signed.root != bytes(cp.root):
        raise AuditFailure(f"{where}: the signed note does not say what its row says")
    if signed.root != root:
        exact = tiles.first_stored_mismatch()
        if exact is not None:
            raise AuditFailure(
                f"entry {exact}: its bytes do not match the hash that tile 0/"
                f"{exact // TILE_WIDTH} recorded for it (and {where} does not verify)"
            )
        first_bad = f"entry {after}" if cp.size - after == 1 else f"entries {after}..{cp.size - 1}"
        raise AuditFailure(
            f"{where}: the entries' root does not match the signed root; "
            f"the first bad entry is among {first_bad}"
        )


def audit(progress: Callable[[int, int], None] | None = None) -> AuditReport:
    checkpoints = Checkpoint.objects.order_by("size").iterator(500)
    entries = Entry.objects.order_by("index").values_list("index", "leaf_hash", "data")
    entries = entries.iterator(CHUNK)
    tiles = _TileChecker()
    try:
        return _audit(progress, checkpoints, entries, tiles)
    finally:
        # Close the server-side cursors now, not at garbage collection.
        checkpoints.close()
        entries.close()
        tiles.close()


def _audit(progress, checkpoints, entries, tiles) -> AuditReport:
    head = TreeHead.objects.get(pk=1)
    total = head.size
    vkeys = _verifier_keys()
    next_cp = next(checkpoints, None)
    checked_cps, last_cp_size = 0, 0
    tree = _CompactRange()

    def check_checkpoints_at(size: int) -> None:
        nonlocal next_cp, checked_cps, last_cp_size
        while next_cp is not None and next_cp.size == size:
            _check_checkpoint(next_cp, tree.root(), vkeys, last_cp_size, tiles)
            checked_cps, last_cp_size = checked_cps + 1, size
            next_cp = next(checkpoints, None)

    check_checkpoints_at(0)
    expected = 0
    for index, stored_leaf, data in entries:
        if index != expected:
            raise AuditFailure(f"entry {expected} is missing (next stored entry is {index})")
        leaf = merkle.leaf_hash(bytes(data))
        if bytes(stored_leaf) != leaf:
            raise AuditFailure(f"entry {index}: its bytes do not match its stored leaf hash")
        tree.push(leaf)
        tiles.add(0, leaf, index)
        expected += 1
        check_checkpoints_at(expected)
        if progress and expected % CHUNK == 0:
            progress(expected, total)
    if progress:
        progress(expected, total)

    if next_cp is not None:
        raise AuditFailure(f"checkpoint at size {next_cp.size} is beyond the log's {expected}")
    tiles.finish()
    if head.size != expected or bytes(head.root) != tree.root():
        raise AuditFailure(f"tree head (size {head.size}) does not match the entries")
    return AuditReport(
        entries=expected, tiles=tiles.checked, checkpoints=checked_cps, root=tree.root()
    )
