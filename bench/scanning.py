"""Microseconds per parse_scan call, per input form a scanner or phone hands over,
and per photo decoded with zxing-cpp (the server side of "Photo of the code").

    .venv/bin/python bench/scanning.py

No database: parsing is pure. Target: a scan parsed in well under a millisecond, so
the counter's verdict (which must come in well under a second) is not spent here.
"""

import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import harness  # noqa: E402

GTIN = "09506000134352"
FORMS = {
    "DataMatrix ]d2 + GS": f"]d201{GTIN}1727013110LOT-24/01\x1d21SERIAL00001234",
    "no identifier, AIs reordered": f"21SERIAL00001234\x1d10LOT-24/01\x1d1727013101{GTIN}",
    "human-readable (01)...": f"(01){GTIN}(17)270131(10)LOT-24/01(21)SERIAL00001234",
    "Digital Link": f"https://id.gs1.org/01/{GTIN}/10/LOT-24%2F01/21/SERIAL00001234?17=270131",
    "pipe for FNC1": f"01{GTIN}1727013110LOT-24/01|21SERIAL00001234",
    "SSCC ]C1": "]C100106141412345678908",
    "bad check digit (error)": f"01{GTIN[:-1]}31727013110LOT\x1d21S",
}


def per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> int:
    from tests.barcodes import photo_of, symbol_image
    from traceability.barcode_images import codes_in_image
    from traceability.scanning import ScanError, parse_scan

    harness.print_machine_load()

    def parse(raw):
        separator = "|" if "|" in raw else None
        with contextlib.suppress(ScanError):
            parse_scan(raw, separator=separator)

    print("parse_scan, median of 5 runs of 2,000 calls:")
    for name, raw in FORMS.items():
        runs = [per_call_us(lambda raw=raw: parse(raw), 2_000) for _ in range(5)]
        print(f"  {name:<30} {statistics.median(runs):7.1f} us  (min {min(runs):.1f})")

    photo = io.BytesIO()
    pack = symbol_image(f"[01]{GTIN}[17]270131[10]LOT-24/01[21]SERIAL00001234", scale=10)
    photo_of([pack], size=(3024, 4032)).convert("RGB").save(photo, "JPEG", quality=90)

    class Upload(io.BytesIO):
        size = len(photo.getvalue())

    def decode():
        found = codes_in_image(Upload(photo.getvalue()))
        assert found and found[0].raw.startswith("]d2"), found

    runs = [per_call_us(decode, 1) / 1e3 for _ in range(5)]
    print(
        f"photo decode (12 MP JPEG, one DataMatrix), median of 5: "
        f"{statistics.median(runs):.0f} ms (min {min(runs):.0f})"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "traceability.settings")
    import django

    django.setup()
    sys.exit(main())
