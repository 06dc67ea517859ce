"""The pure core (ledger.merkle, ledger.note) runs without Django, for outside auditors."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ONLY = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import ledger.merkle, ledger.note
assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)
"""

# Exercise the core too, in case something imports Django lazily inside a function.
IMPORT_AND_USE = (
    IMPORT_ONLY
    + """
from ledger import merkle, note
leaves = [merkle.leaf_hash(bytes([i])) for i in range(7)]
root = merkle.root(leaves)
plan = merkle.inclusion_plan(3, 7)
proof = [merkle.fold([merkle.root(leaves[i << l:(i + 1) << l]) for l, i in g]) for g in plan]
merkle.verify_inclusion(3, 7, leaves[3], proof, root)
seed = bytes(32)
signing = __import__('nacl.signing').signing.SigningKey(seed)
vkey = note.verifier_key('example.com/log', bytes(signing.verify_key))
signed = note.sign(note.checkpoint_body('example.com/log', 7, root), 'example.com/log', seed)
assert note.open_checkpoint(signed, vkey) == note.Checkpoint('example.com/log', 7, root)
assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)
"""
)


def run_isolated(code):
    # -I ignores PYTHONPATH and the user site; drop the Django settings as well.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=60,
        check=False,
    )


def test_the_pure_core_imports_without_django():
    result = run_isolated(IMPORT_ONLY)
    assert result.returncode == 0, result.stderr


def test_the_pure_core_proves_and_signs_without_django():
    result = run_isolated(IMPORT_AND_USE)
    assert result.returncode == 0, result.stderr
