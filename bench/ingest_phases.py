"""Where a batch of client-signed ships spends its CPU: statements_ingest by phase.

The same batches as bench/ingest.py (one ship per pack, 1,000 per batch),
through statements_ingest on PostgreSQL. Each phase is timed by wrapping the
function that does it: the main thread's CPU (time.thread_time, so the
signature threads' CPU is not counted in the phase they overlap), the
PostgreSQL backend's CPU, and wall-clock time. The whole batch is also given
with the process's CPU, which includes the signature threads.

    .venv/bin/python bench/ingest_phases.py --repeats 5

Medians over the batches, in ms per batch. Phases nest where indented; what
the phases do not cover is the service's own glue.

Last, the budget: the CPU that the 10,000 events/s target leaves per batch on
this machine's cores, against what the PostgreSQL backend and the signature
checks (timed alone, on one core) take of it, and so what is left for Python.
"""

import argparse
import os
import statistics
import sys
import time

import harness
import ingest

PG_DATABASE = "traceability_bench_ingest_phases"
PHASES = [  # (module, attribute, label): wrapped in this order
    ("traceability.ingest", "_parsed", "parse, shape check, canonical JSON"),
    ("traceability.statement_log", "SignatureCheck.__init__", "keys, nonces; verification starts"),
    ("traceability.ingest", "custody_check", "custody rules"),
    ("traceability.custody_rules", "read_state", "  read and lock the state"),
    ("traceability.statement_log", "SignatureCheck.keys", "wait for the signatures"),
    ("traceability.statement_log", "storage.append", "ledger append"),
    ("traceability.custody_apply", "CustodyRun.apply", "projections (custody)"),
    ("traceability.custody_apply", "CustodyRun._save", "  their writes"),
    ("traceability.projections", "epcis_index.custody_events_index", "EPCIS event index"),
    ("traceability.projections", "statement_records", "statement records, built"),
    ("traceability.statement_log", "insert_rows", "statement records, written"),
    ("django.db.backends.base.base", "BaseDatabaseWrapper.commit", "commit (deferred FK checks)"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="timed batches")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def timed(owner, name: str, label: str, backend: int | None, spent: dict) -> None:
    """Replace owner.name by a wrapper adding (main CPU, backend CPU, wall) to spent[label]."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        cpu, server, wall = time.thread_time(), harness.backend_cpu(backend), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            took = (
                time.thread_time() - cpu,
                harness.backend_cpu(backend) - server,
                time.perf_counter() - wall,
            )
            total = spent.setdefault(label, [0.0, 0.0, 0.0])
            for i, value in enumerate(took):
                total[i] += value

    setattr(owner, name, wrapper)


def child(args: argparse.Namespace) -> int:
    import importlib

    maker, signed_batch = ingest.seed(args.batch_size, args.repeats + 1)
    from django.db import connection

    from traceability import ingest as service

    batches = [signed_batch(i) for i in range(args.repeats + 1)]
    service.statements_ingest(organisation=maker, submitted=batches[0])  # warm-up
    backend = harness.backend_pid(connection)
    spent: dict[str, list[float]] = {}
    for module, path, label in PHASES:
        *owners, name = path.split(".")
        owner = importlib.import_module(module)
        for attribute in owners:
            owner = getattr(owner, attribute)
        timed(owner, name, label, backend, spent)

    runs = []
    for submitted in batches[1:]:
        spent.clear()
        process, server = time.process_time(), harness.backend_cpu(backend)
        main, wall = time.thread_time(), time.perf_counter()
        service.statements_ingest(organisation=maker, submitted=submitted)
        whole = (
            time.thread_time() - main,
            harness.backend_cpu(backend) - server,
            time.perf_counter() - wall,
            time.process_time() - process,
        )
        runs.append((whole, {label: tuple(v) for label, v in spent.items()}))
    report(runs)
    budget(runs, batches[1:])
    return 0


def signatures_cpu(submitted: list[dict]) -> float:
    """CPU seconds to verify the batch's signatures one after another, on one core."""
    import nacl.signing

    from traceability import statements
    from traceability.models import SigningKey

    parsed = [statements.parse(s) for s in submitted]
    public = {k.key_id: bytes(k.public_key) for k in SigningKey.objects.all()}
    verifiers = {key_id: nacl.signing.VerifyKey(key) for key_id, key in public.items()}
    started = time.thread_time()
    for signed in parsed:
        message = statements.DOMAIN + signed.canonical_bytes()
        verifiers[signed.signer_key].verify(message, signed.signature)
    return time.thread_time() - started


def budget(runs: list, batches: list[list[dict]]) -> None:
    cores = os.cpu_count() or 1
    size = len(batches[0])
    allowed = cores * size / ingest.TARGET * 1000
    database = statistics.median(whole[1] for whole, _ in runs) * 1000
    signatures = statistics.median(signatures_cpu(b) for b in batches) * 1000
    print(f"\nCPU budget per batch of {size:,} at {ingest.TARGET:,} events/s on {cores} cores: "
          f"{allowed:.0f} ms")  # fmt: skip
    print(f"  PostgreSQL backend (measured above)   {database:5.0f} ms")
    print(f"  signature checks alone, one core      {signatures:5.0f} ms")
    print(f"  left for all of Python                {allowed - database - signatures:5.0f} ms"
          f"  (spent today on the main thread: "
          f"{statistics.median(whole[0] for whole, _ in runs) * 1000:.0f} ms)")  # fmt: skip


def report(runs: list) -> None:
    def ms(values) -> str:
        return f"{statistics.median(values) * 1000:7.0f}"

    wholes = [whole for whole, _ in runs]
    print(f"{'ms per batch (median)':<40} {'main CPU':>8} {'PG CPU':>7} {'wall':>7}")
    for _, _, label in PHASES:
        taken = [phases.get(label, (0.0, 0.0, 0.0)) for _, phases in runs]
        print(f"{label:<40} {ms(t[0] for t in taken)} {ms(t[1] for t in taken)} "
              f"{ms(t[2] for t in taken)}")  # fmt: skip
    print(
        f"{'whole batch':<40} {ms(w[0] for w in wholes)} {ms(w[1] for w in wholes)} "
        f"{ms(w[2] for w in wholes)}   (process CPU, signature threads too: "
        f"{ms(w[3] for w in wholes).strip()})"
    )


def main() -> int:
    args = parse_args()
    if args.child:
        return child(args)
    harness.print_machine_load()
    url = harness.fresh_database("postgres", args.pg_server, PG_DATABASE, "unused.sqlite3")
    if url is None:
        return 0
    return harness.run_child(__file__, "postgres", url, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
