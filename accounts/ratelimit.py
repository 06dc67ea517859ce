"""Failed logins counted in Django's cache, per (username, client IP) pair and per IP.

Fixed windows: a counter lives WINDOW from its first failure. Reaching a limit
locks for WINDOW; while locked, not even the right password gets in (so a
lock cannot be used to test guesses). A successful login clears the pair's
counter. With the per-process LocMemCache each worker process counts on its
own; a shared cache (Redis, Memcached, database) counts for all of them.
"""

import hashlib
import math
import time

from django.core.cache import cache

WINDOW = 15 * 60
PAIR_LIMIT = 5
IP_LIMIT = 20


def _now() -> float:
    return time.time()


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says unless a
    # trusted proxy sets it, and we have no such proxy configured.
    return request.META.get("REMOTE_ADDR", "")


def _keys(username: str, ip: str) -> list[tuple[str, int]]:
    pair = hashlib.sha256(f"{username.strip().casefold()}\0{ip}".encode()).hexdigest()
    per_ip = hashlib.sha256(ip.encode()).hexdigest()
    return [(f"login-fail:pair:{pair}", PAIR_LIMIT), (f"login-fail:ip:{per_ip}", IP_LIMIT)]


def locked_for(username: str, ip: str) -> int:
    """Seconds until this username may try again from this IP; 0 when it may now."""
    now = _now()
    until = max((cache.get(f"{key}:lock", 0) for key, _ in _keys(username, ip)), default=0)
    return max(0, math.ceil(until - now))


def failure_record(username: str, ip: str) -> int:
    """Count one failed login; returns the seconds of the lock it caused, else 0."""
    now = _now()
    locked = 0
    for key, limit in _keys(username, ip):
        cache.add(key, 0, WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW)
            count = 1
        if count >= limit:
            cache.set(f"{key}:lock", now + WINDOW, WINDOW)
            cache.delete(key)
            locked = WINDOW
    return locked


def success_record(username: str, ip: str) -> None:
    pair_key, _ = _keys(username, ip)[0]
    cache.delete(pair_key)
