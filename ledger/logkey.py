"""The log's signing key: created once, stored encrypted, never logged."""

import os

import nacl.signing
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction

from ledger.models import LogKey

NONCE_SIZE = 12


def _aad(purpose: str, name: str, public_key: bytes) -> bytes:
    # Binds the ciphertext to its key row, so swapping rows breaks decryption.
    return f"{purpose}\n{name}\n".encode() + public_key


def encrypt_seed(
    seed: bytes, *, name: str, public_key: bytes, purpose: str = "ledger-log-key"
) -> bytes:
    """AES-GCM under LEDGER_KEK; `purpose` and `name` keep each key in its own place."""
    nonce = os.urandom(NONCE_SIZE)
    aad = _aad(purpose, name, public_key)
    return nonce + AESGCM(settings.LEDGER_KEK).encrypt(nonce, seed, aad)


def decrypt_seed(
    blob: bytes, *, name: str, public_key: bytes, purpose: str = "ledger-log-key"
) -> bytes:
    nonce, ciphertext = blob[:NONCE_SIZE], blob[NONCE_SIZE:]
    aad = _aad(purpose, name, public_key)
    return AESGCM(settings.LEDGER_KEK).decrypt(nonce, ciphertext, aad)


def log_key_get_or_create() -> LogKey:
    with transaction.atomic():
        key = LogKey.objects.order_by("-pk").first()
        if key is None:
            signing_key = nacl.signing.SigningKey.generate()
            public_key = bytes(signing_key.verify_key)
            name = settings.LEDGER_ORIGIN
            key = LogKey.objects.create(
                name=name,
                public_key=public_key,
                encrypted_private_key=encrypt_seed(
                    bytes(signing_key), name=name, public_key=public_key
                ),
            )
        return key


def log_key_seed(key: LogKey) -> bytes:
    return decrypt_seed(
        bytes(key.encrypted_private_key), name=key.name, public_key=bytes(key.public_key)
    )
