"""The log in the database: batched, serialized appends; O(log n) proofs.

Appends lock the one TreeHead row, so they are serialized and indices have
no gaps. Hashes of complete subtrees live in immutable tiles of 256 hashes
(level L holds tree level 8L). The right edge of the tree, where tiles are
not yet complete, is computed from at most 255 hashes per level: leaf
hashes from Entry for level 0, roots of the tiles below for the others.
A proof therefore reads a handful of rows at any log size.
"""

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ledger import merkle, note
from ledger.logkey import log_key_get_or_create, log_key_seed
from ledger.models import TILE_HEIGHT, TILE_WIDTH, Checkpoint, Entry, Tile, TreeHead

MAX_BATCH = 100_000


class LedgerError(ValueError):
    """A request the log cannot answer as asked (bad index, size, range)."""


@dataclass(frozen=True)
class Appended:
    first_index: int
    size: int
    root: bytes
    checkpoint: Checkpoint


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes


@dataclass(frozen=True)
class ConsistencyProof:
    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: list[bytes]


def ledger_initialize() -> None:
    """Create the head row, the log key and the empty tree's checkpoint if missing."""
    with transaction.atomic():
        TreeHead.objects.get_or_create(pk=1, defaults={"size": 0, "root": merkle.EMPTY_ROOT})
        log_key_get_or_create()
        if not Checkpoint.objects.exists():
            head = TreeHead.objects.select_for_update().get(pk=1)
            _checkpoint_sign(head.size, bytes(head.root))


def append(entries: Sequence[bytes]) -> Appended:
    """Append entries as one batch, in the caller's transaction if there is one."""
    if not entries:
        raise LedgerError("nothing to append")
    if len(entries) > MAX_BATCH:
        raise LedgerError(f"at most {MAX_BATCH} entries per append")
    if not all(isinstance(e, bytes) for e in entries):
        raise LedgerError("entries must be bytes")
    leaf_hashes = [merkle.leaf_hash(e) for e in entries]
    with transaction.atomic():
        head = TreeHead.objects.select_for_update().get(pk=1)
        start = head.size
        _insert_entries(start, leaf_hashes, entries)
        Tile.objects.bulk_create(_completed_tiles(start, leaf_hashes))
        size = start + len(entries)
        root = NodeReader(size).root(size)
        head.size, head.root = size, root
        head.save(update_fields=["size", "root"])
        checkpoint = _checkpoint_sign(size, root)
    return Appended(first_index=start, size=size, root=root, checkpoint=checkpoint)


def _insert_entries(start: int, leaf_hashes: list[bytes], entries: Sequence[bytes]) -> None:
    now = timezone.now()
    rows = zip(itertools.count(start), leaf_hashes, entries, itertools.repeat(now), strict=False)
    table = Entry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is several times faster than INSERT for thousands of rows.
            sql = f"COPY {table} (index, leaf_hash, data, appended_at) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f'INSERT INTO {table} ("index", leaf_hash, data, appended_at)'  # noqa: S608
                " VALUES (%s, %s, %s, %s)",
                list(rows),
            )


def _bottom_hashes(level: int, begin: int, end: int) -> list[bytes]:
    """Hashes at tree level 8 * level with indices [begin, end), from storage."""
    if begin >= end:
        return []
    if level == 0:
        rows = Entry.objects.filter(index__gte=begin, index__lt=end).order_by("index")
        hashes = [bytes(h) for h in rows.values_list("leaf_hash", flat=True)]
    else:
        rows = Tile.objects.filter(level=level - 1, index__gte=begin, index__lt=end)
        hashes = [bytes(h) for h in rows.order_by("index").values_list("root", flat=True)]
    if len(hashes) != end - begin:
        raise LedgerError(f"log storage is missing hashes at tile level {level}")
    return hashes


def _completed_tiles(start: int, leaf_hashes: list[bytes]) -> list[Tile]:
    """Tiles that the new leaves complete, at every level."""
    tiles = []
    level, count_before, new = 0, start, leaf_hashes
    while new:
        first = count_before - count_before % TILE_WIDTH
        pending = _bottom_hashes(level, first, count_before) + new
        roots = []
        for offset in range(0, len(pending) - TILE_WIDTH + 1, TILE_WIDTH):
            chunk = pending[offset : offset + TILE_WIDTH]
            tile_root = merkle.perfect_root(chunk)
            index = (first + offset) // TILE_WIDTH
            tiles.append(Tile(level=level, index=index, hashes=b"".join(chunk), root=tile_root))
            roots.append(tile_root)
        level, count_before, new = level + 1, count_before // TILE_WIDTH, roots
    return tiles


