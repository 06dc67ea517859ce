import base64
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from ledger.audit import AuditFailure, audit


class Command(BaseCommand):
    help = "Ledger maintenance. `ledger verify` recomputes the whole log from its stored bytes."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "verify", help="recompute every leaf, tile and checkpoint; exit 1 on mismatch"
        )

    def handle(self, *args, action, **options):
        if action == "verify":
            self.verify()

    def verify(self):
        started = time.monotonic()
        last_report = {"at": 0.0, "done": -1}

        def progress(done: int, total: int) -> None:
            # Progress goes to stderr at most twice a second, so stdout stays a clean verdict.
            now = time.monotonic()
            if done == last_report["done"]:
                return
            if now - last_report["at"] >= 0.5 or done == total:
                last_report.update(at=now, done=done)
                percent = 100 * done // total if total else 100
                sys.stderr.write(f"\rverified {done:,}/{total:,} entries ({percent}%)")
                sys.stderr.flush()

        try:
            report = audit(progress=progress)
        except AuditFailure as failure:
            sys.stderr.write("\n")
            raise CommandError(f"ledger verify FAILED: {failure}") from None
        sys.stderr.write("\n")
        self.stdout.write(
            f"ledger verify OK: {report.entries:,} entries, {report.tiles:,} tiles, "
            f"{report.checkpoints:,} signed checkpoints; root "
            f"{base64.b64encode(report.root).decode()} "
            f"({time.monotonic() - started:.1f} s)"
        )
