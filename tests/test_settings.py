"""Settings come from the environment; production refuses to run on dev secrets."""

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_django(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "LEDGER_KEK", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "traceability.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = start_django(DEBUG="0", LEDGER_KEK=base64.b64encode(b"k" * 32).decode())
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_refuses_to_start_without_a_key_encryption_key():
    result = start_django(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "LEDGER_KEK must be set when DEBUG is off" in result.stderr


def test_a_key_encryption_key_of_the_wrong_length_or_not_base64_is_refused():
    for kek in [base64.b64encode(b"short").decode(), "not base64 at all!"]:
        result = start_django(LEDGER_KEK=kek)
        assert result.returncode != 0
        assert "LEDGER_KEK must be base64 of exactly 32 bytes" in result.stderr


def test_production_starts_with_its_secrets_from_the_environment():
    kek = base64.b64encode(b"k" * 32).decode()
    result = start_django(DEBUG="0", SECRET_KEY="x" * 50, LEDGER_KEK=kek)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
