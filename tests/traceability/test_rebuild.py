import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from traceability import keys, pack_states
from traceability.models import Pack, Shipment
from traceability.rebuild import ReplayFailed, differences, rebuild, snapshot
from traceability.shipping import packs_decommission, shipment_create, shipment_receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(batch, manufacturer, distributor, pharmacy, regulator):
    """A little of everything: ship, receive, pass on, dispense and undo it, report
    stolen, supply a sample, destroy, revoke."""
    packs = [(p.gtin, p.serial) for p in batch.packs.order_by("pk")]
    first = shipment_create(sender=manufacturer, receiver=distributor, sgtins=packs[:6])
    shipment_receive(receiver=distributor, shipment=first)
    second = shipment_create(sender=distributor, receiver=pharmacy, sgtins=packs[:3])
    shipment_receive(receiver=pharmacy, shipment=second)
    packs_decommission(holder=pharmacy, sgtins=packs[:1], status=Pack.Status.SUPPLIED)
    pack_states.pack_undo_dispense(pharmacy=pharmacy, gtin=packs[0][0], serial=packs[0][1])
    pack_states.pack_report_stolen(holder=pharmacy, gtin=packs[1][0], serial=packs[1][1])
    pack_states.pack_supply_sample(holder=distributor, gtin=packs[5][0], serial=packs[5][1])
    packs_decommission(holder=manufacturer, sgtins=packs[9:], status=Pack.Status.DESTROYED)
    shipment_create(sender=distributor, receiver=pharmacy, sgtins=packs[3:5])  # in transit
    spare = keys.key_register(organisation=pharmacy, registered_by=regulator)
    keys.key_revoke(key=spare, revoked_by=regulator, reason="rotated")
    return packs


def test_replaying_the_ledger_gives_exactly_the_live_projections(history):
    live = snapshot()
    assert rebuild() > 0
    assert snapshot() == live
    assert Shipment.objects.filter(status=Shipment.Status.IN_TRANSIT).count() == 1


def test_check_finds_nothing_when_live_state_matches_the_ledger(history):
    assert differences() == []
    call_command("rebuild_projections", "--check")


def test_check_names_a_projection_edited_behind_the_ledgers_back(history, pharmacy):
    gtin, serial = history[8]
    Pack.objects.filter(gtin=gtin, serial=serial).update(custodian=pharmacy)
    found = differences()
    assert any("packs: live has" in line and serial in line for line in found)
    with pytest.raises(CommandError, match="projections differ from the ledger"):
        call_command("rebuild_projections", "--check")
    # the check rebuilt aside: the edited row is still there
    assert Pack.objects.get(gtin=gtin, serial=serial).custodian == pharmacy


def test_rebuild_repairs_an_edited_projection(history, pharmacy, manufacturer):
    gtin, serial = history[8]
    Pack.objects.filter(gtin=gtin, serial=serial).update(custodian=pharmacy)
    call_command("rebuild_projections")
    assert Pack.objects.get(gtin=gtin, serial=serial).custodian == manufacturer
    assert differences() == []


def test_replay_refuses_an_entry_whose_signature_was_forged(history):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE ledger_entry SET data = CAST(replace(CAST(data AS TEXT), 'destroying',"
            " 'destroyinG') AS BLOB)"
            if connection.vendor == "sqlite"
            else "UPDATE ledger_entry SET data = convert_to(replace(convert_from(data, 'UTF8'),"
            " 'destroying', 'destroyinG'), 'UTF8')"
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    with pytest.raises(ReplayFailed, match=r"entry \d+: signature does not verify"):
        rebuild()
