"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes.

Besides round trips and tampering, notes made by ledger.note are checked by
a verifier written here from the C2SP signed-note spec with `cryptography`
(not PyNaCl, not note.py's helpers), and against the published example of
golang.org/x/mod/sumdb/note (note_test.go: TestSign, TestOpen,
TestNewVerifier).

Where Go's reference implementation refuses a note, so does note.py.
"""

import base64
import hashlib
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import note

# --- the published golang.org/x/mod/sumdb/note example --------------------------------------------

GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_PETER_SIG

# The signer key is PRIVATE+KEY+<name>+<key id>+base64(0x01 || Ed25519 seed).
PETER_SEED = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
OTHER_SEED = hashlib.sha256(b"another key").digest()
PLUS_SEED = bytes(range(32))  # its public key's base64 happens to contain a '+'

LOG = "example.com/ledger"


def public_key(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


LOG_VKEY = note.verifier_key(LOG, public_key(PETER_SEED))
ROOT = hashlib.sha256(b"some root").digest()


def signed_checkpoint(origin=LOG, size=42, root=ROOT, name=LOG, seed=PETER_SEED):
    return note.sign(note.checkpoint_body(origin, size, root), name, seed)


# --- an independent verifier, from the C2SP signed-note spec --------------------------------------

SIGNATURE_LINE = re.compile(rb"\xe2\x80\x94 ([^ \n]+) ([A-Za-z0-9+/]+={0,2})\n")


class Refused(Exception):
    pass


def independent_open(message: bytes, vkey: str) -> bytes:
    """The note text if `vkey` signed `message`; raise Refused otherwise."""
    # <name>+<8 hex key id>+base64(0x01 || key); base64 may itself contain '+'.
    name, hex_id, key64 = vkey.split("+", 2)
    if not name or re.search(r"\s", name) or not re.fullmatch("[0-9a-f]{8}", hex_id):
        raise Refused("malformed verifier key")
    raw = base64.b64decode(key64, validate=True)
    if len(raw) != 33 or raw[0] != 0x01:
        raise Refused("not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != hex_id:
        raise Refused("key id does not match")
    public = Ed25519PublicKey.from_public_bytes(raw[1:])

    message.decode("utf-8")  # must be valid UTF-8
    if any(byte < 0x20 and byte != 0x0A for byte in message):
        raise Refused("control character")
    split = message.rfind(b"\n\n")
    if split < 0:
        raise Refused("no blank line")
    text, block = message[: split + 1], message[split + 2 :]
    if not block:
        raise Refused("no signatures")
    verified = False
    position = 0
    while position < len(block):
        line = SIGNATURE_LINE.match(block, position)
        if not line:
            raise Refused(f"malformed signature line at {position}")
        position = line.end()
        signature = base64.b64decode(line[2], validate=True)
        if len(signature) < 4:
            raise Refused("signature too short")
        if line[1] != name.encode() or signature[:4] != key_id:
            continue  # an unknown key: ignored
        try:
            public.verify(signature[4:], text)
        except InvalidSignature as exc:
            raise Refused("bad signature") from exc
        verified = True
    if not verified:
        raise Refused("not signed by this key")
    return text


# --- known answers --------------------------------------------------------------------------------


def test_the_go_signer_key_reproduces_the_published_signed_note_exactly():
    assert note.sign(GO_TEXT, "PeterNeumann", PETER_SEED) == GO_NOTE
    assert note.verifier_key("PeterNeumann", public_key(PETER_SEED)) == GO_VKEY


def test_the_published_go_note_opens_with_its_verifier_key():
    assert note.open_note(GO_NOTE, GO_VKEY) == GO_TEXT
    assert independent_open(GO_NOTE.encode(), GO_VKEY) == GO_TEXT.encode()


def test_the_published_go_note_signed_twice_opens_with_either_key():
    both = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    for vkey in (GO_VKEY, GO_ENOCH_VKEY):
        assert note.open_note(both, vkey) == GO_TEXT
        assert independent_open(both.encode(), vkey) == GO_TEXT.encode()


def test_the_published_go_note_with_a_corrupted_signature_is_refused():
    # TestOpen's "invalid signature": four base64 characters inserted at byte 60.
    line = GO_PETER_SIG.encode()
    corrupted = GO_TEXT + "\n" + (line[:60] + b"ABCD" + line[60:]).decode()
    with pytest.raises(note.NoteError, match="signature by PeterNeumann does not verify"):
        note.open_note(corrupted, GO_VKEY)
    with pytest.raises(Refused):
        independent_open(corrupted.encode(), GO_VKEY)


def test_every_mangling_of_the_go_verifier_key_is_refused():
    # TestNewVerifier: every proper substring and every one-character change.
    mangled = {
        GO_VKEY[i:j]
        for i in range(len(GO_VKEY) + 1)
        for j in range(i + 1, len(GO_VKEY) + 1)
        if (i, j) != (0, len(GO_VKEY))
    }
    mangled |= {GO_VKEY[:i] + chr(ord(c) + 1) + GO_VKEY[i + 1 :] for i, c in enumerate(GO_VKEY)}
    accepted = []
    for vkey in sorted(mangled):
        try:
            note.parse_verifier_key(vkey)
        except note.NoteError:
            continue
        accepted.append(vkey)
    assert accepted == []


@pytest.mark.parametrize(
    "vkey",
    [
        # From TestNewVerifier: the key id is right for the bytes, the bytes are wrong.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_a_verifier_key_of_another_length_or_algorithm_is_refused(vkey):
    with pytest.raises(note.NoteError, match="not an Ed25519 key"):
        note.parse_verifier_key(vkey)


# --- round trips ----------------------------------------------------------------------------------


def test_a_verifier_key_parses_back_to_its_name_and_public_key():
    assert note.parse_verifier_key(GO_VKEY) == ("PeterNeumann", public_key(PETER_SEED))
    assert note.parse_verifier_key(LOG_VKEY) == (LOG, public_key(PETER_SEED))
    _, hex_id, _ = LOG_VKEY.split("+", 2)
    assert hex_id == note.key_id(LOG, public_key(PETER_SEED)).hex()


def test_a_verifier_key_whose_base64_contains_a_plus_parses_back():
    # Standard base64 of about half of all keys contains '+'; split at the first two only.
    vkey = note.verifier_key(LOG, public_key(PLUS_SEED))
    assert "+" in vkey.split("+", 2)[2]
    assert note.parse_verifier_key(vkey) == (LOG, public_key(PLUS_SEED))
    checkpoint = signed_checkpoint(seed=PLUS_SEED)
    assert note.open_checkpoint(checkpoint, vkey) == note.Checkpoint(LOG, 42, ROOT)


origins = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
)


@settings(max_examples=100, deadline=None)
@given(
    origins,
    st.integers(min_value=0, max_value=2**64),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)
def test_a_signed_checkpoint_round_trips_origin_size_and_root(origin, size, root, seed):
    signed = signed_checkpoint(origin=origin, size=size, root=root, seed=seed)
    vkey = note.verifier_key(LOG, public_key(seed))
    assert note.parse_verifier_key(vkey) == (LOG, public_key(seed))
    assert note.open_checkpoint(signed, vkey) == note.Checkpoint(origin, size, root)
    body = independent_open(signed.encode(), vkey).decode()
    assert body == f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20
).filter(lambda s: "+" not in s and not any(c.isspace() for c in s))
lines = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=32, max_size=32), names, st.lists(lines, min_size=1, max_size=5))
def test_the_independent_verifier_accepts_what_sign_produces(seed, name, text_lines):
    body = "\n".join(text_lines) + "\n"
    signed = note.sign(body, name, seed)
    vkey = note.verifier_key(name, public_key(seed))
    assert independent_open(signed.encode(), vkey) == body.encode()

    # Exactly one line "\u2014 <name> <base64(key id || Ed25519 signature)>\n" after a blank line.
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + public_key(seed)).digest()[:4]
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(body.encode())
    expected_line = f"\u2014 {name} {base64.b64encode(key_id + signature).decode()}\n"
    assert signed == body + "\n" + expected_line


# --- tampering ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "replacement"),
    [
        (0, "example.com/other"),
        (1, "43"),
        (1, "042"),
        (2, base64.b64encode(hashlib.sha256(b"another root").digest()).decode()),
    ],
    ids=["origin", "size", "size-with-leading-zero", "root"],
)
def test_changing_a_checkpoint_line_breaks_its_signature(line, replacement):
    body, signatures = signed_checkpoint().split("\n\n")
    lines = body.split("\n")
    lines[line] = replacement
    tampered = "\n".join(lines) + "\n\n" + signatures
    with pytest.raises(note.NoteError, match="does not verify"):
        note.open_checkpoint(tampered, LOG_VKEY)
    with pytest.raises(Refused):
        independent_open(tampered.encode(), LOG_VKEY)


def resign_line(signed, change):
    """`signed` with its signature's decoded bytes passed through `change`."""
    body, _, line = signed.rpartition("\n\n")
    prefix, _, encoded = line.rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    change(raw)
    return f"{body}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


@pytest.mark.parametrize("byte", [4, 20, 35, 67])
def test_flipping_a_bit_of_the_signature_is_refused(byte):
    def flip(raw):
        raw[byte] ^= 0x01

    tampered = resign_line(signed_checkpoint(), flip)
    with pytest.raises(note.NoteError, match=f"signature by {re.escape(LOG)} does not verify"):
        note.open_checkpoint(tampered, LOG_VKEY)


def test_a_truncated_signature_is_refused():
    def truncate(raw):
        del raw[-1]

    with pytest.raises(note.NoteError, match="does not verify"):
        note.open_checkpoint(resign_line(signed_checkpoint(), truncate), LOG_VKEY)


def test_a_signature_with_another_key_id_is_ignored_so_the_note_is_refused():
    def flip(raw):
        raw[0] ^= 0x01

    with pytest.raises(note.NoteError, match=f"note is not signed by {re.escape(LOG)}"):
        note.open_checkpoint(resign_line(signed_checkpoint(), flip), LOG_VKEY)


def test_a_note_signed_by_another_key_with_the_same_name_is_refused():
    forged = signed_checkpoint(seed=OTHER_SEED)
    with pytest.raises(note.NoteError, match="note is not signed by"):
        note.open_checkpoint(forged, LOG_VKEY)
    with pytest.raises(Refused):
        independent_open(forged.encode(), LOG_VKEY)


def test_a_note_signed_by_another_key_claiming_the_right_key_id_is_refused():
    real_id = note.key_id(LOG, public_key(PETER_SEED))

    def claim(raw):
        raw[:4] = real_id

    forged = resign_line(signed_checkpoint(seed=OTHER_SEED), claim)
    with pytest.raises(note.NoteError, match="does not verify"):
        note.open_checkpoint(forged, LOG_VKEY)
    with pytest.raises(Refused, match="bad signature"):
        independent_open(forged.encode(), LOG_VKEY)


def test_a_note_signed_by_the_right_key_under_another_name_is_refused():
    renamed = signed_checkpoint(name="example.com/impostor")
    with pytest.raises(note.NoteError, match="note is not signed by"):
        note.open_checkpoint(renamed, LOG_VKEY)


def test_signatures_from_unknown_keys_are_ignored():
    mine = signed_checkpoint()
    theirs = signed_checkpoint(name="witness.example", seed=OTHER_SEED)
    body, _, my_line = mine.rpartition("\n\n")
    their_line = theirs.rpartition("\n\n")[2]
    cosigned = f"{body}\n\n{their_line}{my_line}"
    assert note.open_checkpoint(cosigned, LOG_VKEY) == note.Checkpoint(LOG, 42, ROOT)
    assert independent_open(cosigned.encode(), LOG_VKEY) == (body + "\n").encode()


# --- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("", "must be <name>"),
        ("PeterNeumann", "must be <name>"),
        ("PeterNeumann+c74f20a3", "must be <name>"),
        ("PeterNeumann+c74f20a3+not*base64", "must be <name>"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "must be <name>"),
        ("PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(), "Ed25519"),
        ("PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + bytes(32)).decode(), "Ed25519"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "id does not match"),
        ("PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "id does not match"),
    ],
)
def test_a_malformed_verifier_key_is_refused_with_a_reason(vkey, message):
    with pytest.raises(note.NoteError, match=message):
        note.parse_verifier_key(vkey)
    with pytest.raises(note.NoteError, match=message):
        note.open_checkpoint(GO_NOTE, vkey)


@pytest.mark.parametrize("name", ["", "two words"])
def test_a_verifier_key_with_an_invalid_name_is_refused(name):
    pk = public_key(PETER_SEED)
    encoded = base64.b64encode(note.ED25519 + pk).decode()
    vkey = f"{name}+{note.key_id(name, pk).hex()}+{encoded}"
    with pytest.raises(note.NoteError, match="key name"):
        note.parse_verifier_key(vkey)


def root64(raw=ROOT):
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"o\n12a\n{root64()}\n", "not a decimal number"),
        (f"o\n-1\n{root64()}\n", "not a decimal number"),
        (f"o\n+5\n{root64()}\n", "not a decimal number"),
        (f"o\n 5\n{root64()}\n", "not a decimal number"),
        (f"o\n5 \n{root64()}\n", "not a decimal number"),
        (f"o\n0x10\n{root64()}\n", "not a decimal number"),
        (f"o\n\n{root64()}\n", "not a decimal number"),
        (f"o\n007\n{root64()}\n", "not a decimal number"),
        (f"o\n00\n{root64()}\n", "not a decimal number"),
        ("o\n5\nnot base64!\n", "root is not base64"),
        (f"o\n5\n{root64()[:-1]}\n", "root is not base64"),
        (f"o\n5\n{root64(ROOT[:31])}\n", "not a SHA-256 hash"),
        (f"o\n5\n{root64(ROOT + b'!')}\n", "not a SHA-256 hash"),
        ("o\n5\n", "needs origin, size and root"),
        (f"o\n5\n{root64()}", "needs origin, size and root"),
        ("", "needs origin, size and root"),
    ],
)
def test_a_malformed_checkpoint_is_refused_with_a_reason(body, message):
    with pytest.raises(note.NoteError, match=message):
        note.parse_checkpoint(body)
    with pytest.raises(note.NoteError):
        note.open_checkpoint(note.sign(body, LOG, PETER_SEED), LOG_VKEY)


