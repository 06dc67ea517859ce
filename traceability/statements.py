"""Signed statements: the bytes every participant signs and the ledger stores.

    statement = {"v": 1, "kind": ..., "body": {...},
                 "signer": {"org": <GLN>, "key": <key id>},
                 "issued_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "nonce": <base64, 16 bytes>}
    signed bytes = DOMAIN + JCS(statement)            (RFC 8785 canonical JSON)
    entry bytes  = JCS({"statement": statement, "signature": <base64 Ed25519>})

The key id is the first 16 hex digits of SHA-256(public key). The domain
prefix keeps a statement signature from being valid in any other protocol.
No Django here: API clients and auditors can use this module alone.
"""

import base64
import binascii
import contextlib
import functools
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import nacl.exceptions
import nacl.signing
import orjson
import rfc8785

VERSION = 1
DOMAIN = b"drug-traceability/statement/v1\n"
NONCE_BYTES = 16
MAX_ENTRY_BYTES = 64 * 1024
ISSUED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
KIND = re.compile(r"[a-z_.]{1,40}")
GLN = re.compile(r"[0-9]{13}")
KEY_ID = re.compile(r"[0-9a-f]{16}")
FIELDS = {"v", "kind", "body", "signer", "issued_at", "nonce"}
SAFE_INTEGER = 2**53 - 1  # beyond it a JSON number is not an exact integer
VERIFY_THREADS = min(4, os.cpu_count() or 1)
VERIFY_PER_THREAD = 100  # fewer statements than this are not worth a thread


class StatementError(ValueError):
    """A statement is malformed or its signature does not verify; the message says which field."""


@dataclass(frozen=True)
class SignedStatement:
    statement: dict
    signature: bytes
    # JCS(statement), computed once by parse(): the bytes that were verified
    # are then exactly the bytes stored. sign() leaves it unset.
    canonical: bytes | None = field(default=None, compare=False, repr=False)
    # (public key, signature, canonical bytes) as sign_canonical made them in this
    # process. A statement whose seal still matches its own signature and bytes
    # under the key it is checked against is not verified again: an Ed25519
    # signature made with a key over some bytes verifies for that key and those
    # bytes. Anything altered since (another signature, other bytes) is verified.
    seal: tuple[bytes, bytes, bytes] | None = field(default=None, compare=False, repr=False)

    def canonical_bytes(self) -> bytes:
        return self.canonical if self.canonical is not None else _jcs(self.statement)

    @property
    def kind(self) -> str:
        return self.statement["kind"]

    @property
    def body(self) -> dict:
        return self.statement["body"]

    @property
    def signer_org(self) -> str:
        return self.statement["signer"]["org"]

    @property
    def signer_key(self) -> str:
        return self.statement["signer"]["key"]

    @property
    def nonce(self) -> str:
        return self.statement["nonce"]

    @property
    def issued_at(self) -> datetime:
        return datetime.fromisoformat(self.statement["issued_at"])

    def entry_bytes(self) -> bytes:
        """JCS({"statement": ..., "signature": ...}), built around the statement's JCS
        bytes: "signature" sorts first, and base64 needs no escaping."""
        signature = base64.b64encode(self.signature)
        return b'{"signature":"' + signature + b'","statement":' + self.canonical_bytes() + b"}"


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(*, kind: str, body: dict, org: str, key: str, issued_at: str | None = None) -> dict:
    """A new statement with a fresh nonce, ready to sign."""
    return {
        "v": VERSION,
        "kind": kind,
        "body": body,
        "signer": {"org": org, "key": key},
        "issued_at": issued_at or now_iso(),
        "nonce": base64.b64encode(os.urandom(NONCE_BYTES)).decode(),
    }


