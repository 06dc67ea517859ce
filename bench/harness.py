"""What every benchmark needs: a fresh database and a child process set up on it.

Each benchmark script runs itself again as a child with DATABASE_URL and
production-like settings (DEBUG off, throwaway secrets) in the environment,
so Django is configured before anything imports it.
"""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def print_machine_load() -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (a busy machine lowers every figure)")


def pg_recreate(server: str, name: str) -> None:
    """Drop and create database `name` on `server` (a postgres:// URL without a path)."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def run_child(script: str, backend: str, database_url: str, argv: list[str]) -> int:
    """Run `script` again as `--child <backend>` against `database_url`; its exit code."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="traceability.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        LEDGER_KEK=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    cmd = [sys.executable, str(Path(script).resolve()), *argv, "--child", backend]
    return subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode  # noqa: S603