def test_size_zero_is_the_only_size_written_with_a_leading_zero():
    empty = hashlib.sha256(b"").digest()
    assert note.parse_checkpoint(f"o\n0\n{root64(empty)}\n") == note.Checkpoint("o", 0, empty)
    assert note.parse_checkpoint(f"o\n10\n{root64()}\n").size == 10


def test_extension_lines_after_the_root_are_allowed():
    assert note.parse_checkpoint(f"o\n5\n{root64()}\nextension\n") == note.Checkpoint("o", 5, ROOT)


@pytest.mark.parametrize("size", ["\u0661\u0662", "\u00b2", "\uff11"])
def test_a_checkpoint_size_in_non_ascii_digits_is_refused(size):
    with pytest.raises(note.NoteError, match="not a decimal number"):
        note.parse_checkpoint(f"o\n{size}\n{root64()}\n")


def test_a_checkpoint_with_an_empty_origin_is_refused():
    with pytest.raises(note.NoteError):
        note.parse_checkpoint(f"\n5\n{root64()}\n")


def with_line_after_signature(signed):
    return signed + "Unexpected line.\n"


GOOD = signed_checkpoint()


def sign_unchecked(body):
    """A correctly signed note around a text that note.sign would refuse."""
    key = Ed25519PrivateKey.from_private_bytes(PETER_SEED)
    key_hash = note.key_id(LOG, public_key(PETER_SEED))
    signature = base64.b64encode(key_hash + key.sign(body.encode())).decode()
    return f"{body}\n\u2014 {LOG} {signature}\n"


