"""Signed custody events per second through the API batch path (client-signed).

Each event is one ship statement for one pack, signed by the client with its
own key (signing is done before the clock starts: it is the client's cost).
Timed: statements_ingest on batches of --batch-size events, which parses,
verifies signatures and nonces, checks the custody rules with the packs
locked, appends to the ledger and updates the projections in one
transaction; and, for comparison, the same through POST /api/v1/statements.

    .venv/bin/python bench/ingest.py                  # PostgreSQL (the target)
    .venv/bin/python bench/ingest.py --backend sqlite
    .venv/bin/python bench/ingest.py --profile var/ingest.prof   # + cProfile of one batch

Besides wall-clock rates it prints events per CPU-second (this process plus
its PostgreSQL backend), which a busy shared machine disturbs far less.
Last, --clients processes (default: one per core) each POST batches of their
own to /api/v1/statements at once, as clients of a server with one worker per
core would: what the server takes from several clients.

Target: >= 10,000 events/s on PostgreSQL with 2 cores, batches of 1,000.
"""

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import statistics
import sys
import time
from datetime import date

import harness

PG_DATABASE = "traceability_bench_ingest"
TARGET = 10_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per path")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one extra batch into FILE")
    parser.add_argument(
        "--clients", type=int, default=os.cpu_count() or 1, help="processes ingesting at once"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def parent(args: argparse.Namespace) -> int:
    harness.print_machine_load()
    url = harness.fresh_database(args.backend, args.pg_server, PG_DATABASE, "bench-ingest.sqlite3")
    if url is None:
        return 0
    return harness.run_child(__file__, args.backend, url, sys.argv[1:])


def seed(batch_size: int, count: int):
    """A manufacturer with its own key and `count` batches of packs to ship; the
    manufacturer and signed_batch(i), the i-th batch of client-signed ships."""
    sys.path.insert(0, str(harness.ROOT / "examples"))
    harness.django_migrated()
    import client as example_client
    import nacl.signing
    from django.db import connection

    from tests import factories
    from traceability import keys
    from traceability.commissioning import batch_commission, product_register
    from traceability.models import Organisation

    regulator = factories.regulator()
    maker = factories.registered(Organisation.Role.MANUFACTURER, regulator)
    receiver = factories.registered(Organisation.Role.DISTRIBUTOR, regulator)
    own = nacl.signing.SigningKey.generate()
    keys.key_register(organisation=maker, registered_by=regulator, public_key=bytes(own.verify_key))
    product = product_register(manufacturer=maker, gtin="04000001000012", name="Bench pills")
    total = batch_size * count
    batch = batch_commission(
        manufacturer=maker,
        product=product,
        lot="BENCH",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 1, 1),
        quantity=total,
    )
    serials = list(batch.packs.order_by("pk").values_list("gtin", "serial"))
    vendor = connection.vendor
    print(f"{vendor}: {total:,} packs commissioned; batches of {batch_size:,}", flush=True)

    def signed_batch(i: int) -> list[dict]:
        chunk = serials[i * batch_size : (i + 1) * batch_size]
        return [
            example_client.sign(
                "ship",
                example_client.ship_event(maker.gln, receiver.gln, [p]),
                maker.gln,
                bytes(own),
            )
            for p in chunk
        ]

    return maker, signed_batch


def child(args: argparse.Namespace) -> int:
    per_client = args.repeats + 1  # a warm-up each, then the timed batches
    first_shared = 2 * args.repeats + 2
    maker, signed_batch = seed(args.batch_size, first_shared + args.clients * per_client)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from accounts.services import token_create
    from traceability.ingest import statements_ingest
    from traceability.models import Member

    batches = [signed_batch(i) for i in range(2 * args.repeats + 1)]
    statements_ingest(organisation=maker, submitted=batches[0])  # warm-up
    backend = harness.backend_pid(connection)

    service = []
    for submitted in batches[1 : args.repeats + 1]:
        with harness.Measured(len(submitted), backend, service):
            statements_ingest(organisation=maker, submitted=submitted)

    user = get_user_model().objects.create_user("bench", password=None)
    Member.objects.create(user=user, organisation=maker)
    _, token = token_create(user=user, name="bench")
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    api = []
    for submitted in batches[args.repeats + 1 :]:
        body = json.dumps({"statements": submitted})
        with harness.Measured(len(submitted), backend, api):
            _post(http, body)

    for label, runs in (("statements_ingest", service), ("POST /api/v1/statements", api)):
        rates = [m.rate for m in runs]
        print(
            f"  {label:<24} median {statistics.median(rates):>7,.0f} events/s"
            f"  (min {min(rates):,.0f}, max {max(rates):,.0f}; {len(rates)} batches)"
        )
        if backend is not None:
            cpu_rates = [m.cpu_rate for m in runs]
            share = statistics.median(m.backend_share for m in runs)
            print(
                f"  {'':<24} median {statistics.median(cpu_rates):>7,.0f} events/CPU-s"
                f"  (Python + its PostgreSQL backend; backend {share:.0%} of that CPU)"
            )
    verdict = "met" if statistics.median(m.rate for m in api) >= TARGET else "MISSED"
    print(f"target >= {TARGET:,} events/s through the API, {connection.vendor}: {verdict}")
    if args.clients > 1:
        work = [
            [signed_batch(first_shared + c * per_client + i) for i in range(per_client)]
            for c in range(args.clients)
        ]
        clients_at_once(token, work)
    if args.profile:
        profiled(args.profile, http, signed_batch(2 * args.repeats + 1))
    return 0


def _client(token: str, batches: list, ready, start, took) -> None:
    """One client process: a warm-up batch, then the rest once all are ready."""
    from django.test import Client

    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    bodies = [json.dumps({"statements": submitted}) for submitted in batches]
    _post(http, bodies[0])
    ready.release()
    start.wait()
    for body in bodies[1:]:
        _post(http, body)
    took.put(time.perf_counter())


def _post(http, body: str) -> None:
    response = http.post("/api/v1/statements", body, content_type="application/json")
    assert response.status_code == 201, response.content[:300]


def clients_at_once(token: str, work: list[list]) -> None:
    """Every client's timed batches, at the same time: events/s from the start
    until the last client is done."""
    from django.db import connection

    connection.close()  # each forked client opens its own
    fork = multiprocessing.get_context("fork")
    ready, start, took = fork.Semaphore(0), fork.Event(), fork.Queue()
    clients = [fork.Process(target=_client, args=(token, w, ready, start, took)) for w in work]
    for client in clients:
        client.start()
    for _ in clients:
        ready.acquire()
    began = time.perf_counter()
    start.set()
    ended = max(took.get() for _ in clients)
    for client in clients:
        client.join()
    events = sum(len(b) for w in work for b in w[1:])
    rate = events / (ended - began)
    print(
        f"  {len(clients)} clients at once (POST /api/v1/statements from {len(clients)} processes):"
        f" {rate:,.0f} events/s ({events:,} events)"
    )
    verdict = "met" if rate >= TARGET else "MISSED"
    print(f"target >= {TARGET:,} events/s with {len(clients)} clients at once: {verdict}")


def profiled(path: str, http, submitted: list[dict]) -> None:
    """cProfile one more batch through the API; the top of it printed, all of it in `path`."""
    body = json.dumps({"statements": submitted})
    profile = cProfile.Profile()
    profile.enable()
    _post(http, body)
    profile.disable()
    profile.dump_stats(path)
    pstats.Stats(path).sort_stats("cumulative").print_stats(40)


def main() -> int:
    args = parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
