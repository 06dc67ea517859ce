"""Who may read which ledger entry over GET /ledger/entries/<index>."""

import pytest
from django.contrib.auth import get_user_model

from tests import factories
from traceability import keys
from traceability.models import Member, Organisation
from traceability.shipping import shipment_create, shipment_receive

pytestmark = pytest.mark.django_db


def login(client, org):
    user = get_user_model().objects.create_user(f"user-of-{org.gln}", password="pw")
    Member.objects.create(user=user, organisation=org)
    client.force_login(user)
    return client


@pytest.fixture
def shipped(batch, manufacturer, distributor):
    packs = [(p.gtin, p.serial) for p in batch.packs.order_by("pk")[:2]]
    shipment = shipment_create(sender=manufacturer, receiver=distributor, sgtins=packs)
    return shipment_receive(receiver=distributor, shipment=shipment)


def status(client, index):
    return client.get(f"/ledger/entries/{index}").status_code


def test_regulator_reads_every_entry(client, regulator, shipped, batch):
    login(client, regulator)
    assert status(client, batch.created_entry) == 200
    assert status(client, shipped.received_entry) == 200


def test_trading_partners_read_the_entries_of_batches_they_handled(
    client, distributor, shipped, batch
):
    login(client, distributor)
    assert status(client, batch.created_entry) == 200  # the batch's commissioning
    assert status(client, shipped.shipped_entry) == 200
    assert status(client, shipped.received_entry) == 200


def test_an_outsider_gets_404_for_entries_of_batches_it_never_handled(
    client, pharmacy, shipped, batch
):
    login(client, pharmacy)
    assert status(client, batch.created_entry) == 404
    assert status(client, shipped.shipped_entry) == 404


def test_a_user_without_an_organisation_reads_no_entry(client, shipped):
    client.force_login(get_user_model().objects.create_user("loner", password="pw"))
    assert status(client, shipped.shipped_entry) == 404


def test_a_party_reads_its_own_statements(client, regulator):
    outsider = factories.organisation(Organisation.Role.PHARMACY)
    key = keys.key_register(organisation=outsider, registered_by=regulator)
    login(client, regulator)
    assert status(client, key.registered_entry) == 200
