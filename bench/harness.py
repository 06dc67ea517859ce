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
import time
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


def backend_pid(connection) -> int | None:
    """The PostgreSQL server process serving `connection`, if its CPU time is readable."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if os.path.exists(f"/proc/{pid}/stat") else None


def backend_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:  # nanoseconds on a CPU: /proc/<pid>/stat counts in 10 ms ticks, a batch's order
        with open(f"/proc/{pid}/schedstat") as schedstat:
            return int(schedstat.read().split()[0]) / 1e9
    except OSError:
        pass
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Measured:
    """Wall-clock and CPU time (this process, and its PostgreSQL backend when
    `backend` is its pid) of one timed block of `events` events, appended to `runs`."""

    def __init__(self, events: int, backend: int | None, runs: list):
        self.events, self.backend, self.runs = events, backend, runs

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.server = backend_cpu(self.backend)
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        own, server = time.process_time() - self.cpu, backend_cpu(self.backend) - self.server
        self.rate = self.events / wall
        self.cpu_rate = self.events / (own + server)
        self.backend_share = server / (own + server)
        self.own_us, self.server_us = own / self.events * 1e6, server / self.events * 1e6
        self.runs.append(self)


def fresh_database(backend: str, pg_server: str, pg_database: str, sqlite_name: str) -> str | None:
    """The URL of an empty database for one benchmark run, or None (having said why)
    when PostgreSQL was asked for and cannot be reached."""
    if backend == "postgres":
        try:
            pg_recreate(pg_server, pg_database)
        except Exception as exc:
            print(f"postgres: skipped: PostgreSQL unreachable at {pg_server} ({exc})")
            return None
        return f"{pg_server}/{pg_database}"
    path = ROOT / "var" / sqlite_name
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def django_migrated() -> None:
    """In the child: set Django up (the parent put its settings in the environment)
    and migrate the fresh database."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