@pytest.mark.parametrize(
    ("message", "vkey", "reason"),
    [
        pytest.param(GOOD.split("\n\n")[0] + "\n", LOG_VKEY, "no signature block", id="body-only"),
        pytest.param(GOOD.split("\n\n")[0] + "\n\n", LOG_VKEY, "no signature block", id="blank"),
        pytest.param(GOOD[:-1], LOG_VKEY, "no signature block", id="no-final-newline"),
        pytest.param(GOOD.replace("\n\n", "\n"), LOG_VKEY, "no signature block", id="no-blank"),
        pytest.param(GOOD.replace("\u2014 ", "- "), LOG_VKEY, "malformed signature", id="hyphen"),
        pytest.param(
            GOOD.replace("\u2014 ", "\u2014"), LOG_VKEY, "malformed signature", id="glued"
        ),
        pytest.param(GOOD.replace(" ", "  ", 1), LOG_VKEY, "not base64", id="two-spaces"),
        pytest.param(GOOD.rstrip("\n") + "!\n", LOG_VKEY, "not base64", id="not-base64"),
        pytest.param(
            GO_TEXT + "\n\u2014 Bad Name " + GO_PETER_SIG.split(" ")[2],
            GO_VKEY,
            "not base64",
            id="go-bad-name",
        ),
        pytest.param(
            with_line_after_signature(GOOD),
            LOG_VKEY,
            "malformed",
            id="line-after-signature",
        ),
        pytest.param(
            sign_unchecked(f"example.com/log\r\n5\n{root64()}\n"),
            LOG_VKEY,
            "control character",
            id="control-character",
        ),
    ],
)
def test_a_malformed_note_is_refused(message, vkey, reason):
    with pytest.raises(Refused):
        independent_open(message.encode(), vkey)
    with pytest.raises(note.NoteError, match=reason):
        note.open_checkpoint(message, vkey)


@pytest.mark.parametrize("name", ["", "two words", "a+b", "tab\tname", "new\nline"])
def test_sign_refuses_a_key_name_with_spaces_or_plus(name):
    with pytest.raises(note.NoteError, match="must be non-empty, without spaces or '\\+'"):
        note.sign(GO_TEXT, name, PETER_SEED)
    with pytest.raises(note.NoteError):
        note.verifier_key(name, public_key(PETER_SEED))


def test_sign_refuses_a_text_without_a_final_newline():
    with pytest.raises(note.NoteError):
        note.sign("no final newline", LOG, PETER_SEED)


@pytest.mark.parametrize("origin", ["", "two\nlines"])
def test_checkpoint_body_refuses_an_origin_that_is_not_one_line(origin):
    with pytest.raises(note.NoteError, match="origin must be one non-empty line"):
        note.checkpoint_body(origin, 1, ROOT)
