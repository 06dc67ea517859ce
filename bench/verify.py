"""Verification latency under load: GET /api/v1/verify through gunicorn, 1M packs in PostgreSQL.

Seeding (into the dedicated database `traceability_bench_verify`, printed
with its timings): organisations, keys and the product through the real
services; then --lots lots of --packs-per-lot packs, each lot commissioned
by the manufacturer, shipped to one of --pharmacies pharmacies and received
there. Those are real statements (500 packs each, as the services write
them), signed with the organisations' custodial keys and appended with
ledger.storage.append; the projection rows (packs, per-pack events, batch
events, shipments, statement index) are written with COPY, exactly the rows
projections.apply_batch would write -- `--check` replays the ledger with
rebuild.differences() to prove it (use it with a small --lots).

Load: gunicorn (--workers sync workers) serves the app; an open-loop client
sends --rate requests/s for --seconds per run, --runs runs. Each request is
a random pack's full 2D code (GS1 element string) sent by its holder's API
token, so every verdict must be AUTHENTIC and each verifies the pack's
chain signatures and its inclusion proof. Latency runs from the moment a
request was due to the last byte of its answer, so a stall is not hidden.

    .venv/bin/python bench/verify.py                # seed 1M packs, then measure
    .venv/bin/python bench/verify.py --reuse        # measure on the seeded database
    .venv/bin/python bench/verify.py --lots 4 --packs-per-lot 1000 --check

Target: p95 < 20 ms at 200 requests/s.
"""

import argparse
import contextlib
import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import quote

import harness

PG_DATABASE = "traceability_bench_verify"
TARGET_P95_MS = 20.0
GTIN = "04000001000029"
PER_STATEMENT = 500
GS = "\x1d"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=100)
    parser.add_argument("--packs-per-lot", type=int, default=10_000)
    parser.add_argument("--pharmacies", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="per run")
    parser.add_argument("--runs", type=int, default=5)
    # Two sync workers, one per core: on this 2-core machine, shared with PostgreSQL
    # and the load client, 2 used the least CPU per verification (6.4 ms against
    # 6.7 with 3 and 7.2 with 4, at 200 requests/s, other suites running), and each
    # worker's signature memo warms twice as fast as with 4.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (more than 1: gthread)"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--check", action="store_true", help="replay the ledger after seeding")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def parent(args: argparse.Namespace) -> int:
    harness.print_machine_load()
    if not args.reuse:
        try:
            harness.pg_recreate(args.pg_server, PG_DATABASE)
        except Exception as exc:
            print(f"skipped: PostgreSQL unreachable at {args.pg_server} ({exc})")
            return 0
    return harness.run_child(__file__, "postgres", f"{args.pg_server}/{PG_DATABASE}", sys.argv[1:])


# --- seeding ---------------------------------------------------------------


class Signer:
    """An organisation's custodial key, decrypted once for thousands of statements."""

    def __init__(self, org):
        from traceability.keys import custodial_key_for, custodial_seed

        self.org = org
        self.key = custodial_key_for(org)
        self.seed = custodial_seed(self.key)

    def sign(self, kind: str, body: dict):
        from traceability import statements

        built = statements.build(kind=kind, body=body, org=self.org.gln, key=self.key.key_id)
        return statements.sign(built, self.seed)


