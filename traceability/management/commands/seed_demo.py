"""Demo data, created through the real services.

For now the demo is a login to explore the ledger with; organisations,
products, custody events and recalls join it as those features land, and
`--json` already prints the shape other tools rely on.
"""

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"


class Command(BaseCommand):
    help = "Create demo users (and, as features land, organisations and custody history)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if any user exists already"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print users and sample packs as one JSON object",
        )

    def handle(self, *args, if_empty: bool, as_json: bool, **options):
        demo = _load_demo()
        User = get_user_model()
        if if_empty and User.objects.exists():
            self.stderr.write("Demo data: database already has users, nothing seeded.")
        else:
            with transaction.atomic():
                for spec in demo["users"]:
                    _user_upsert(User, spec)
        users = [
            {
                "username": u["username"],
                "password": u["password"],
                "org": u["org"],
                "role": u["role"],
                "token": None,
            }
            for u in demo["users"]
        ]
        if as_json:
            samples = {"authentic": [], "dispensed": [], "recalled": []}
            payload = {"users": users, "samples": samples, "recalled_batch": None}
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            self.stdout.write("Demo logins:")
            for u in users:
                self.stdout.write(f"  {u['username']:<12} password: {u['password']}")


def _load_demo() -> dict:
    return json.loads(DEMO_FILE.read_text())


def _user_upsert(User, spec: dict):
    user, _ = User.objects.get_or_create(username=spec["username"])
    user.first_name, user.last_name = spec["first_name"], spec["last_name"]
    user.set_password(spec["password"])
    user.save()
    return user