def _plain(value) -> bool:
    """Strings, safe integers, booleans and null, in objects with ASCII keys and
    arrays: JSON that json.dumps (or orjson) with sorted keys writes exactly as
    RFC 8785 does. Floats (ECMAScript number formatting) and non-ASCII keys (sorted by
    UTF-16 code units) are not plain."""
    if isinstance(value, str) or value is None or type(value) is bool:
        return True
    if type(value) is int:
        return -SAFE_INTEGER <= value <= SAFE_INTEGER
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and not _plain(item):  # most values are strings
                return False
        return True
    if type(value) is list:
        for item in value:  # noqa: SIM110 (all() over a generator: the frames this saves)
            if type(item) is not str and not _plain(item):
                return False
        return True
    return False


def _jcs(statement: dict) -> bytes:
    try:
        if _plain(statement):
            with contextlib.suppress(orjson.JSONEncodeError):  # json.dumps names the problem
                return orjson.dumps(statement, option=orjson.OPT_SORT_KEYS)
            text = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode()  # UnicodeEncodeError for a lone surrogate
        return rfc8785.dumps(statement)
    except UnicodeEncodeError:
        raise StatementError("statement cannot be canonicalized: a string is not UTF-8") from None
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise StatementError(f"statement cannot be canonicalized: {exc}") from None
    except RecursionError:
        raise StatementError("statement cannot be canonicalized: nested too deeply") from None


def signing_bytes(statement: dict) -> bytes:
    """Exactly what a signer signs: the domain prefix, then the statement's JCS bytes."""
    return DOMAIN + _jcs(statement)


def sign(statement: dict, seed: bytes) -> SignedStatement:
    check_shape(statement)
    signature = nacl.signing.SigningKey(seed).sign(signing_bytes(statement)).signature
    return SignedStatement(statement=statement, signature=signature)


def sign_canonical(statement: dict, signing_key: nacl.signing.SigningKey) -> SignedStatement:
    """sign() for a signer holding its key: canonicalized once, so that the bytes
    signed are the bytes stored, and sealed (SignedStatement.seal), so that
    checking the statement does not verify the signature just made. The caller
    must not alter `statement` afterwards."""
    check_shape(statement)
    message = signing_bytes(statement)
    signature = signing_key.sign(message).signature
    canonical = message.removeprefix(DOMAIN)
    seal = (bytes(signing_key.verify_key), signature, canonical)
    return SignedStatement(statement, signature, canonical=canonical, seal=seal)


def verify(signed: SignedStatement, public_key: bytes) -> None:
    problem = _problem(signed, _verifier_of(public_key), public_key)
    if problem is not None:
        raise StatementError(problem)


def verify_each(
    batch: Sequence[SignedStatement], public_keys: Sequence[bytes | None]
) -> list[str | None]:
    """verify() every statement with its public key (None: skip it): for each,
    why it does not verify, or None."""
    return verify_each_started(batch, public_keys)()


