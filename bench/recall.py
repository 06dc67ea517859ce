"""Recall trace of a big batch: GET /api/v1/batches/<gtin>/<lot>/trace as JSON
and as PDF, on a batch of --packs serialized packs spread over --distributors
distributors and --pharmacies pharmacies, some packs dispensed, some still in
transit, recalled, a few holders quarantined.

Seeding: the batch is commissioned through the real service; the custody
events (ships, receipts, dispenses) are signed statements built like the
services build them and appended in large batches through statements_append,
so the same projection code (custody_apply) writes the tables. The rules
are not re-checked on this path (the flow is valid by construction); run a
small seed with --check to have rebuild_projections --check confirm that
replaying the ledger gives the same tables.

    .venv/bin/python bench/recall.py                     # the target: PostgreSQL
    .venv/bin/python bench/recall.py --packs 2000 --pharmacies 20 --check

Targets on PostgreSQL: trace < 1 s, PDF < 5 s (median of --repeats runs).
"""

import argparse
import statistics
import sys
import time
import uuid
from datetime import date

import harness

PG_DATABASE = "traceability_bench_recall"
TARGETS = {"json": 1.0, "pdf": 5.0}
APPEND_CHUNK = 400  # statements per ledger append while seeding


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--packs", type=int, default=100_000)
    parser.add_argument("--distributors", type=int, default=20)
    parser.add_argument("--pharmacies", type=int, default=1_000)
    parser.add_argument("--dispensed", type=float, default=0.2, help="share pharmacies dispense")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="rebuild_projections --check after")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def parent(args: argparse.Namespace) -> int:
    harness.print_machine_load()
    url = harness.fresh_database(args.backend, args.pg_server, PG_DATABASE, "bench-recall.sqlite3")
    if url is None:
        return 0
    code = harness.run_child(__file__, args.backend, url, sys.argv[1:])
    harness.print_machine_load()
    return code


class Seeder:
    """Signs custody events the way shipping's services do and appends them."""

    def __init__(self):
        from traceability import epcis_shapes
        from traceability.keys import custodial_sign
        from traceability.statement_log import statements_append

        self.shapes, self.sign, self.append = epcis_shapes, custodial_sign, statements_append
        self.pending = []

    def _event(self, org, kind, epcs, biz_step, disposition, **extra):
        from django.utils import timezone

        body = self.shapes.object_event(
            action="OBSERVE", biz_step=biz_step, disposition=disposition, epcs=epcs,
            when=timezone.now(), **extra,
        )  # fmt: skip
        self.pending.append(self.sign(organisation=org, kind=kind, body=body))
        if len(self.pending) >= APPEND_CHUNK:
            self.flush()

    def flush(self):
        if self.pending:
            self.append(self.pending)
            self.pending = []

    def _uris(self, packs):
        return [self.shapes.sgtin_uri(g, s) for g, s in packs]

    def _parties(self, sender, receiver, shipment: str) -> dict:
        return {
            "sourceList": self.shapes.parties("source", sender.gln),
            "destinationList": self.shapes.parties("destination", receiver.gln),
            "shipment": shipment,
        }

    def ship(self, sender, receiver, packs) -> str:
        shipment = str(uuid.uuid4())
        parties = self._parties(sender, receiver, shipment)
        for start in range(0, len(packs), 500):
            uris = self._uris(packs[start : start + 500])
            self._event(sender, "ship", uris, "shipping", "in_transit", **parties)
        return shipment

    def receive(self, sender, receiver, packs, shipment):
        parties = self._parties(sender, receiver, shipment)
        for start in range(0, len(packs), 500):
            uris = self._uris(packs[start : start + 500])
            self._event(receiver, "receive", uris, "receiving", "in_progress", **parties)

    def dispense(self, pharmacy, packs):
        self._event(pharmacy, "dispense", self._uris(packs), "dispensing", "dispensed")