class NodeReader:
    """Hashes of perfect subtrees of a tree of `size` leaves, in few queries."""

    def __init__(self, size: int):
        self.size = size
        self._tiles: dict[tuple[int, int], bytes] = {}
        self._edges: dict[int, tuple[int, list[bytes]]] = {}

    def _locate(self, level: int, index: int) -> tuple[int, int, int]:
        """(tile level, tile index, offset of the node's first bottom hash in the tile)."""
        tile_level, sub = divmod(level, TILE_HEIGHT)
        first = index << sub
        return tile_level, first // TILE_WIDTH, first % TILE_WIDTH

    def _tile_is_complete(self, tile_level: int, tile_index: int) -> bool:
        return tile_index < self.size >> (TILE_HEIGHT * (tile_level + 1))

    def prefetch(self, ids: Iterable[merkle.NodeId]) -> None:
        wanted_tiles, wanted_edges = set(), set()
        for level, index in ids:
            if (index + 1) << level > self.size:
                raise LedgerError(f"node {level}/{index} is outside a tree of size {self.size}")
            tile_level, tile_index, _ = self._locate(level, index)
            if self._tile_is_complete(tile_level, tile_index):
                if (tile_level, tile_index) not in self._tiles:
                    wanted_tiles.add((tile_level, tile_index))
            elif tile_level not in self._edges:
                wanted_edges.add(tile_level)
        if wanted_tiles:
            query = Q()
            for tile_level, tile_index in wanted_tiles:
                query |= Q(level=tile_level, index=tile_index)
            for level, index, hashes in Tile.objects.filter(query).values_list(
                "level", "index", "hashes"
            ):
                self._tiles[(level, index)] = bytes(hashes)
        for tile_level in sorted(wanted_edges):
            count = self.size >> (TILE_HEIGHT * tile_level)
            first = count - count % TILE_WIDTH
            self._edges[tile_level] = (first, _bottom_hashes(tile_level, first, count))

    def node(self, level: int, index: int) -> bytes:
        tile_level, tile_index, offset = self._locate(level, index)
        width = 1 << (level % TILE_HEIGHT)
        self.prefetch([(level, index)])
        if self._tile_is_complete(tile_level, tile_index):
            raw = self._tiles[(tile_level, tile_index)]
            bottom = [raw[i * 32 : i * 32 + 32] for i in range(offset, offset + width)]
        else:
            first, edge = self._edges[tile_level]
            start = tile_index * TILE_WIDTH + offset - first
            bottom = edge[start : start + width]
        return merkle.perfect_root(bottom)

    def nodes(self, ids: Sequence[merkle.NodeId]) -> list[bytes]:
        self.prefetch(ids)
        return [self.node(level, index) for level, index in ids]

    def range_root(self, begin: int, end: int) -> bytes:
        if begin == end:
            return merkle.EMPTY_ROOT
        return merkle.fold(self.nodes(merkle.subtrees(begin, end)))

    def root(self, size: int) -> bytes:
        return self.range_root(0, size)

    def proof(self, plan: list[list[merkle.NodeId]]) -> list[bytes]:
        self.prefetch(itertools.chain.from_iterable(plan))
        return [merkle.fold(self.nodes(group)) for group in plan]


def head_size() -> int:
    return TreeHead.objects.values_list("size", flat=True).get(pk=1)


def _check_size(size: int, what: str) -> int:
    current = head_size()
    if size > current:
        raise LedgerError(f"{what}={size} is beyond the log's size {current}")
    return current


def inclusion_proof(index: int, size: int) -> InclusionProof:
    if not 0 <= index < size:
        raise LedgerError(f"index={index} must be at least 0 and less than size={size}")
    reader = NodeReader(_check_size(size, "size"))
    plan = merkle.inclusion_plan(index, size)
    reader.prefetch([(0, index), *merkle.subtrees(0, size), *itertools.chain(*plan)])
    return InclusionProof(
        index=index,
        size=size,
        leaf_hash=reader.node(0, index),
        proof=reader.proof(plan),
        root=reader.root(size),
    )


def consistency_proof(size1: int, size2: int) -> ConsistencyProof:
    if not 1 <= size1 <= size2:
        raise LedgerError(
            f"from={size1} must be at least 1 and at most to={size2}"
            " (every tree extends the empty one, so from=0 proves nothing)"
        )
    reader = NodeReader(_check_size(size2, "to"))
    plan = merkle.consistency_plan(size1, size2)
    reader.prefetch(
        [*merkle.subtrees(0, size1), *merkle.subtrees(0, size2), *itertools.chain(*plan)]
    )
    return ConsistencyProof(
        size1=size1,
        size2=size2,
        root1=reader.root(size1),
        root2=reader.root(size2),
        proof=reader.proof(plan),
    )


def entry_get(index: int) -> Entry:
    try:
        return Entry.objects.get(index=index)
    except Entry.DoesNotExist:
        raise LedgerError(f"there is no entry {index}") from None


def checkpoint_latest() -> Checkpoint:
    checkpoint = Checkpoint.objects.order_by("-size").first()
    if checkpoint is None:
        ledger_initialize()
        checkpoint = Checkpoint.objects.order_by("-size").first()
    return checkpoint


def verifier_key() -> str:
    key = log_key_get_or_create()
    return note.verifier_key(key.name, bytes(key.public_key))


def _checkpoint_sign(size: int, root: bytes) -> Checkpoint:
    key = log_key_get_or_create()
    body = note.checkpoint_body(key.name, size, root)
    signed = note.sign(body, key.name, log_key_seed(key))
    return Checkpoint.objects.create(
        size=size, root=root, note=signed, key=key, created_at=timezone.now()
    )
