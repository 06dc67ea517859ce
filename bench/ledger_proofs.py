"""Proof latency of the ledger at a 1,000,000-entry log.

Measures, per call, `ledger.storage.inclusion_proof(index, size)` and
`ledger.storage.consistency_proof(m, n)` -- the Python service the HTTP views
call -- over `--proofs` random proofs each (median, p99, max), for:

  inclusion   at the head:   random index, size = log size
  consistency to the head:   random m in [1, size), n = log size
  inclusion   historical:    random size in [1, log size], random index below it
  consistency historical:    random 1 <= m <= n <= log size

and, for reference, end to end through Django's test Client:
GET /ledger/proof/inclusion?index=..&size=.. and /ledger/proof/consistency.

Every timed proof is checked after the clock stops: proofs at the head
against the head root in storage (TreeHead), historical ones against the
signed checkpoint of that size where there is one; a sample of leaf hashes
against the stored entry bytes; and a tampered proof must be refused. So
the figures are for correct proofs.

The log lives in a dedicated database, never the dev DB: PostgreSQL
`traceability_bench_proofs`, SQLite a file in the temp directory. It is built
with `storage.append` in batches of `--batch-size` (about half a minute for
1M entries); with `--reuse` a bench database already holding exactly `--size`
entries is kept, so re-runs only measure. DEBUG is off, as in production.

Run from the repository root:

    .venv/bin/python bench/ledger_proofs.py                    # PostgreSQL
    .venv/bin/python bench/ledger_proofs.py --reuse --backend both
    .venv/bin/python bench/ledger_proofs.py --reuse --profile  # + cProfile

Target: < 2 ms per proof.
"""

import argparse
import base64
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
PG_DATABASE = "traceability_bench_proofs"
SQLITE_PATH = Path(tempfile.gettempdir()) / "traceability_bench_proofs.sqlite3"
TARGET_MS = 2.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="postgres")
    parser.add_argument("--size", type=int, default=1_000_000, help="entries in the log")
    parser.add_argument("--batch-size", type=int, default=1000, help="entries per append")
    parser.add_argument("--proofs", type=int, default=2000, help="timed proofs per kind")
    parser.add_argument("--http", type=int, default=300, help="timed HTTP requests per kind")
    parser.add_argument("--verify", type=int, default=200, help="extra checked sample")
    parser.add_argument("--reuse", action="store_true", help="keep a bench DB of --size")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the proofs")
    parser.add_argument(
        "--pg-server",
        default=os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database name",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile 500 inclusion proofs")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    return parser.parse_args()


# --- parent: the bench database, then one subprocess per backend --------------


