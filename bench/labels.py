"""Seconds to make the label sheet PDF of a long batch through GET .../labels.pdf.

Commissions one batch of --packs serialized packs, then times the whole request
(bearer auth, scoped lookup, reading the serials, one GS1 DataMatrix per pack,
PDF) --repeats times per layout, and decodes one rendered page with zxing-cpp to
show the output is real.

    .venv/bin/python bench/labels.py                  # PostgreSQL
    .venv/bin/python bench/labels.py --backend sqlite

Target: a 10,000-pack batch in under 15 s (a person waiting for a print job).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import harness

PG_DATABASE = "traceability_bench_labels"
TARGET_SECONDS = 15


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--packs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layouts", default="a4,a4-3x8")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def parent(args: argparse.Namespace) -> int:
    harness.print_machine_load()
    url = harness.fresh_database(args.backend, args.pg_server, PG_DATABASE, "bench-labels.sqlite3")
    if url is None:
        return 0
    return harness.run_child(__file__, args.backend, url, sys.argv[1:])


def decoded_on_first_page(pdf: bytes) -> set[str]:
    import zxingcpp
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "labels.pdf"
        source.write_bytes(pdf)
        subprocess.run(  # noqa: S603
            ["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", source, f"{folder}/p"],  # noqa: S607
            check=True,
        )
        (page,) = Path(folder).glob("p-*.png")
        return {b.symbology_identifier for b in zxingcpp.read_barcodes(Image.open(page))}


def child(args: argparse.Namespace) -> int:
    harness.django_migrated()
    from django.db import connection
    from django.test import Client

    from accounts.services import token_create
    from manufacturers.labels import LAYOUTS
    from tests import factories
    from tests.web.helpers import member_of
    from traceability.commissioning import batch_commission, product_register
    from traceability.models import Organisation

    maker = factories.registered(Organisation.Role.MANUFACTURER, factories.regulator())
    product = product_register(manufacturer=maker, gtin="04000001000012", name="Bench pills 20")
    batch_commission(
        manufacturer=maker,
        product=product,
        lot="BENCH-2026/01",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 1, 31),
        quantity=args.packs,
    )
    _, token = token_create(user=member_of(maker, "bench"), name="bench")
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    url = "/api/v1/batches/04000001000012/BENCH-2026/01/labels.pdf"
    print(f"{connection.vendor}: one batch of {args.packs:,} packs", flush=True)

    medians = []
    for key in args.layouts.split(","):
        layout = LAYOUTS[key]
        seconds, pdf = [], b""
        for _ in range(args.repeats):
            start = time.perf_counter()
            response = http.get(url, {"layout": key})
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200, response.content[:300]
            pdf = response.content
        pages = -(-args.packs // layout.per_sheet)
        found = decoded_on_first_page(pdf)
        medians.append(statistics.median(seconds))
        print(
            f"  {key:<12} median {statistics.median(seconds):6.2f} s"
            f"  (min {min(seconds):.2f}, max {max(seconds):.2f}; {args.repeats} runs)"
            f"  {pages:,} pages, {len(pdf) / 1e6:.1f} MB,"
            f" {statistics.median(seconds) / args.packs * 1e3:.2f} ms/label;"
            f" page 1 decodes as {', '.join(sorted(found))}",
            flush=True,
        )
    verdict = "met" if max(medians) <= TARGET_SECONDS else "MISSED"
    print(f"target <= {TARGET_SECONDS} s for {args.packs:,} packs, {connection.vendor}: {verdict}")
    return 0


def main() -> int:
    args = parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
