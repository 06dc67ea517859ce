"""An outside, reference implementation checks what the ledger serves over HTTP.

The verifier is a small Go program (outside_verifier/main.go) built on
golang.org/x/mod/sumdb/note, the reference C2SP signed-note code, and
golang.org/x/mod/sumdb/tlog, the Go checksum database's RFC 6962 trees. It
shares no code with the ledger: it trusts only the verifier key, opens the
checkpoint, hashes the raw entries itself and checks every proof against the
signed root. Both come from Debian (golang-go, golang-golang-x-mod-dev), so
the build needs no network.
"""

import base64
import copy
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import nacl.signing
import pytest

from ledger import note, storage

pytestmark = pytest.mark.django_db

SOURCE = Path(__file__).resolve().parent / "outside_verifier"
GOPATH = Path("/usr/share/gocode")
X_MOD = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb"
INSTALL = (
    "the outside verifier needs Debian's Go and golang.org/x/mod: "
    "apt-get install -y golang-go golang-golang-x-mod-dev"
)

BATCHES = [1, 254, 1, 3, 256, 97, 88]  # sizes after each: 1 255 256 259 515 612 700
SIZE = sum(BATCHES)
MORE_BATCHES = [1, 36, 300]  # 701 737 1037


def entry(i):
    """Entries of uneven length, some with NUL and high bytes."""
    return f"custody event {i}".encode() + bytes([i % 256]) * (i % 7)


def b64(value):
    return base64.b64encode(value).decode()


