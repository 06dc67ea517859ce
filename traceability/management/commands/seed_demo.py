"""Demo organisations, users, keys, products, batches, shipments and dispensed
packs, all created through the real services (see traceability/demo.py)."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.services import token_create
from traceability.demo import demo_recalled_batch, demo_samples, demo_seed, demo_spec
from traceability.models import Organisation


class Command(BaseCommand):
    help = "Create the demo supply chain; print the demo logins (or everything as --json)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="seed only into an empty database (the default: never seed twice)",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print users and sample packs as one JSON object",
        )

    def handle(self, *args, if_empty: bool, as_json: bool, **options):
        spec = demo_spec()
        if Organisation.objects.exists():
            self.stderr.write("Demo data: the database has organisations already; nothing seeded.")
        else:
            self.stderr.write("Seeding the demo supply chain (signed into the ledger)...")
            demo_seed(spec)
        users = [
            {
                "username": item["user"]["username"],
                "password": item["user"]["password"],
                "org": item["name"],
                "role": item["role"],
                "token": None,
            }
            for item in spec["organisations"]
        ]
        if as_json:
            # Tokens are stored hashed, so each --json run issues fresh ones to print.
            User = get_user_model()
            for u in users:
                user = User.objects.get(username=u["username"])
                _, u["token"] = token_create(user=user, name="demo token (seed_demo --json)")
            payload = {
                "users": users,
                "samples": demo_samples(),
                "recalled_batch": demo_recalled_batch(),
            }
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self.stdout.write("Demo logins (username / password):")
        for u in users:
            self.stdout.write(
                f"  {u['username']:<10} {u['password']:<22} {u['role']:<13} {u['org']}"
            )
