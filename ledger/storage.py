"""The log in the database: batched, serialized appends; O(log n) proofs.

Appends lock the one TreeHead row, so they are serialized and indices have
no gaps. Hashes of complete subtrees live in immutable tiles of 256 hashes
(level L holds tree level 8L). The right edge of the tree, where tiles are
not yet complete, is computed from at most 255 hashes per level: leaf
hashes from Entry for level 0, roots of the tiles below for the others.
A proof therefore reads a handful of rows at any log size.
"""

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ledger import merkle, note
from ledger.logkey import log_key_get_or_create, log_key_seed
from ledger.models import TILE_HEIGHT, TILE_WIDTH, Checkpoint, Entry, LogKey, Tile, TreeHead

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


# The right edge of one tree -- the last one this process appended or proved
# from -- as (key, {tile level: (first index, hashes of its incomplete tile)},
# {(level, index): hash of a perfect subtree inside the edge}, {index: its
# inclusion proof}, {(tile level, tile index): a complete tile's hashes}),
# key = (db alias, size, root). The root commits to every leaf, so what is kept
# for a key never changes: no invalidation, only this check, and a grown tree
# starts afresh. The tuple and the edges are published by one assignment and
# never mutated after, so threads can share them; the subtree hashes, proofs and
# tiles are only ever added, each a pure function of the tree, so the same value
# whichever thread writes it. Proving from a known tree thus reads no tiles
# twice: a scan at the counter proves its pack without a query.
_edge_cache: tuple = (None, {}, {}, {}, {})
PROOFS_KEPT = 16_384  # per tree, about 10 MB
TILES_KEPT = 4_096  # per tree, 8 KB each: every level-0 tile of a million entries


def _cached_edges(size: int, root: bytes) -> dict:
    key, edges, _, _, _ = _edge_cache
    return dict(edges) if key == (connection.alias, size, root) else {}


def _cached_proofs(size: int, root: bytes) -> dict:
    key, _, _, proofs, _ = _edge_cache
    return proofs if key == (connection.alias, size, root) else {}


def _cached_reader(size: int, root: bytes) -> "NodeReader":
    """A reader of the tree (size, root) with what this process keeps of it."""
    key, edges, nodes, _, tiles = _edge_cache
    if key != (connection.alias, size, root):
        return NodeReader(size)
    return NodeReader(size, edges, nodes, tiles)


def _cache_edges(size: int, root: bytes, reader: "NodeReader") -> None:
    global _edge_cache
    key = (connection.alias, size, root)
    old_key, old, nodes, proofs, tiles = _edge_cache
    if old_key == key:
        _edge_cache = (key, {**old, **reader._edges}, nodes, proofs, tiles)
    else:
        _edge_cache = (key, dict(reader._edges), reader._edge_nodes, {}, reader.kept_tiles)


def append(entries: Sequence[bytes], *, check: Callable[[], None] | None = None) -> Appended:
    """Append entries as one batch, in the caller's transaction if there is one.

    `check` runs once the log is locked, before anything is written: it may
    raise to refuse the batch on what no concurrent append can change now."""
    if not entries:
        raise LedgerError("nothing to append")
    if len(entries) > MAX_BATCH:
        raise LedgerError(f"at most {MAX_BATCH} entries per append")
    if not all(isinstance(e, bytes) for e in entries):
        raise LedgerError("entries must be bytes")
    leaf_hashes = [merkle.leaf_hash(e) for e in entries]
    with transaction.atomic():
        head = TreeHead.objects.select_for_update().get(pk=1)
        if check is not None:
            check()
        start = head.size
        _insert_entries(start, leaf_hashes, entries)
        edges = _cached_edges(start, bytes(head.root))
        Tile.objects.bulk_create(_completed_tiles(start, leaf_hashes, edges))
        size = start + len(entries)
        reader = NodeReader(size, edges)  # the new tree's right edge: no reads
        root = reader.root(size)
        head.size, head.root = size, root
        head.save(update_fields=["size", "root"])
        checkpoint = _checkpoint_sign(size, root)
        transaction.on_commit(lambda: _cache_edges(size, root, reader))
    return Appended(first_index=start, size=size, root=root, checkpoint=checkpoint)