def _copy(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def _serials(count: int, rng: random.Random) -> list[str]:
    from traceability.commissioning import SERIAL_ALPHABET, SERIAL_LENGTH

    serials: set[str] = set()
    while len(serials) < count:
        serials.add("".join(rng.choices(SERIAL_ALPHABET, k=SERIAL_LENGTH)))
    return sorted(serials)


def _lot_statements(maker, pharmacy, product, lot: str, serials: list[str], expires_on: date):
    """commission, ship and receive statements for one lot, in ledger order."""
    from django.utils import timezone

    from traceability import epcis_shapes

    now = timezone.now()
    ilmd = epcis_shapes.batch_ilmd(lot=lot, manufactured_on=date(2026, 1, 1), expires_on=expires_on)
    chunks = [serials[i : i + PER_STATEMENT] for i in range(0, len(serials), PER_STATEMENT)]
    epcs = [[epcis_shapes.sgtin_uri(product.gtin, s) for s in chunk] for chunk in chunks]
    shipment = str(uuid.uuid4())
    moves = {
        "sourceList": epcis_shapes.parties("source", maker.org.gln),
        "destinationList": epcis_shapes.parties("destination", pharmacy.org.gln),
        "shipment": shipment,
    }

    def event(action, biz_step, disposition, chunk, **extra):
        return epcis_shapes.object_event(
            action=action, biz_step=biz_step, disposition=disposition, epcs=chunk, when=now, **extra
        )

    commission = [
        maker.sign("commission", event("ADD", "commissioning", "active", c, ilmd=ilmd))
        for c in epcs
    ]
    ship = [
        maker.sign("ship", event("OBSERVE", "shipping", "in_transit", c, **moves)) for c in epcs
    ]
    return commission, ship, epcs, moves, now


def seed(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from ledger import storage
    from tests import factories
    from traceability import epcis_shapes
    from traceability.commissioning import product_register
    from traceability.epcis import index as epcis_index
    from traceability.models import (
        Batch,
        BatchEvent,
        Organisation,
        Pack,
        PackEvent,
        Shipment,
        SigningKey,
        StatementRecord,
    )

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    regulator = factories.regulator(name="Bench Agency")
    maker_org = factories.registered(Organisation.Role.MANUFACTURER, regulator, name="Bench Pharma")
    pharmacies = []
    for i in range(args.pharmacies):
        org = factories.registered(
            Organisation.Role.PHARMACY, regulator, name=f"Bench Pharmacy {i}"
        )
        pharmacies.append(Signer(org))
    maker = Signer(maker_org)
    product = product_register(manufacturer=maker_org, gtin=GTIN, name="Bench tablets 10 mg")
    key_rows = {k.key_id: k for k in SigningKey.objects.all()}
    rng = random.Random(5)
    pack_id = 0
    total = args.lots * args.packs_per_lot
    for lot_number in range(args.lots):
        lot = f"L{lot_number:05d}"
        pharmacy = pharmacies[lot_number % len(pharmacies)]
        expires_on = date(2028 + lot_number % 3, 1 + lot_number % 12, 1)
        serials = _serials(args.packs_per_lot, rng)
        commission, ship, epcs, moves, when = _lot_statements(
            maker, pharmacy, product, lot, serials, expires_on
        )
        with transaction.atomic():
            first = storage.head_size()
            shipped_first = first + len(commission)
            received_first = shipped_first + len(ship)
            receive = [
                pharmacy.sign(
                    "receive",
                    epcis_shapes.object_event(
                        action="OBSERVE",
                        biz_step="receiving",
                        disposition="in_progress",
                        epcs=chunk,
                        when=when,
                        **moves,
                        shippedEntry=shipped_first,
                    ),
                )
                for chunk in epcs
            ]
            signed = commission + ship + receive
            storage.append([s.entry_bytes() for s in signed])
            batch = Batch.objects.create(
                product=product,
                lot=lot,
                manufactured_on=date(2026, 1, 1),
                expires_on=expires_on,
                quantity=len(serials),
                created_entry=first,
            )
            Shipment.objects.create(
                public_id=moves["shipment"],
                sender=maker_org,
                receiver=pharmacy.org,
                status=Shipment.Status.RECEIVED,
                pack_count=len(serials),
                shipped_entry=shipped_first,
                received_entry=received_first,
                shipped_at=when,
                received_at=when,
            )
            packs, events = [], []
            for c, chunk in enumerate(epcs):
                for uri in chunk:
                    pack_id += 1
                    serial = epcis_shapes.sgtin_parse(uri)[1]
                    packs.append(
                        (pack_id, batch.pk, GTIN, serial, "active", pharmacy.org.pk, None,
                         maker_org.pk, first + c, received_first + c)
                    )  # fmt: skip
                    events.append((pack_id, shipped_first + c, "ship"))
                    events.append((pack_id, received_first + c, "receive"))
            _copy(
                Pack._meta.db_table,
                ["id", "batch_id", "gtin", "serial", "status", "custodian_id", "shipment_id",
                 "received_from_id", "commissioned_entry", "last_entry"],
                packs,
            )  # fmt: skip
            _copy(PackEvent._meta.db_table, ["pack_id", "entry", "kind"], events)
            parties = {"commission": [maker_org], "ship": [maker_org, pharmacy.org]}
            parties["receive"] = parties["ship"]
            BatchEvent.objects.bulk_create(
                BatchEvent(batch=batch, entry=first + i, kind=s.kind, organisation=org)
                for i, s in enumerate(signed)
                for org in parties[s.kind]
            )
            StatementRecord.objects.bulk_create(
                StatementRecord(
                    entry=first + i,
                    kind=s.kind,
                    organisation=key_rows[s.signer_key].organisation,
                    key=key_rows[s.signer_key],
                    nonce=s.nonce,
                    issued_at=s.issued_at,
                )
                for i, s in enumerate(signed)
            )
            epcis_index.custody_events_index([(s, first + i) for i, s in enumerate(signed)])
        done = (lot_number + 1) * args.packs_per_lot
        if (lot_number + 1) % 10 == 0 or lot_number + 1 == args.lots:
            print(
                f"  seeded {done:,} / {total:,} packs ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{Pack._meta.db_table}', 'id'), %s)", [pack_id]
        )
        cursor.execute("ANALYZE")
    print(
        f"seeded {Pack.objects.count():,} packs in {args.lots} lots, held by "
        f"{args.pharmacies} pharmacies; ledger of {storage.head_size():,} entries; "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )


# --- load ------------------------------------------------------------------


def scan_codes(count: int) -> list[tuple[str, str]]:
    """(holder's token, raw 2D-code text) for `count` random packs, with a token per holder."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.services import token_create
    from traceability.models import Member, Organisation

    tokens = {}
    for org in Organisation.objects.filter(role=Organisation.Role.PHARMACY):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-{org.pk}")
        Member.objects.get_or_create(user=user, defaults={"organisation": org})
        tokens[org.pk] = token_create(user=user, name="bench")[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM traceability_pack")
        top = cursor.fetchone()[0]
        ids = random.Random(9).sample(range(1, top + 1), min(count, top))
        cursor.execute(
            "SELECT p.gtin, p.serial, b.lot, b.expires_on, p.custodian_id"
            " FROM traceability_pack p JOIN traceability_batch b ON b.id = p.batch_id"
            " WHERE p.id = ANY(%s)",
            [ids],
        )
        rows = cursor.fetchall()
    random.Random(10).shuffle(rows)
    return [
        (tokens[holder], f"01{gtin}17{expiry:%y%m%d}10{lot}{GS}21{serial}")
        for gtin, serial, lot, expiry, holder in rows
    ]


def start_gunicorn(args: argparse.Namespace) -> subprocess.Popen:
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "traceability.wsgi",
        "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers),
        "--worker-class", "sync" if args.threads == 1 else "gthread",
        "--threads", str(args.threads),
        "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(cmd, cwd=harness.ROOT, env=os.environ.copy())  # noqa: S603
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
            conn.request("GET", "/ledger/checkpoint")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 30 s")


class Client:
    """One keep-alive connection per thread (gunicorn's sync workers close it; it reopens)."""

    local = threading.local()

    def __init__(self, port: int):
        self.port = port

    def get(self, token: str, raw: str) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(
                "GET",
                f"/api/v1/verify?code={quote(raw, safe='')}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            raise


def run_load(client: Client, codes: list, rate: float, seconds: float) -> tuple[list, list]:
    """Open loop: request i is due at start + i / rate; latency counts from then."""
    count = int(rate * seconds)
    latencies, problems = [], []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def one(i: int) -> None:
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        token, raw = codes[i % len(codes)]
        try:
            status, body = client.get(token, raw)
            ok = status == 200 and b'"verdict":"AUTHENTIC"' in body
            problem = None if ok else f"{status} {body[:200]!r}"
        except Exception as exc:  # a failed request is a result, not a crash
            problem = repr(exc)
        elapsed = time.perf_counter() - due
        with lock:
            latencies.append(elapsed * 1000)
            if problem:
                problems.append(problem)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(count)))
    return latencies, problems


def _process_cpu(stat: Path) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds so far) of a process (Linux /proc)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # the process ended while we looked
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU of gunicorn's master and workers so far."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        found = _process_cpu(stat)
        if found and server.pid in (int(stat.parent.name), found[0]):
            total += found[1]
    return total


def database_cpu_seconds() -> dict[int, float]:
    """CPU so far of each PostgreSQL backend on the bench database but this one's,
    by pid; empty when the server is not on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # ended while we looked, or on another machine
            found[pid] = harness.backend_cpu(pid)
    return found


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


class RunCpu:
    """CPU spent during one run: server, its database backends, this client, the machine."""

    def __init__(self, server: subprocess.Popen):
        self.server = server
        self.before = self._now()

    def _now(self):
        return (
            server_cpu_seconds(self.server),
            database_cpu_seconds(),
            time.process_time(),
            machine_busy(),
        )

    def summary(self, requests: int) -> str:
        server, database, client, (busy, total) = self._now()
        server0, database0, client0, (busy0, total0) = self.before
        db = sum(cpu - database0.get(pid, 0.0) for pid, cpu in database.items())
        per = 1000 / requests
        ended = len(database0.keys() - database.keys())  # reconnected: CONN_MAX_AGE
        return (
            f"CPU ms per request: gunicorn {(server - server0) * per:.2f}, "
            f"PostgreSQL {db * per:.2f}"
            + (f" (not counting {ended} backends that ended)" if ended else "")
            + f", load client {(client - client0) * per:.2f}; "
            f"machine {100 * (busy - busy0) / max(1, total - total0):.0f}% busy"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(args: argparse.Namespace) -> int:
    codes = scan_codes(max(5_000, int(args.rate * args.seconds)))
    server = start_gunicorn(args)
    try:
        client = Client(args.port)
        run_load(client, codes, args.rate, 3)  # warm-up: connections, plans, caches
        kind = "sync" if args.threads == 1 else f"gthread ({args.threads} threads each)"
        print(
            f"gunicorn {args.workers} {kind} workers; {args.rate:.0f} requests/s for "
            f"{args.seconds:.0f} s per run; {len(codes):,} distinct packs scanned",
            flush=True,
        )
        medians, p95s = [], []
        for run in range(1, args.runs + 1):
            harness.print_machine_load()
            cpu = RunCpu(server)
            latencies, problems = run_load(client, codes, args.rate, args.seconds)
            median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            medians.append(median)
            p95s.append(p95)
            print(
                f"  run {run}: {len(latencies):,} requests, median {median:.1f} ms, "
                f"p95 {p95:.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
                f"max {max(latencies):.1f} ms, not AUTHENTIC/failed {len(problems)}",
                flush=True,
            )
            print(f"    {cpu.summary(len(latencies))}", flush=True)
            for problem in problems[:3]:
                print(f"    {problem}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    harness.print_machine_load()
    median, p95 = statistics.median(medians), statistics.median(p95s)
    verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
    print(f"median of {args.runs} runs: median {median:.1f} ms, p95 {p95:.1f} ms")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms at {args.rate:.0f} requests/s: {verdict}")
    return 0


def child(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(harness.ROOT))
    import django

    django.setup()
    from traceability.models import Pack

    if args.reuse and Pack.objects.exists():
        print(f"reusing {Pack.objects.count():,} seeded packs", flush=True)
    else:
        seed(args)
    if args.check:
        from traceability import rebuild

        started = time.perf_counter()
        differences = rebuild.differences()
        took = time.perf_counter() - started
        print(f"rebuild_projections --check: {len(differences)} differences ({took:.0f} s)")
        for line in differences[:10]:
            print(f"  {line}")
        if differences:
            return 1
    return measure(args)


def main() -> int:
    args = parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
