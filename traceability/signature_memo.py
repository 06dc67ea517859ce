"""Statement signatures verified once per process, remembered by leaf hash.

An entry's leaf hash is SHA-256 over its exact bytes, statement and signature
together, so whether the signature verifies under a public key is a pure
function of (leaf hash, public key): remembering a success vouches for those
bytes and that key only. Callers hash the bytes they just read, so an entry
edited behind the application's back has another leaf hash and is verified
(and refused) afresh, and so is a statement checked against another key.
Only successes are remembered, at most MAX_REMEMBERED, least recently used
forgotten first.
"""

import threading
from collections import OrderedDict

from ledger import merkle
from traceability import statements

MAX_REMEMBERED = 65_536  # about 10 MB per process

_lock = threading.Lock()
_verified: OrderedDict[bytes, None] = OrderedDict()


def _remembered(key: bytes) -> bool:
    with _lock:
        if key in _verified:
            _verified.move_to_end(key)
            return True
    return False


def _remember(key: bytes) -> None:
    with _lock:
        _verified[key] = None
        if len(_verified) > MAX_REMEMBERED:
            _verified.popitem(last=False)


def verify_entry(data: bytes, signed: statements.SignedStatement, public_key: bytes) -> None:
    """statements.verify(signed, public_key) for the statement parsed from entry
    bytes `data`; skipped when these bytes verified under this key before."""
    key = merkle.leaf_hash(data) + public_key
    if _remembered(key):
        return
    statements.verify(signed, public_key)
    _remember(key)
