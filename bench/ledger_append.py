"""Append throughput of the ledger: entries/s through `ledger.storage.append`.

Each batch is one call `storage.append(list_of_bytes)` (one transaction: row
lock on the head, COPY/INSERT of the entries, completed tiles, new root,
signed checkpoint). Payloads are ~300 random bytes, the size of a signed
JSON statement, generated before the clock starts. Signature verification of
statements happens before `append` and is not measured here.

Every backend gets a dedicated, fresh database, never the dev DB:
SQLite a file in a temporary directory, PostgreSQL the database
`traceability_bench` (dropped and recreated through the `postgres`
database). The script re-runs itself once per backend with DATABASE_URL set
before `django.setup()`, migrates, warms up, then times `--repeats` runs of
`--batches` batches each. The log keeps growing across repeats. DEBUG is off
(as in production: no per-query logging).

Run from the repository root:

    .venv/bin/python bench/ledger_append.py                 # both backends
    .venv/bin/python bench/ledger_append.py --backend postgres --repeats 7
    .venv/bin/python bench/ledger_append.py --profile       # + cProfile of one run

Target: >= 50,000 appends/s on PostgreSQL.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
PG_DATABASE = "traceability_bench"
TARGET_PG = 50_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batches", type=int, default=50, help="batches per timed run")
    parser.add_argument("--batch-size", type=int, default=1000, help="entries per append")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per backend")
    parser.add_argument("--warmup", type=int, default=5, help="untimed batches first")
    parser.add_argument("--payload", type=int, default=300, help="mean payload bytes")
    parser.add_argument(
        "--pg-server",
        default=os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database name",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one extra run")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    return parser.parse_args()


# --- parent: one fresh database and one subprocess per backend ---------------


def parent(args: argparse.Namespace) -> int:
    harness.print_machine_load()
    argv = sys.argv[1:]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    status = 0
    for backend in backends:
        print(f"== {backend} ==", flush=True)
        if backend == "sqlite":
            tmp = tempfile.mkdtemp(prefix="ledger-bench-")
            try:
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                status |= harness.run_child(__file__, backend, url, argv)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        else:
            try:
                harness.pg_recreate(args.pg_server, PG_DATABASE)
            except Exception as exc:
                print(f"postgres: skipped: PostgreSQL unreachable at {args.pg_server} ({exc})")
                continue
            status |= harness.run_child(__file__, backend, f"{args.pg_server}/{PG_DATABASE}", argv)
    return status


# --- child: Django is set up against the bench database -----------------------


def payloads(count: int, mean: int) -> list[bytes]:
    # Lengths vary a little around the mean, as signed JSON statements do.
    spread = max(mean // 6, 1)
    rng = random.Random()
    return [os.urandom(mean + rng.randint(-spread, spread)) for _ in range(count)]


def child(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ledger import merkle, storage
    from ledger.models import Checkpoint, TreeHead

    call_command("migrate", verbosity=0, interactive=False)
    storage.ledger_initialize()
    print(
        f"{connection.display_name} {connection.Database.__name__}"
        f" db={connection.settings_dict['NAME']}; {args.repeats} runs x {args.batches}"
        f" batches x {args.batch_size} entries, payload ~{args.payload} B",
        flush=True,
    )

    def one_run(batches: int) -> float:
        data = [payloads(args.batch_size, args.payload) for _ in range(batches)]
        start = time.perf_counter()
        for batch in data:
            storage.append(batch)
        return time.perf_counter() - start

    if args.warmup:
        one_run(args.warmup)

    rates = []
    for i in range(args.repeats):
        elapsed = one_run(args.batches)
        entries = args.batches * args.batch_size
        rates.append(entries / elapsed)
        print(
            f"  run {i + 1}: {entries:,} entries in {elapsed:.2f} s = {rates[-1]:,.0f} appends/s"
            f" ({elapsed / args.batches * 1000:.1f} ms/batch)",
            flush=True,
        )

    if args.profile:
        import cProfile
        import pstats

        data = [payloads(args.batch_size, args.payload) for _ in range(args.batches)]
        profiler = cProfile.Profile()
        profiler.enable()
        for batch in data:
            storage.append(batch)
        profiler.disable()
        print("  cProfile of one more run (cumulative time, top 30):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)

    # The log must still be a log: head root equals the latest checkpoint's,
    # and the root recomputed from a fresh reader matches it.
    head = TreeHead.objects.get(pk=1)
    latest = Checkpoint.objects.order_by("-size").first()
    assert latest.size == head.size and bytes(latest.root) == bytes(head.root)
    assert storage.NodeReader(head.size).root(head.size) == bytes(head.root)
    assert len(bytes(head.root)) == merkle.HASH_SIZE

    median = statistics.median(rates)
    print(
        f"{connection.vendor}: median {median:,.0f} appends/s"
        f" (min {min(rates):,.0f}, max {max(rates):,.0f}; {len(rates)} runs;"
        f" log size at end {head.size:,})"
    )
    if connection.vendor == "postgresql":
        verdict = "met" if median >= TARGET_PG else "MISSED"
        print(f"target >= {TARGET_PG:,} appends/s on PostgreSQL: {verdict}")
    return 0


def main() -> int:
    args = parse_args()
    if args.child:
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
