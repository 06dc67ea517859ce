import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import nacl.signing
import pytest

from ledger import storage
from ledger.models import Entry
from tests import factories
from traceability import keys, statements
from traceability.models import CustodialKey, Organisation, SigningKey, StatementRecord
from traceability.statement_log import StatementRejected, statements_append

pytestmark = pytest.mark.django_db


def client_key(org, regulator):
    private = nacl.signing.SigningKey.generate()
    keys.key_register(
        organisation=org, registered_by=regulator, public_key=bytes(private.verify_key)
    )
    return private


def client_statement(org, private, **overrides):
    statement = statements.build(
        kind="note",
        body={"text": "hello"},
        org=org.gln,
        key=statements.key_id(bytes(private.verify_key)),
    )
    statement.update(overrides)
    return statements.sign(statement, bytes(private))


def entry_statement(index):
    return statements.parse_entry(bytes(Entry.objects.get(index=index).data))


def test_root_statement_verifies_from_the_log_and_the_root_key_alone(regulator):
    root = SigningKey.objects.get(is_root=True)
    signed = entry_statement(root.registered_entry)
    assert signed.kind == "root.establish"
    assert signed.body["org"]["gln"] == regulator.gln
    statements.verify(signed, bytes(root.public_key))


def test_the_root_key_can_only_be_bootstrapped_once(regulator):
    with pytest.raises(keys.KeyRefused, match="a root key exists already"):
        keys.root_bootstrap(regulator=regulator)


def test_only_a_regulator_holds_the_root_key():
    pharmacy = factories.organisation(Organisation.Role.PHARMACY)
    with pytest.raises(keys.KeyRefused, match="belongs to a regulator"):
        keys.root_bootstrap(regulator=pharmacy)


def test_key_registration_is_a_regulator_signed_statement_in_the_log(manufacturer, regulator):
    key = SigningKey.objects.get(organisation=manufacturer)
    signed = entry_statement(key.registered_entry)
    assert (signed.kind, signed.signer_org) == ("key.register", regulator.gln)
    assert signed.body["key"]["public_key"] == base64.b64encode(bytes(key.public_key)).decode()
    regulator_key = SigningKey.objects.get(key_id=signed.signer_key)
    statements.verify(signed, bytes(regulator_key.public_key))


def test_web_users_sign_with_their_organisations_custodial_key(manufacturer):
    signed = keys.custodial_sign(organisation=manufacturer, kind="note", body={"text": "hi"})
    (record,) = statements_append([signed])
    assert record.organisation == manufacturer
    assert entry_statement(record.entry) == signed


def test_a_batch_signed_with_the_custodial_key_stores_exactly_the_bytes_it_signed(manufacturer):
    sign = keys.custodial_signer(manufacturer)
    batch = [sign("note", {"text": f"hi {i}"}) for i in range(3)]
    records = statements_append(batch)  # its own signatures are not verified again
    key = SigningKey.objects.get(organisation=manufacturer)
    for signed, record in zip(batch, records, strict=True):
        stored = bytes(Entry.objects.get(index=record.entry).data)
        assert stored == signed.entry_bytes()
        statements.verify(statements.parse_entry(stored), bytes(key.public_key))


def test_a_custodial_signature_altered_after_signing_is_verified_and_refused(manufacturer):
    sign = keys.custodial_signer(manufacturer)
    signed = sign("note", {"text": "hello"})
    other_signature = dataclasses.replace(signed, signature=sign("note", {}).signature)
    other_bytes = dataclasses.replace(
        signed, canonical=signed.canonical.replace(b"hello", b"hullo")
    )
    for forged in (other_signature, other_bytes):
        refused_without_writing([forged], r"statement\[0\]: signature does not verify")


def test_a_statement_sealed_by_another_key_than_the_registered_one_is_refused(manufacturer):
    key = SigningKey.objects.get(organisation=manufacturer)
    statement = statements.build(kind="note", body={}, org=manufacturer.gln, key=key.key_id)
    impostor = nacl.signing.SigningKey.generate()
    signed = statements.sign_canonical(statement, impostor)
    refused_without_writing([signed], r"statement\[0\]: signature does not verify")


def test_custodial_private_keys_are_encrypted_at_rest(manufacturer):
    key = SigningKey.objects.get(organisation=manufacturer)
    seed = keys.custodial_seed(key)
    assert seed not in bytes(CustodialKey.objects.get(key_id=key.key_id).encrypted_seed)
    assert bytes(nacl.signing.SigningKey(seed).verify_key) == bytes(key.public_key)