def seed(args):
    from tests import factories
    from traceability.commissioning import batch_commission, product_register
    from traceability.models import Organisation
    from traceability.recalls import recall_issue, recall_quarantine

    role = Organisation.Role
    regulator = factories.regulator(name="Bench Agency")

    def org(kind, name):
        return factories.registered(kind, regulator, name=name)

    maker = org(role.MANUFACTURER, "Bench Pharma")
    distributors = [org(role.DISTRIBUTOR, f"Distributor {i:02d}") for i in range(args.distributors)]
    pharmacies = [org(role.PHARMACY, f"Pharmacy {i:04d}") for i in range(args.pharmacies)]
    product = product_register(manufacturer=maker, gtin="04000001000012", name="Bench pills")
    batch = batch_commission(
        manufacturer=maker, product=product, lot="BENCH", quantity=args.packs,
        manufactured_on=date(2026, 1, 1), expires_on=date(2028, 1, 1),
    )  # fmt: skip
    packs = list(batch.packs.order_by("pk").values_list("gtin", "serial"))
    seeder = Seeder()
    # 90% goes out to the distributors; the manufacturer keeps the rest.
    share = len(packs) * 9 // 10 // len(distributors)
    stock = {}
    for i, d in enumerate(distributors):
        stock[d.pk] = packs[i * share : (i + 1) * share]
        seeder.receive(maker, d, stock[d.pk], seeder.ship(maker, d, stock[d.pk]))
    seeder.flush()
    per_pharmacy = share * len(distributors) * 9 // 10 // len(pharmacies)
    in_transit = max(len(pharmacies) // 20, 1)  # the last 5% not received yet
    for i, p in enumerate(pharmacies):
        d = distributors[i % len(distributors)]
        taken, stock[d.pk] = stock[d.pk][:per_pharmacy], stock[d.pk][per_pharmacy:]
        shipment = seeder.ship(d, p, taken)
        if i < len(pharmacies) - in_transit:
            seeder.receive(d, p, taken, shipment)
            dispensed = taken[: int(len(taken) * args.dispensed)]
            if dispensed:
                seeder.dispense(p, dispensed)
    seeder.flush()
    recall = recall_issue(
        issuer=regulator, batches=[batch], recall_class="I", reason="Bench recall",
        instructions="Quarantine and return.",
    )  # fmt: skip
    for p in pharmacies[:: max(len(pharmacies) // 50, 1)]:
        recall_quarantine(holder=p, recall=recall)
    return regulator, batch


def child(args: argparse.Namespace) -> int:
    harness.django_migrated()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.services import token_create
    from traceability.models import Member, PackEvent

    start = time.perf_counter()
    regulator, batch = seed(args)
    print(
        f"{connection.vendor}: seeded {batch.quantity:,} packs over {args.distributors} "
        f"distributors and {args.pharmacies:,} pharmacies ({PackEvent.objects.count():,} pack "
        f"events) in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    user = get_user_model().objects.create_user("bench", password=None)
    Member.objects.create(user=user, organisation=regulator)
    _, token = token_create(user=user, name="bench")
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    url = f"/api/v1/batches/{batch.product.gtin}/{batch.lot}/trace"
    missed = False
    for fmt, target in TARGETS.items():
        times, size = [], 0
        for _ in range(args.repeats + 1):  # the first run warms caches and is not counted
            began = time.perf_counter()
            response = http.get(url, {"format": fmt})
            times.append(time.perf_counter() - began)
            assert response.status_code == 200, response.content[:300]
            size = len(response.content)
        runs = times[1:]
        median = statistics.median(runs)
        verdict = "met" if median < target else "MISSED"
        missed |= median >= target
        print(
            f"  GET trace ?format={fmt:<4} median {median:6.3f} s (min {min(runs):.3f}, "
            f"max {max(runs):.3f}; {len(runs)} runs; {size:,} bytes)"
            f"  target < {target} s: {verdict}"
        )
    if fmt == "pdf" and "--check" not in sys.argv:
        (harness.ROOT / "var").mkdir(exist_ok=True)
        (harness.ROOT / "var" / "bench-recall-trace.pdf").write_bytes(response.content)
    if args.check:
        call_command("rebuild_projections", "--check")
        print("  rebuild_projections --check: the tables are what replaying the ledger gives")
    return 1 if missed else 0


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(child(arguments) if arguments.child else parent(arguments))
