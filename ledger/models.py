"""The log's tables. Entries, tiles and checkpoints are append-only (on
PostgreSQL, triggers refuse UPDATE and DELETE); TreeHead is the one mutable
row, locked by every append so that appends are serialized."""

from django.db import models

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes per tile, as in C2SP tlog-tiles


class TreeHead(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    root = models.BinaryField(max_length=32)

    def __str__(self):
        return f"tree of {self.size} entries"


class Entry(models.Model):
    """One leaf: the exact bytes that were appended, and their leaf hash."""

    index = models.BigIntegerField(primary_key=True)
    leaf_hash = models.BinaryField(max_length=32)
    data = models.BinaryField()
    appended_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=models.Q(index__gte=0), name="entry_index_gte_0")
        ]

    def __str__(self):
        return f"entry {self.index}"


class Tile(models.Model):
    """A complete tile: 256 consecutive hashes at tree level 8 * level.

    Written once, when its 256th hash exists. `root` is the hash of the
    perfect subtree the tile spans, i.e. one hash of the tile above it.
    Hashes of incomplete tiles are computed from the level below on demand.
    """

    pk = models.CompositePrimaryKey("level", "index")
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hashes = models.BinaryField(max_length=32 * TILE_WIDTH)
    root = models.BinaryField(max_length=32)

    def __str__(self):
        return f"tile {self.level}/{self.index}"


class Checkpoint(models.Model):
    """A signed tree head, in C2SP tlog-checkpoint signed-note text."""

    size = models.BigIntegerField(primary_key=True)
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    key = models.ForeignKey("LogKey", on_delete=models.PROTECT, related_name="checkpoints")
    created_at = models.DateTimeField()

    def __str__(self):
        return f"checkpoint at size {self.size}"


class LogKey(models.Model):
    """The log's Ed25519 key. The private half is AES-GCM encrypted under LEDGER_KEK."""

    name = models.CharField(max_length=200)
    public_key = models.BinaryField(max_length=32)
    encrypted_private_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"log key {self.name}"
