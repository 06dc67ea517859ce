"""The log's signing key: created once, stored encrypted, never logged."""

import os

import nacl.signing
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction

from ledger.models import LogKey

NONCE_SIZE = 12


def _aad(name: str, public_key: bytes) -> bytes:
    # Binds the ciphertext to its key row, so swapping rows breaks decryption.
    return b"ledger-log-key\n" + name.encode() + b"\n" + public_key


def encrypt_seed(seed: bytes, *, name: str, public_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(settings.LEDGER_KEK).encrypt(nonce, seed, _aad(name, public_key))


def decrypt_seed(blob: bytes, *, name: str, public_key: bytes) -> bytes:
    nonce, ciphertext = blob[:NONCE_SIZE], blob[NONCE_SIZE:]
    return AESGCM(settings.LEDGER_KEK).decrypt(nonce, ciphertext, _aad(name, public_key))


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