def _insert_entries(start: int, leaf_hashes: list[bytes], entries: Sequence[bytes]) -> None:
    now = timezone.now()
    rows = zip(itertools.count(start), leaf_hashes, entries, itertools.repeat(now), strict=False)
    table = Entry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is several times faster than INSERT for thousands of rows.
            sql = f"COPY {table} (index, leaf_hash, data, appended_at) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(["int8", "bytea", "bytea", "timestamptz"])
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


def _completed_tiles(start: int, leaf_hashes: list[bytes], edges: dict) -> list[Tile]:
    """Tiles that the new leaves complete, at every level.

    `edges` maps tile level -> (first index, hashes of the incomplete tile) of
    the tree of `start` leaves where known; it is updated to the new tree's.
    """
    tiles = []
    level, count_before, new = 0, start, leaf_hashes
    while new:
        first = count_before - count_before % TILE_WIDTH
        known = edges.get(level)
        if known is not None and known[0] == first and len(known[1]) == count_before - first:
            pending = known[1] + new
        else:
            pending = _bottom_hashes(level, first, count_before) + new
        roots = []
        complete = len(pending) - len(pending) % TILE_WIDTH
        for offset in range(0, complete, TILE_WIDTH):
            chunk = pending[offset : offset + TILE_WIDTH]
            tile_root = merkle.perfect_root(chunk)
            index = (first + offset) // TILE_WIDTH
            tiles.append(Tile(level=level, index=index, hashes=b"".join(chunk), root=tile_root))
            roots.append(tile_root)
        edges[level] = (first + complete, pending[complete:])
        level, count_before, new = level + 1, count_before // TILE_WIDTH, roots
    return tiles


@functools.lru_cache(maxsize=1024)
def _tile_nodes(tile: bytes) -> tuple[bytes, ...]:
    """Every node of a complete tile: [h] = its hashes at height h, concatenated.

    A pure function of the tile's bytes, so it is memoized as is: the few tiles
    above level 0 are in nearly every proof and are hashed once, not per proof.
    """
    nodes = [tile]
    while len(nodes[-1]) > merkle.HASH_SIZE:
        below = nodes[-1]
        nodes.append(
            b"".join(
                merkle.node_hash(below[i : i + 32], below[i + 32 : i + 64])
                for i in range(0, len(below), 64)
            )
        )
    return tuple(nodes)


class NodeReader:
    """Hashes of perfect subtrees of a tree of `size` leaves, in few queries.
    `kept_tiles` is the tree's shared tile cache (see _edge_cache), filled up to
    TILES_KEPT; the tiles this reader read are its own either way."""

    def __init__(
        self,
        size: int,
        edges: dict | None = None,
        edge_nodes: dict | None = None,
        kept_tiles: dict | None = None,
    ):
        self.size = size
        self.kept_tiles: dict[tuple[int, int], bytes] = {} if kept_tiles is None else kept_tiles
        self._tiles: dict[tuple[int, int], bytes] = {}
        self._edges: dict[int, tuple[int, list[bytes]]] = dict(edges or {})
        self._edge_nodes: dict[merkle.NodeId, bytes] = {} if edge_nodes is None else edge_nodes

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
                if not self._has_tile((tile_level, tile_index)):
                    wanted_tiles.add((tile_level, tile_index))
            elif tile_level not in self._edges:
                wanted_edges.add(tile_level)
        if wanted_tiles:
            where = " OR ".join(['(level = %s AND "index" = %s)'] * len(wanted_tiles))
            with connection.cursor() as cursor:
                cursor.execute(
                    f'SELECT level, "index", hashes FROM {Tile._meta.db_table} WHERE {where}',  # noqa: S608
                    list(itertools.chain.from_iterable(wanted_tiles)),
                )
                for level, index, hashes in cursor.fetchall():
                    self._tiles[(level, index)] = bytes(hashes)
                    if len(self.kept_tiles) < TILES_KEPT:
                        self.kept_tiles[(level, index)] = self._tiles[(level, index)]
        for tile_level in sorted(wanted_edges):
            count = self.size >> (TILE_HEIGHT * tile_level)
            first = count - count % TILE_WIDTH
            self._edges[tile_level] = (first, _bottom_hashes(tile_level, first, count))

    def node(self, level: int, index: int) -> bytes:
        known = self._edge_nodes.get((level, index))
        if known is not None:
            return known
        tile_level, tile_index, offset = self._locate(level, index)
        width = 1 << (level % TILE_HEIGHT)
        if self._tile_is_complete(tile_level, tile_index):
            if not self._has_tile((tile_level, tile_index)):
                self.prefetch([(level, index)])
            height = level % TILE_HEIGHT
            at = (offset >> height) * merkle.HASH_SIZE
            return _tile_nodes(self._tiles[(tile_level, tile_index)])[height][at : at + 32]
        self.prefetch([(level, index)])  # refuses a node outside the tree
        first, edge = self._edges[tile_level]
        start = tile_index * TILE_WIDTH + offset - first
        node = merkle.perfect_root(edge[start : start + width])
        self._edge_nodes[(level, index)] = node
        return node

    def _has_tile(self, tile: tuple[int, int]) -> bool:
        if tile not in self._tiles and tile in self.kept_tiles:
            self._tiles[tile] = self.kept_tiles[tile]
        return tile in self._tiles

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
        return [merkle.fold([self.node(*node) for node in group]) for group in plan]


