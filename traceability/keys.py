"""Organisation signing keys: bootstrap the regulator's root, register, revoke,
and sign with custodial keys on behalf of web users."""

import base64
import logging

import nacl.signing
from cryptography.exceptions import InvalidTag
from django.db import transaction

from ledger.logkey import decrypt_seed, encrypt_seed
from traceability import statements
from traceability.models import CustodialKey, Organisation, SigningKey
from traceability.statement_log import statements_append

PURPOSE = "organisation-signing-key"
log = logging.getLogger(__name__)


class KeyRefused(ValueError):
    """A key operation that is not allowed; the message says why."""


def organisation_body(org: Organisation) -> dict:
    return {
        "gln": org.gln,
        "name": org.name,
        "role": org.role,
        "licence_number": org.licence_number,
        "country": org.country,
    }


def _custodial_create(seed: bytes, public_key: bytes) -> str:
    key_id = statements.key_id(public_key)
    CustodialKey.objects.create(
        key_id=key_id,
        encrypted_seed=encrypt_seed(seed, name=key_id, public_key=public_key, purpose=PURPOSE),
    )
    return key_id


def custodial_seed(key: SigningKey) -> bytes:
    try:
        stored = CustodialKey.objects.get(key_id=key.key_id)
    except CustodialKey.DoesNotExist:
        raise KeyRefused(f"key {key.key_id} is not custodial: its owner signs themselves") from None
    try:
        return decrypt_seed(
            bytes(stored.encrypted_seed),
            name=key.key_id,
            public_key=bytes(key.public_key),
            purpose=PURPOSE,
        )
    except InvalidTag:
        # Another LEDGER_KEK than the one it was sealed with, or an edited key row:
        # the operator must act, and nothing may be signed meanwhile.
        log.error("custodial key %s does not decrypt under this LEDGER_KEK", key.key_id)
        raise KeyRefused(
            f"the signing key {key.key_id} cannot be unlocked on this server (its "
            "key-encryption key differs or the key was altered); nothing was signed. "
            "Ask the platform operator."
        ) from None


def custodial_key_for(org: Organisation) -> SigningKey:
    key = (
        SigningKey.objects.filter(organisation=org, status=SigningKey.Status.ACTIVE)
        .filter(key_id__in=CustodialKey.objects.values("key_id"))
        .order_by("-created_at")
        .first()
    )
    if key is None:
        raise KeyRefused(f"{org.name} has no active custodial key; a regulator must register one")
    return key


def custodial_sign(*, organisation: Organisation, kind: str, body: dict):
    """A statement signed with the organisation's custodial key (web users' path)."""
    key = custodial_key_for(organisation)
    statement = statements.build(kind=kind, body=body, org=organisation.gln, key=key.key_id)
    return statements.sign(statement, custodial_seed(key))


def custodial_signer(organisation: Organisation):
    """sign(kind, body) for many statements with one key: decrypted once, not per statement."""
    key = custodial_key_for(organisation)
    seed = custodial_seed(key)

    signing_key = nacl.signing.SigningKey(seed)

    def sign(kind: str, body: dict) -> statements.SignedStatement:
        """Canonicalized once and sealed (statements.sign_canonical): the caller
        must not alter `body` afterwards."""
        statement = statements.build(kind=kind, body=body, org=organisation.gln, key=key.key_id)
        return statements.sign_canonical(statement, signing_key)

    return sign


@transaction.atomic
def root_bootstrap(*, regulator: Organisation) -> SigningKey:
    """Create the regulator's root key: the trust anchor every verifier pins."""
    if regulator.role != Organisation.Role.REGULATOR:
        raise KeyRefused("the root key belongs to a regulator")
    if SigningKey.objects.filter(is_root=True).exists():
        raise KeyRefused("a root key exists already; rotate it with a key statement instead")
    signing_key = nacl.signing.SigningKey.generate()
    public_key = bytes(signing_key.verify_key)
    key_id = _custodial_create(bytes(signing_key), public_key)
    key = SigningKey.objects.create(
        organisation=regulator, key_id=key_id, public_key=public_key, is_root=True
    )
    body = {
        "org": organisation_body(regulator),
        "key": {"id": key_id, "public_key": base64.b64encode(public_key).decode()},
    }
    statement = statements.build(kind="root.establish", body=body, org=regulator.gln, key=key_id)
    statements_append([statements.sign(statement, bytes(signing_key))])
    key.refresh_from_db()
    return key


@transaction.atomic
def key_register(
    *, organisation: Organisation, registered_by: Organisation, public_key: bytes | None = None
) -> SigningKey:
    """Register a key for `organisation`, signed by the regulator `registered_by`.

    Without `public_key` a custodial key is generated and kept encrypted.
    """
    if public_key is None:
        signing_key = nacl.signing.SigningKey.generate()
        public_key = bytes(signing_key.verify_key)
        key_id = _custodial_create(bytes(signing_key), public_key)
    elif len(public_key) != 32:
        raise KeyRefused("public_key must be a 32-byte Ed25519 key")
    else:
        key_id = statements.key_id(public_key)
    if SigningKey.objects.filter(key_id=key_id).exists():
        raise KeyRefused(f"key {key_id} is registered already")
    body = {
        "org": organisation_body(organisation),
        "key": {"id": key_id, "public_key": base64.b64encode(public_key).decode()},
    }
    signed = custodial_sign(organisation=registered_by, kind="key.register", body=body)
    statements_append([signed])
    return SigningKey.objects.get(key_id=key_id)


@transaction.atomic
def key_revoke(*, key: SigningKey, revoked_by: Organisation, reason: str) -> SigningKey:
    key = SigningKey.objects.select_for_update().get(pk=key.pk)
    if key.status == SigningKey.Status.REVOKED:
        raise KeyRefused(f"key {key.key_id} is revoked already")
    if key.is_root:
        raise KeyRefused("the root key cannot revoke itself; establish a new root instead")
    body = {"org": key.organisation.gln, "key": {"id": key.key_id}, "reason": reason}
    signed = custodial_sign(organisation=revoked_by, kind="key.revoke", body=body)
    statements_append([signed])
    key.refresh_from_db()
    return key
