"""C2SP tlog-checkpoint bodies in C2SP signed-note envelopes, Ed25519 keys.

    <origin>\\n<size>\\n<base64 root>\\n          the checkpoint (note text)
    \\n
    \\u2014 <name> <base64(key id || signature)>\\n  one line per signature

The key id is the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public
key); the verifier key is `<name>+<hex key id>+<base64(0x01 || public key)>`.
Plain Python (PyNaCl for Ed25519), no Django, for outside auditors.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
DECIMAL = re.compile(r"0|[1-9][0-9]*")
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # any ASCII control but newline


class NoteError(ValueError):
    """A note or checkpoint is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    _check_name(name)
    encoded = base64.b64encode(ED25519 + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """(name, public key) from a verifier key string."""
    try:
        # Names have no '+', but base64 may: split at the first two only.
        name, hex_id, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("verifier key must be <name>+<key id>+<base64 key>") from exc
    _check_name(name)
    if len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError("verifier key is not an Ed25519 key")
    public_key = raw[1:]
    if key_id(name, public_key).hex() != hex_id:
        raise NoteError("verifier key id does not match its name and key")
    return name, public_key


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    if not origin or "\n" in origin:
        raise NoteError("origin must be one non-empty line")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign(body: str, name: str, seed: bytes) -> str:
    """Sign a note body with the Ed25519 private key `seed` (32 bytes)."""
    _check_name(name)
    _check_text(body)
    key = nacl.signing.SigningKey(seed)
    signature = key.sign(body.encode()).signature
    encoded = base64.b64encode(key_id(name, bytes(key.verify_key)) + signature).decode()
    return f"{body}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def _check_text(body: str) -> None:
    if not body.endswith("\n") or CONTROL.search(body):
        raise NoteError("note text must end in a newline and hold no control characters")


def _signature_lines(block: str) -> list[tuple[str, bytes]]:
    """Every line of a signature block as (signer name, key id || signature)."""
    lines = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        signer, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError("signature is not base64") from exc
        if not signer or len(raw) < 5:
            raise NoteError(f"malformed signature line {line!r}")
        lines.append((signer, raw))
    return lines


def open_note(note: str, vkey: str) -> str:
    """Return the note's body if `vkey` has signed it; raise NoteError otherwise.

    Every signature by that key must verify; signatures by other keys are
    ignored, as the signed-note spec says.
    """
    name, public_key = parse_verifier_key(vkey)
    body, sep, block = note.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise NoteError("note has no signature block")
    body += "\n"
    _check_text(body)
    wanted_id = key_id(name, public_key)
    verified = False
    for signer, raw in _signature_lines(block):
        if signer != name or raw[:4] != wanted_id:
            continue
        try:
            nacl.signing.VerifyKey(public_key).verify(body.encode(), raw[4:])
        except (nacl.exceptions.BadSignatureError, ValueError) as exc:
            raise NoteError(f"signature by {name} does not verify") from exc
        verified = True
    if not verified:
        raise NoteError(f"note is not signed by {name}")
    return body


def parse_checkpoint(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("checkpoint needs origin, size and root lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError("checkpoint origin line is empty")
    if not DECIMAL.fullmatch(size):
        raise NoteError(f"checkpoint size {size!r} is not a decimal number")
    try:
        root_bytes = base64.b64decode(root, validate=True)
    except binascii.Error as exc:
        raise NoteError("checkpoint root is not base64") from exc
    if len(root_bytes) != 32:
        raise NoteError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin=origin, size=int(size), root=root_bytes)


def open_checkpoint(note: str, vkey: str) -> Checkpoint:
    """Verify a signed checkpoint and return what it commits to."""
    return parse_checkpoint(open_note(note, vkey))
