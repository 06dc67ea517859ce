"""Projection rows written in bulk (COPY on PostgreSQL) behave as the ORM's would."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from traceability.bulk_sql import insert_rows, insert_rows_with_ids, update_rows
from traceability.models import Pack, PackEvent, Shipment

pytestmark = pytest.mark.django_db

EVENT_COLUMNS = ["pack_id", "entry", "kind"]
SHIPMENT_COLUMNS = ["public_id", "sender_id", "receiver_id", "status", "returning",
                    "pack_count", "shipped_entry", "shipped_at"]  # fmt: skip


def test_rows_inserted_in_bulk_read_back_as_written(batch):
    packs = list(batch.packs.order_by("pk")[:3])
    rows = [(pack.pk, 900 + i, "ship") for i, pack in enumerate(packs)]
    insert_rows(PackEvent, EVENT_COLUMNS, rows)
    assert sorted(PackEvent.objects.filter(entry__gte=900).values_list(*EVENT_COLUMNS)) == rows


def test_a_row_that_breaks_a_constraint_is_an_integrity_error_and_writes_nothing(batch):
    pack = batch.packs.first()
    insert_rows(PackEvent, EVENT_COLUMNS, [(pack.pk, 900, "ship")])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(PackEvent, EVENT_COLUMNS, [(pack.pk, 901, "ship"), (pack.pk, 900, "receive")])
    assert list(PackEvent.objects.filter(pack=pack).values_list("entry", "kind")) == [(900, "ship")]


def test_rows_inserted_with_ids_get_their_keys_in_order(manufacturer, distributor):
    public_ids = [uuid.uuid4() for _ in range(3)]
    now = datetime.now(UTC)
    rows = [
        (public_id, manufacturer.pk, distributor.pk, "in_transit", False, 0, i, now)
        for i, public_id in enumerate(public_ids)
    ]
    ids = insert_rows_with_ids(Shipment, SHIPMENT_COLUMNS, rows)
    assert [Shipment.objects.get(pk=pk).public_id for pk in ids] == public_ids


def test_rows_updated_in_bulk_change_only_the_named_columns(batch, distributor):
    packs = list(batch.packs.order_by("pk")[:2])
    update_rows(
        Pack, ["id", "custodian_id", "last_entry"], [(p.pk, distributor.pk, 777) for p in packs]
    )
    for pack in packs:
        pack.refresh_from_db()
        assert (pack.custodian, pack.last_entry, pack.status) == (distributor, 777, "active")
    assert batch.packs.exclude(pk__in=[p.pk for p in packs]).filter(last_entry=777).count() == 0


def test_two_bulk_updates_in_one_transaction_each_apply(batch, distributor, manufacturer):
    pack = batch.packs.first()
    with transaction.atomic():
        update_rows(Pack, ["id", "custodian_id"], [(pack.pk, distributor.pk)])
        update_rows(Pack, ["id", "custodian_id", "last_entry"], [(pack.pk, manufacturer.pk, 5)])
    pack.refresh_from_db()
    assert (pack.custodian, pack.last_entry) == (manufacturer, 5)
