from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ledger import storage
from tests import factories
from tests.traceability.test_verification import verify
from tests.web.helpers import deliver
from traceability import keys, pack_states, rebuild
from traceability.commissioning import CustodyRefused
from traceability.models import Organisation, Pack, PackEvent, StatementRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_pharmacy(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 4)
    return list(batch.packs.filter(custodian=pharmacy).order_by("pk"))


def named(pack):
    return {"gtin": pack.gtin, "serial": pack.serial}


def refused(message, action):
    size = storage.head_size()
    with pytest.raises(CustodyRefused, match=message):
        action()
    assert storage.head_size() == size


def test_a_dispense_undone_puts_the_pack_back_in_stock_as_authentic(at_pharmacy, pharmacy):
    pack = at_pharmacy[0]
    pack_states.pack_dispense(pharmacy=pharmacy, **named(pack))
    undone = pack_states.pack_undo_dispense(pharmacy=pharmacy, **named(pack))
    assert undone.status == Pack.Status.ACTIVE
    found = verify(pack, pharmacy)
    assert found.verdict == "AUTHENTIC"
    assert [link.kind for link in found.chain][-2:] == ["dispense", "dispense.undo"]


def test_only_the_dispensing_pharmacy_may_undo_within_ten_days(
    at_pharmacy, pharmacy, regulator, batch, manufacturer
):
    other = factories.organisation(Organisation.Role.PHARMACY, name="Other Pharmacy")
    keys.key_register(organisation=other, registered_by=regulator)
    pack = at_pharmacy[0]
    pack_states.pack_dispense(pharmacy=pharmacy, **named(pack))
    refused(
        "only the pharmacy that dispensed",
        lambda: pack_states.pack_undo_dispense(pharmacy=other, **named(pack)),
    )
    pack.refresh_from_db()
    eleven_days_ago = timezone.now() - timedelta(days=11)
    StatementRecord.objects.filter(entry=pack.last_entry).update(issued_at=eleven_days_ago)
    refused(
        "dispensed more than 10 days ago",
        lambda: pack_states.pack_undo_dispense(pharmacy=pharmacy, **named(pack)),
    )


def test_a_dispense_cannot_be_undone_once_the_pack_is_recalled_or_never_was_dispensed(
    at_pharmacy, pharmacy
):
    pack, active = at_pharmacy[0], at_pharmacy[1]
    pack_states.pack_dispense(pharmacy=pharmacy, **named(pack))
    Pack.objects.filter(pk=pack.pk).update(status=Pack.Status.RECALLED)  # as issue 6 will
    refused(
        "is recalled, not dispensed",
        lambda: pack_states.pack_undo_dispense(pharmacy=pharmacy, **named(pack)),
    )
    refused(
        "is active, not dispensed",
        lambda: pack_states.pack_undo_dispense(pharmacy=pharmacy, **named(active)),
    )


def test_a_dispense_cannot_be_undone_after_the_pack_expired(at_pharmacy, pharmacy):
    pack = at_pharmacy[0]
    pack_states.pack_dispense(pharmacy=pharmacy, **named(pack))
    pack.refresh_from_db()
    later = datetime(2028, 1, 2, tzinfo=UTC)
    StatementRecord.objects.filter(entry=pack.last_entry).update(issued_at=later)
    assert "expired on 2028-01-01" in pack_states.undo_refusal(pack, pharmacy, now=later)


def test_stolen_and_sample_are_signed_statements_only_the_holder_may_make(
    at_pharmacy, pharmacy, distributor
):
    stolen, sample = at_pharmacy[0], at_pharmacy[1]
    refused(
        "is not held by Northern Wholesale",
        lambda: pack_states.pack_report_stolen(holder=distributor, **named(stolen)),
    )
    pack_states.pack_report_stolen(holder=pharmacy, **named(stolen))
    pack_states.pack_supply_sample(holder=pharmacy, **named(sample))
    assert Pack.objects.get(pk=stolen.pk).status == Pack.Status.STOLEN
    assert Pack.objects.get(pk=sample.pk).status == Pack.Status.SAMPLE
    kinds = StatementRecord.objects.filter(organisation=pharmacy).values_list("kind", flat=True)
    assert {"stolen", "sample"} <= set(kinds)
    refused(
        "is stolen and can no longer move",
        lambda: pack_states.pack_dispense(pharmacy=pharmacy, **named(stolen)),
    )


def test_a_regulator_may_not_report_a_pack_stolen(at_pharmacy, regulator):
    pack = at_pharmacy[0]
    refused(
        "a regulator does not hold stock",
        lambda: pack_states.pack_report_stolen(holder=regulator, **named(pack)),
    )


def test_replaying_the_ledger_rebuilds_the_new_pack_states_and_chains(at_pharmacy, pharmacy):
    a, b, c = at_pharmacy[:3]
    pack_states.pack_dispense(pharmacy=pharmacy, **named(a))
    pack_states.pack_undo_dispense(pharmacy=pharmacy, **named(a))
    pack_states.pack_report_stolen(holder=pharmacy, **named(b))
    pack_states.pack_supply_sample(holder=pharmacy, **named(c))
    events = PackEvent.objects.count()
    assert rebuild.differences() == []
    rebuild.rebuild()
    assert PackEvent.objects.count() == events
    statuses = {
        p.serial: p.status for p in Pack.objects.filter(serial__in=[a.serial, b.serial, c.serial])
    }
    assert statuses == {a.serial: "active", b.serial: "stolen", c.serial: "sample"}