def pg_head_size(server: str, name: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(f"{server}/{name}", connect_timeout=5) as conn:
            row = conn.execute("SELECT size FROM ledger_treehead WHERE id = 1").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def sqlite_head_size(path: Path) -> int | None:
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as conn:
            row = conn.execute("SELECT size FROM ledger_treehead WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def parent(args: argparse.Namespace) -> int:
    harness.print_machine_load()
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    status = 0
    for backend in backends:
        print(f"== {backend} ==", flush=True)
        if backend == "postgres":
            try:
                size = pg_head_size(args.pg_server, PG_DATABASE) if args.reuse else None
                if size != args.size:
                    harness.pg_recreate(args.pg_server, PG_DATABASE)
            except Exception as exc:
                print(f"postgres: skipped: PostgreSQL unreachable at {args.pg_server} ({exc})")
                continue
            url = f"{args.pg_server}/{PG_DATABASE}"
        else:
            size = sqlite_head_size(SQLITE_PATH) if args.reuse else None
            if size != args.size:
                SQLITE_PATH.unlink(missing_ok=True)
            url = f"sqlite:///{SQLITE_PATH}"
        print(
            f"reusing the bench log of {size:,} entries"
            if size == args.size
            else f"fresh bench database (building {args.size:,} entries)",
            flush=True,
        )
        status |= harness.run_child(__file__, backend, url, sys.argv[1:])
    return status


# --- child ---------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def report(label: str, seconds: list[float], scoreboard: dict) -> None:
    ms = sorted(s * 1000 for s in seconds)
    med, p99 = statistics.median(ms), percentile(ms, 99)
    scoreboard[label] = (med, p99)
    print(
        f"  {label:34s} n={len(ms):5d}  median {med:6.3f} ms  p99 {p99:6.3f} ms"
        f"  mean {statistics.fmean(ms):6.3f}  min {ms[0]:6.3f}  max {ms[-1]:7.3f}",
        flush=True,
    )


def child(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ledger import merkle, storage
    from ledger.models import Checkpoint, Entry, TreeHead

    call_command("migrate", verbosity=0, interactive=False)
    storage.ledger_initialize()
    rng = random.Random(args.seed)

    # -- the log --------------------------------------------------------------
    size = storage.head_size()
    if size < args.size:
        print(f"building: {args.size - size:,} entries in batches of {args.batch_size:,} ...")
        start = time.perf_counter()
        while size < args.size:
            count = min(args.batch_size, args.size - size)
            storage.append([os.urandom(250 + rng.randint(0, 100)) for _ in range(count)])
            size += count
        elapsed = time.perf_counter() - start
        print(f"built in {elapsed:.1f} s ({args.size / elapsed:,.0f} appends/s incl. payloads)")
    size = storage.head_size()
    if size != args.size:
        print(
            f"error: the bench log has {size:,} entries, not {args.size:,}; rerun without --reuse"
        )
        return 1
    head_root = bytes(TreeHead.objects.get(pk=1).root)
    print(f"{connection.vendor} db={connection.settings_dict['NAME']} log size {size:,}")

    # -- the cases --------------------------------------------------------------
    n = args.proofs
    head_incl = [(rng.randrange(size), size) for _ in range(n)]
    head_cons = [(rng.randint(1, size - 1), size) for _ in range(n)]
    hist_incl = []
    for _ in range(n):
        s = rng.randint(1, size)
        hist_incl.append((rng.randrange(s), s))
    hist_cons = [tuple(sorted((rng.randint(1, size), rng.randint(1, size)))) for _ in range(n)]

    def timed(fn, cases):
        seconds, results = [], []
        for a, b in cases:
            start = time.perf_counter()
            result = fn(a, b)
            seconds.append(time.perf_counter() - start)
            results.append(result)
        return seconds, results

    for _ in range(200):  # warm-up: connection, caches, code paths
        storage.inclusion_proof(rng.randrange(size), size)
        storage.consistency_proof(rng.randint(1, size - 1), size)

    with CaptureQueriesContext(connection) as queries:
        storage.inclusion_proof(*head_incl[0])
    incl_queries = len(queries)
    with CaptureQueriesContext(connection) as queries:
        storage.consistency_proof(*head_cons[0])
    cons_queries = len(queries)

    scoreboard: dict[str, tuple[float, float]] = {}
    print(
        f"service calls ({incl_queries} / {cons_queries} SQL queries per inclusion / consistency):"
    )
    t_hi, r_hi = timed(storage.inclusion_proof, head_incl)
    report("inclusion_proof(i, size)", t_hi, scoreboard)
    t_hc, r_hc = timed(storage.consistency_proof, head_cons)
    report("consistency_proof(m, size)", t_hc, scoreboard)
    t_pi, r_pi = timed(storage.inclusion_proof, hist_incl)
    report("inclusion_proof(i, s <= size)", t_pi, scoreboard)
    t_pc, r_pc = timed(storage.consistency_proof, hist_cons)
    report("consistency_proof(m <= n <= size)", t_pc, scoreboard)

    # -- through HTTP (Django test client: URL routing, middleware, JSON) -------
    client = Client(HTTP_HOST="localhost")
    http_incl = [(rng.randrange(size), size) for _ in range(args.http)]
    http_cons = [(rng.randint(1, size - 1), size) for _ in range(args.http)]

    def get_incl(index, s):
        return client.get("/ledger/proof/inclusion", {"index": index, "size": s})

    def get_cons(m, s):
        return client.get("/ledger/proof/consistency", {"from": m, "to": s})

    for _ in range(50):
        get_incl(rng.randrange(size), size)
    print("HTTP through django.test.Client:")
    t_wi, w_incl = timed(get_incl, http_incl)
    report("GET /ledger/proof/inclusion", t_wi, scoreboard)
    t_wc, w_cons = timed(get_cons, http_cons)
    report("GET /ledger/proof/consistency", t_wc, scoreboard)

    # -- the proofs are correct (outside the clock) ------------------------------
    checkpoint_roots = dict(Checkpoint.objects.values_list("size", "root"))
    checkpoint_roots = {k: bytes(v) for k, v in checkpoint_roots.items()}
    assert checkpoint_roots[size] == head_root
    checked = against_checkpoint = 0

    def expect_root(s: int, computed: bytes) -> bytes:
        nonlocal against_checkpoint
        if s in checkpoint_roots:
            against_checkpoint += 1
            return checkpoint_roots[s]
        return computed  # no signed head of that size: the proof's own root

    for p in r_hi + r_pi:
        root = head_root if p.size == size else expect_root(p.size, p.root)
        assert p.root == root, (p.index, p.size)
        merkle.verify_inclusion(p.index, p.size, p.leaf_hash, p.proof, root)
        checked += 1
    for p in r_hc + r_pc:
        root2 = head_root if p.size2 == size else expect_root(p.size2, p.root2)
        root1 = expect_root(p.size1, p.root1)
        assert (p.root1, p.root2) == (root1, root2), (p.size1, p.size2)
        merkle.verify_consistency(p.size1, p.size2, p.proof, root1, root2)
        checked += 1
    for (index, s), response in zip(http_incl, w_incl, strict=True):
        assert response.status_code == 200, response.content
        body = response.json()
        merkle.verify_inclusion(
            index,
            s,
            base64.b64decode(body["leaf_hash"]),
            [base64.b64decode(h) for h in body["proof"]],
            head_root,
        )
        checked += 1
    for (m, s), response in zip(http_cons, w_cons, strict=True):
        assert response.status_code == 200, response.content
        body = response.json()
        root1 = base64.b64decode(body["from_root"])
        merkle.verify_consistency(
            m, s, [base64.b64decode(h) for h in body["proof"]], root1, head_root
        )
        checked += 1
    # A sample: leaf hashes are those of the stored bytes; consistency from
    # signed checkpoints (roots computed when they were appended) to the head.
    sample = rng.sample(r_hi, min(args.verify, len(r_hi)))
    data = dict(
        Entry.objects.filter(index__in=[p.index for p in sample]).values_list("index", "data")
    )
    for p in sample:
        assert p.leaf_hash == merkle.leaf_hash(bytes(data[p.index])), p.index
    old_sizes = rng.sample(sorted(checkpoint_roots), min(args.verify, len(checkpoint_roots)))
    for m in [s for s in old_sizes if s > 0]:
        p = storage.consistency_proof(m, size)
        merkle.verify_consistency(m, size, p.proof, checkpoint_roots[m], head_root)
        against_checkpoint += 1
    # Verification is not vacuous: a tampered proof is refused.
    p = r_hi[0]
    bad = [bytes([p.proof[0][0] ^ 1]) + p.proof[0][1:], *p.proof[1:]]
    try:
        merkle.verify_inclusion(p.index, p.size, p.leaf_hash, bad, head_root)
    except merkle.ProofError:
        pass
    else:
        raise AssertionError("a tampered inclusion proof verified")
    print(
        f"verified: {checked:,} proofs against the head root / signed checkpoints"
        f" ({against_checkpoint:,} against a checkpoint of another size),"
        f" {len(sample)} leaf hashes against stored entries; tampered proof refused"
    )

    if args.profile:
        import cProfile
        import pstats

        cases = head_incl[:500]
        profiler = cProfile.Profile()
        profiler.enable()
        for index, s in cases:
            storage.inclusion_proof(index, s)
        profiler.disable()
        print("cProfile of 500 inclusion proofs (tottime, top 25):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)

    for label, (med, p99) in scoreboard.items():
        if label.startswith("GET"):
            continue
        verdict = (
            "met"
            if p99 < TARGET_MS
            else ("median met, p99 MISSED" if med < TARGET_MS else "MISSED")
        )
        print(f"target < {TARGET_MS} ms, {connection.vendor}, {label}: {verdict}")
    return 0


def main() -> int:
    args = parse_args()
    if args.child:
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