@pytest.fixture(scope="session")
def outside_verifier(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip(f"no `go` on PATH; {INSTALL}")
    for package in ("note", "tlog"):
        if not (X_MOD / package).is_dir():
            pytest.skip(f"{X_MOD / package} is missing; {INSTALL}")
    out = tmp_path_factory.mktemp("outside_verifier")
    binary = out / "outside_verifier"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(out / "gocache"),
        "GOPROXY": "off",
        "GOFLAGS": "",
    }
    built = subprocess.run(  # noqa: S603
        [go, "build", "-o", str(binary), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"go build failed:\n{built.stdout}{built.stderr}")
    return binary


def run(binary, payload):
    return subprocess.run(  # noqa: S603
        [str(binary)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def accepted(binary, payload):
    result = run(binary, payload)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def rejected(binary, payload, reason):
    result = run(binary, payload)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAIL"), result.stdout
    assert reason in result.stdout, result.stdout
    return result


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response


def inclusion(client, index, size):
    body = fetch(client, f"/ledger/proof/inclusion?index={index}&size={size}").json()
    return {**body, "leaf_data_b64": b64(entry(index))}


def consistency(client, size1, size2):
    return fetch(client, f"/ledger/proof/consistency?from={size1}&to={size2}").json()


def append_batches(batches, start):
    for count in batches:
        storage.append([entry(i) for i in range(start, start + count)])
        start += count
    return start


@pytest.fixture
def log():
    assert append_batches(BATCHES, 0) == SIZE


@pytest.fixture
def served(client, log):
    vkey = fetch(client, "/ledger/pubkey").content.decode()
    checkpoint = fetch(client, "/ledger/checkpoint").content.decode()
    assert checkpoint.split("\n")[1] == str(SIZE)
    return vkey, checkpoint


def test_reference_go_verifier_accepts_the_signed_checkpoint_and_inclusion_proofs(
    client, served, outside_verifier
):
    vkey, checkpoint = served
    rng = random.Random(9162)
    at_latest = [0, 1, 255, 256, 511, SIZE - 1, *rng.sample(range(SIZE), 10)]
    smaller_sizes = [1, 2, 3, 255, 256, 257, 259, 300, 511, 515, 612, 699]
    at_smaller = [(i, n) for n in smaller_sizes for i in sorted({0, n // 2, n - 1})]
    at_smaller += [(i, n) for n in rng.sample(range(2, SIZE), 6) for i in [rng.randrange(n)]]
    payload = {
        "vkey": vkey,
        "checkpoint": checkpoint,
        "inclusion": [inclusion(client, i, SIZE) for i in at_latest]
        + [inclusion(client, i, n) for i, n in at_smaller],
    }
    total = len(at_latest) + len(at_smaller)
    result = accepted(outside_verifier, payload)
    assert result.stdout == f"OK {total} inclusion, 0 consistency\n"
    # Proofs at smaller sizes were checked against the served roots only ...
    assert f"{len(at_smaller)} inclusion proof(s) checked against served roots" in result.stderr

    # ... until consistency proofs tie every smaller root to the signed one.
    sizes = sorted({n for _, n in at_smaller})
    payload["consistency"] = [consistency(client, n, SIZE) for n in sizes]
    result = accepted(outside_verifier, payload)
    assert result.stdout == f"OK {total} inclusion, {len(sizes)} consistency\n"
    assert result.stderr == ""


def test_reference_go_verifier_accepts_consistency_from_an_old_checkpoint_to_a_new_one(
    client, served, outside_verifier
):
    vkey, old = served
    new_size = append_batches(MORE_BATCHES, SIZE)
    new = fetch(client, "/ledger/checkpoint").content.decode()
    assert new.split("\n")[1] == str(new_size)
    rng = random.Random(6962)
    pairs = [(SIZE, new_size), (1, 1), (1, 2), (1, new_size), (3, 7), (255, 256), (256, 257)]
    pairs += [(256, 512), (257, 700), (511, 1024), (515, 701), (new_size, new_size)]
    pairs += [tuple(sorted(rng.sample(range(1, new_size + 1), 2))) for _ in range(8)]
    payload = {
        "vkey": vkey,
        "checkpoint": new,
        "old_checkpoint": old,
        "consistency": [consistency(client, m, n) for m, n in pairs],
        # Inclusion at the old size is checked against the OLD signed root.
        "inclusion": [inclusion(client, SIZE - 1, SIZE), inclusion(client, new_size - 1, new_size)],
    }
    result = accepted(outside_verifier, payload)
    assert result.stdout == f"OK 2 inclusion, {len(pairs)} consistency\n"
    assert result.stderr == ""


def flip_bit(value, byte=17, bit=3):
    raw = bytearray(base64.b64decode(value))
    raw[byte] ^= 1 << bit
    return b64(bytes(raw))


def alter_size_line(p):
    origin, size, rest = p["checkpoint"].split("\n", 2)
    p["checkpoint"] = f"{origin}\n{int(size) - 1}\n{rest}"


def alter_root_line(p):
    origin, size, root, rest = p["checkpoint"].split("\n", 3)
    p["checkpoint"] = f"{origin}\n{size}\n{flip_bit(root)}\n{rest}"


def flip_inclusion_proof_bit(p):
    proof = p["inclusion"][2]["proof"]
    proof[len(proof) // 2] = flip_bit(proof[len(proof) // 2])


def flip_consistency_proof_bit(p):
    proof = p["consistency"][0]["proof"]
    proof[-1] = flip_bit(proof[-1])


def wrong_leaf_data(p):
    item = p["inclusion"][1]
    del item["leaf_hash"]  # the server's hash is optional; without it only the proof can object
    item["leaf_data_b64"] = b64(entry(item["index"] + 1))


def leaf_data_not_matching_served_hash(p):
    p["inclusion"][1]["leaf_data_b64"] = b64(b"a statement that was never logged")


def served_root_not_the_signed_one(p):
    p["inclusion"][0]["root"] = p["consistency"][0]["from_root"]


def old_checkpoint_without_consistency_proof(p):
    p["consistency"] = []


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (alter_size_line, "checkpoint: note.Open: invalid signature"),
        (alter_root_line, "checkpoint: note.Open: invalid signature"),
        (flip_inclusion_proof_bit, "tlog.CheckRecord"),
        (flip_consistency_proof_bit, "tlog.CheckTree"),
        (wrong_leaf_data, "tlog.CheckRecord"),
        (leaf_data_not_matching_served_hash, "served leaf_hash is not the hash of the leaf data"),
        (served_root_not_the_signed_one, "served root differs from the signed root"),
        (old_checkpoint_without_consistency_proof, "no consistency proof from the old checkpoint"),
    ],
)
def test_reference_go_verifier_rejects_a_tampered_checkpoint_proof_or_leaf(
    client, served, outside_verifier, tamper, reason
):
    vkey, checkpoint = served
    old_size = 515
    anchor = fetch(client, f"/ledger/proof/consistency?from={old_size}&to={SIZE}").json()
    valid = {
        "vkey": vkey,
        "checkpoint": checkpoint,
        "inclusion": [inclusion(client, i, SIZE) for i in [0, 256, 511, 699]],
        "consistency": [anchor],
    }
    accepted(outside_verifier, valid)  # so the rejection below is the tamper's doing
    if tamper is old_checkpoint_without_consistency_proof:
        valid["old_checkpoint"] = checkpoint  # same size: needs no proof
        accepted(outside_verifier, valid)
        storage.append([b"one more"])
        valid["old_checkpoint"] = checkpoint
        valid["checkpoint"] = fetch(client, "/ledger/checkpoint").content.decode()
        valid["consistency"] = [consistency(client, SIZE, SIZE + 1)]
        accepted(outside_verifier, valid)
    payload = copy.deepcopy(valid)
    tamper(payload)
    assert payload != valid
    rejected(outside_verifier, payload, reason)


def test_reference_go_verifier_rejects_a_checkpoint_signed_by_another_key(
    client, served, outside_verifier
):
    vkey, checkpoint = served
    name, _ = note.parse_verifier_key(vkey)
    signed = note.open_checkpoint(checkpoint, vkey)
    impostor = nacl.signing.SigningKey.generate()
    impostor_vkey = note.verifier_key(name, bytes(impostor.verify_key))
    assert impostor_vkey != vkey.strip()
    # The same body, well formed and properly signed, by a key of the same name.
    body = note.checkpoint_body(name, signed.size, signed.root)
    forged = note.sign(body, name, bytes(impostor))
    payload = {
        "vkey": vkey,
        "checkpoint": forged,
        "inclusion": [inclusion(client, 699, SIZE)],
        "consistency": [],
    }
    accepted(outside_verifier, {**payload, "vkey": impostor_vkey})
    rejected(outside_verifier, payload, "checkpoint: note.Open: note has no verifiable signatures")
    # Nor does the impostor's note pass as the old checkpoint.
    payload = {**payload, "checkpoint": checkpoint, "old_checkpoint": forged}
    rejected(outside_verifier, payload, "old checkpoint: note.Open")