def head_size() -> int:
    return TreeHead.objects.values_list("size", flat=True).get(pk=1)


def _head_reader(size: int, what: str) -> tuple[NodeReader, bytes]:
    """A reader for the current tree (one query: the head), with its cached edges."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT size, root FROM {TreeHead._meta.db_table} WHERE id = 1")  # noqa: S608
        current, root = cursor.fetchone()
    if size > current:
        raise LedgerError(f"{what}={size} is beyond the log's size {current}")
    root = bytes(root)
    return _cached_reader(current, root), root


def inclusion_proof(index: int, size: int) -> InclusionProof:
    if not 0 <= index < size:
        raise LedgerError(f"index={index} must be at least 0 and less than size={size}")
    reader, head_root = _head_reader(size, "size")
    plan = merkle.inclusion_plan(index, size)
    reader.prefetch([(0, index), *merkle.subtrees(0, size), *itertools.chain(*plan)])
    proof = InclusionProof(
        index=index,
        size=size,
        leaf_hash=reader.node(0, index),
        proof=reader.proof(plan),
        root=head_root if size == reader.size else reader.root(size),
    )
    _cache_edges(reader.size, head_root, reader)
    return proof


def inclusion_proof_at(index: int, size: int, root: bytes) -> InclusionProof:
    """inclusion_proof() in the tree that the caller knows as (size, root), such as
    a signed checkpoint's, without reading the head, and kept for that tree (see
    _edge_cache). A tree the storage does not hold (a larger size) raises
    LedgerError; a wrong root fails verification."""
    if not 0 <= index < size:
        raise LedgerError(f"index={index} must be at least 0 and less than size={size}")
    known = _cached_proofs(size, root).get(index)
    if known is not None:  # a scan of another pack of the same statement
        return known
    reader = _cached_reader(size, root)
    plan = merkle.inclusion_plan(index, size)
    reader.prefetch([(0, index), *itertools.chain(*plan)])
    proof = InclusionProof(
        index=index, size=size, leaf_hash=reader.node(0, index), proof=reader.proof(plan), root=root
    )
    _cache_edges(size, root, reader)
    proofs = _cached_proofs(size, root)
    if len(proofs) < PROOFS_KEPT:
        proofs[index] = proof
    return proof


def consistency_proof(size1: int, size2: int) -> ConsistencyProof:
    if not 1 <= size1 <= size2:
        raise LedgerError(
            f"from={size1} must be at least 1 and at most to={size2}"
            " (every tree extends the empty one, so from=0 proves nothing)"
        )
    reader, head_root = _head_reader(size2, "to")
    plan = merkle.consistency_plan(size1, size2)
    reader.prefetch(
        [*merkle.subtrees(0, size1), *merkle.subtrees(0, size2), *itertools.chain(*plan)]
    )
    proof = ConsistencyProof(
        size1=size1,
        size2=size2,
        root1=head_root if size1 == reader.size else reader.root(size1),
        root2=head_root if size2 == reader.size else reader.root(size2),
        proof=reader.proof(plan),
    )
    _cache_edges(reader.size, head_root, reader)
    return proof


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
    key = LogKey.objects.order_by("-pk").first() or log_key_get_or_create()
    body = note.checkpoint_body(key.name, size, root)
    signed = note.sign(body, key.name, log_key_seed(key))
    return Checkpoint.objects.create(
        size=size, root=root, note=signed, key=key, created_at=timezone.now()
    )