def verify_each_started(
    batch: Sequence[SignedStatement], public_keys: Sequence[bytes | None]
) -> Callable[[], list[str | None]]:
    """Start verify_each on other threads; call the result to wait for its answer.

    libsodium releases the GIL, so the caller goes on while every core verifies.
    Batches too small to be worth a thread are verified before this returns."""

    def problems(start: int, stop: int) -> list[str | None]:
        verifiers: dict[bytes, tuple] = {}  # one per key, not per statement
        found = []
        for signed, public_key in zip(batch[start:stop], public_keys[start:stop], strict=True):
            if public_key is None:
                found.append(None)
                continue
            if public_key not in verifiers:
                verifiers[public_key] = _verifier_of(public_key)
            found.append(_problem(signed, verifiers[public_key], public_key))
        return found

    threads = min(VERIFY_THREADS, len(batch) // VERIFY_PER_THREAD)
    if threads < 2:
        found = problems(0, len(batch))
        return lambda: found
    bounds = [len(batch) * i // threads for i in range(threads + 1)]
    parts = [_verifier().submit(problems, a, b) for a, b in itertools.pairwise(bounds)]
    return lambda: [problem for part in parts for problem in part.result()]


def _verifier_of(public_key: bytes) -> tuple[str, nacl.signing.VerifyKey | None]:
    """The key's id, and the key ready to verify (None: not an Ed25519 key, nothing verifies)."""
    try:
        return key_id(public_key), nacl.signing.VerifyKey(public_key)
    except ValueError:
        return key_id(public_key), None


def _problem(signed: SignedStatement, verifier: tuple, public_key: bytes) -> str | None:
    """Why `signed` does not verify under `public_key` (verifier: _verifier_of it), or None."""
    identity, key = verifier
    if identity != signed.signer_key:
        return "signer.key does not identify the key that should verify it"
    if signed.seal is not None and signed.seal == (
        public_key,
        signed.signature,
        signed.canonical_bytes(),
    ):
        return None  # signed here, with this key, over exactly these bytes
    try:
        if key is None:
            raise ValueError("not an Ed25519 key")
        key.verify(DOMAIN + signed.canonical_bytes(), signed.signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        return "signature does not verify for signer.key"
    return None


@functools.cache
def _verifier() -> ThreadPoolExecutor:
    # Made on first use, so that a forking server makes one in each worker.
    return ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="verify")


# A forked child has none of its parent's threads: a pool it inherited would
# take work and never do it, so the child makes its own.
os.register_at_fork(after_in_child=_verifier.cache_clear)


def check_shape(statement) -> None:
    """Field-by-field structure checks, naming the first bad field."""
    if not isinstance(statement, dict):
        raise StatementError("statement must be a JSON object")
    missing, extra = FIELDS - statement.keys(), statement.keys() - FIELDS
    if missing:
        raise StatementError(f"statement is missing {', '.join(sorted(missing))}")
    if extra:
        raise StatementError(f"statement has unknown field {', '.join(sorted(extra))}")
    if statement["v"] != VERSION or isinstance(statement["v"], bool):
        raise StatementError(f"v must be {VERSION}")
    if not isinstance(statement["kind"], str) or not KIND.fullmatch(statement["kind"]):
        raise StatementError("kind must be a short lower-case name such as 'ship'")
    if not isinstance(statement["body"], dict):
        raise StatementError("body must be a JSON object")
    signer = statement["signer"]
    if not isinstance(signer, dict) or set(signer) != {"org", "key"}:
        raise StatementError('signer must be {"org": <GLN>, "key": <key id>}')
    if not isinstance(signer["org"], str) or not GLN.fullmatch(signer["org"]):
        raise StatementError("signer.org must be the signer's 13-digit GLN")
    if not isinstance(signer["key"], str) or not KEY_ID.fullmatch(signer["key"]):
        raise StatementError("signer.key must be a 16 hex digit key id")
    if not isinstance(statement["issued_at"], str) or not ISSUED_AT.fullmatch(
        statement["issued_at"]
    ):
        raise StatementError("issued_at must be UTC RFC 3339, e.g. 2026-11-23T09:30:00Z")
    try:
        nonce = base64.b64decode(statement["nonce"], validate=True)
    except (binascii.Error, TypeError):
        nonce = b""
    if len(nonce) != NONCE_BYTES:
        raise StatementError(f"nonce must be base64 of {NONCE_BYTES} random bytes")


def parse(data: dict) -> SignedStatement:
    """A submitted {"statement": ..., "signature": ...} object, shape-checked (not verified)."""
    if not isinstance(data, dict) or set(data) != {"statement", "signature"}:
        raise StatementError('expected {"statement": {...}, "signature": "<base64>"}')
    check_shape(data["statement"])
    try:
        signature = base64.b64decode(data["signature"], validate=True)
    except (binascii.Error, TypeError):
        signature = b""
    if len(signature) != 64:
        raise StatementError("signature must be base64 of a 64-byte Ed25519 signature")
    statement = data["statement"]
    signed = SignedStatement(statement=statement, signature=signature, canonical=_jcs(statement))
    if len(signed.entry_bytes()) > MAX_ENTRY_BYTES:
        raise StatementError(f"statement is larger than {MAX_ENTRY_BYTES} bytes")
    return signed


def parse_entry(entry: bytes) -> SignedStatement:
    """A ledger entry's bytes back into a signed statement."""
    try:
        return parse(json.loads(entry))
    except json.JSONDecodeError as exc:
        raise StatementError(f"entry is not JSON: {exc}") from None
