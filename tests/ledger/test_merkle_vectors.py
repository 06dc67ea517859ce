"""The pure Merkle core against transparency-dev/merkle's RFC 9162 vectors."""

import base64
import json
from pathlib import Path

import pytest

from ledger import merkle

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "merkle"


def _b64(value):
    return base64.b64decode(value) if value is not None else b""


def _cases(kind):
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors under {VECTORS}"
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vector(case):
    def verify():
        merkle.verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            _b64(case["leafHash"]),
            [_b64(p) for p in case["proof"] or []],
            _b64(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vector(case):
    def verify():
        merkle.verify_consistency(
            case["size1"],
            case["size2"],
            [_b64(p) for p in case["proof"] or []],
            _b64(case["root1"]),
            _b64(case["root2"]),
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            verify()
    else:
        verify()