def test_a_server_started_with_another_kek_refuses_to_sign_and_says_why(
    manufacturer, settings, caplog
):
    settings.LEDGER_KEK = bytes(32)
    with pytest.raises(keys.KeyRefused, match="cannot be unlocked on this server"):
        keys.custodial_sign(organisation=manufacturer, kind="note", body={"text": "hi"})
    assert "does not decrypt under this LEDGER_KEK" in caplog.text
    assert not StatementRecord.objects.filter(kind="note").exists()


def test_a_manufacturer_cannot_register_keys(manufacturer):
    other = factories.organisation()
    with pytest.raises(StatementRejected, match=r"only a regulator may sign 'key\.register'"):
        keys.key_register(organisation=other, registered_by=manufacturer)
    assert not SigningKey.objects.filter(organisation=other).exists()


def test_an_api_client_signs_with_its_own_key(regulator):
    distributor = factories.organisation(Organisation.Role.DISTRIBUTOR)
    private = client_key(distributor, regulator)
    (record,) = statements_append([client_statement(distributor, private)])
    assert record.key.key_id == statements.key_id(bytes(private.verify_key))
    assert not CustodialKey.objects.filter(key_id=record.key.key_id).exists()
    with pytest.raises(keys.KeyRefused, match="is not custodial"):
        keys.custodial_seed(record.key)


def refused_without_writing(batch, message):
    size = storage.head_size()
    records = StatementRecord.objects.count()
    with pytest.raises(StatementRejected, match=message):
        statements_append(batch)
    assert storage.head_size() == size
    assert StatementRecord.objects.count() == records


def test_a_replayed_statement_is_refused_and_nothing_is_written(regulator):
    org = factories.organisation(Organisation.Role.DISTRIBUTOR)
    private = client_key(org, regulator)
    signed = client_statement(org, private)
    statements_append([signed])
    refused_without_writing([signed], r"statement\[0\]: nonce was already used")
    refused_without_writing(
        [client_statement(org, private), signed], r"statement\[1\]: nonce was already used"
    )


def test_the_same_nonce_twice_in_one_batch_is_refused(regulator):
    org = factories.organisation(Organisation.Role.DISTRIBUTOR)
    private = client_key(org, regulator)
    signed = client_statement(org, private)
    refused_without_writing([signed, signed], r"statement\[1\]: nonce is used twice")


def test_one_bad_signature_refuses_the_whole_batch(regulator):
    org = factories.organisation(Organisation.Role.DISTRIBUTOR)
    private = client_key(org, regulator)
    good = client_statement(org, private)
    bad = client_statement(org, private)
    bad.statement["body"]["text"] = "altered after signing"
    refused_without_writing([good, bad], r"statement\[1\]: signature does not verify")


def test_an_unregistered_key_is_refused(regulator):
    org = factories.organisation(Organisation.Role.PHARMACY)
    stranger = nacl.signing.SigningKey.generate()
    refused_without_writing([client_statement(org, stranger)], "is not registered")


def test_a_key_used_in_another_organisations_name_is_refused(regulator):
    org = factories.organisation(Organisation.Role.PHARMACY)
    victim = factories.organisation(Organisation.Role.PHARMACY)
    private = client_key(org, regulator)
    signed = client_statement(
        org,
        private,
        signer={"org": victim.gln, "key": statements.key_id(bytes(private.verify_key))},
    )
    refused_without_writing([signed], "signer.org does not own signer.key")


def test_a_revoked_key_is_refused(regulator):
    org = factories.organisation(Organisation.Role.PHARMACY)
    private = client_key(org, regulator)
    key = SigningKey.objects.get(organisation=org)
    keys.key_revoke(key=key, revoked_by=regulator, reason="laptop stolen")
    refused_without_writing([client_statement(org, private)], "is revoked")
    revocation = entry_statement(SigningKey.objects.get(pk=key.pk).revoked_entry)
    assert revocation.kind == "key.revoke"
    assert revocation.body["reason"] == "laptop stolen"


def test_a_statement_from_the_future_is_refused(regulator):
    org = factories.organisation(Organisation.Role.PHARMACY)
    private = client_key(org, regulator)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refused_without_writing([client_statement(org, private, issued_at=later)], "in the future")


def test_statements_in_the_ledger_are_canonical_json(manufacturer):
    signed = keys.custodial_sign(organisation=manufacturer, kind="note", body={"b": 1, "a": 2})
    (record,) = statements_append([signed])
    raw = bytes(Entry.objects.get(index=record.entry).data)
    assert raw.startswith(b'{"signature":"')
    assert json.loads(raw)["statement"]["body"] == {"a": 2, "b": 1}
