import sys

from django.core.management.base import BaseCommand, CommandError

from traceability.rebuild import ReplayFailed, differences, rebuild


class Command(BaseCommand):
    help = "Replay the ledger into the projections (packs, batches, shipments, keys, ...)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="rebuild aside and exit 1 if anything differs from the live projections",
        )

    def handle(self, *args, check: bool, **options):
        try:
            if check:
                self._check()
            else:
                count = rebuild(progress=self._progress)
                sys.stderr.write("\n")
                self.stdout.write(f"rebuilt the projections from {count:,} ledger entries")
        except ReplayFailed as exc:
            raise CommandError(f"replay failed: {exc}") from None

    def _check(self):
        found = differences()
        if found:
            for line in found:
                self.stderr.write(line)
            raise CommandError(f"projections differ from the ledger ({len(found)} shown)")
        self.stdout.write("projections match the ledger")

    def _progress(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        sys.stderr.write(f"\rreplayed {done:,}/{total:,} entries ({percent}%)")
