"""A pharmacy's own system signs the counter's pack states through the API:
stolen, free sample and undoing a dispense meet the same rules as the screen."""

import pytest
from django.utils import timezone

from ledger import storage
from tests.traceability.test_ingest_api import client_example, own_key, post
from tests.web.helpers import bearer, deliver, in_stock
from traceability import epcis_shapes
from traceability.custody_state import EVENT_SHAPE
from traceability.models import Pack
from traceability.pack_states import pack_dispense

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed(pharmacy, regulator):
    return own_key(pharmacy, regulator)


@pytest.fixture
def stock(batch, manufacturer, pharmacy):
    deliver(batch, manufacturer, pharmacy, 3)
    return in_stock(batch, pharmacy)


def signed(kind, org, seed, packs, **extra):
    _, action, biz_step, disposition = EVENT_SHAPE[kind]
    body = epcis_shapes.object_event(
        action=action,
        biz_step=biz_step,
        disposition=disposition,
        epcs=[epcis_shapes.sgtin_uri(p.gtin, p.serial) for p in packs],
        when=timezone.now(),
        **extra,
    )
    return client_example.sign(kind, body, org.gln, seed)


def status(pack):
    return Pack.objects.get(pk=pack.pk).status


def test_a_pharmacy_system_reports_packs_stolen_and_a_sample(pharmacy, stock, seed):
    api = bearer(pharmacy)
    response = post(
        api,
        [
            signed("stolen", pharmacy, seed, stock[:2]),
            signed("sample", pharmacy, seed, stock[2:]),
        ],
    )
    assert response.status_code == 201, response.json()
    assert [status(p) for p in stock] == ["stolen", "stolen", "sample"]


def test_a_stolen_pack_cannot_be_reported_again_or_dispensed(pharmacy, stock, seed):
    api = bearer(pharmacy)
    post(api, [signed("stolen", pharmacy, seed, stock[:1])])
    size = storage.head_size()
    again = post(api, [signed("sample", pharmacy, seed, stock[:1])])
    assert again.status_code == 400
    assert "is stolen and can no longer move" in again.json()["error"]
    assert storage.head_size() == size


def test_a_pharmacy_system_undoes_its_own_dispense_naming_it(pharmacy, stock, seed):
    pack = pack_dispense(pharmacy=pharmacy, gtin=stock[0].gtin, serial=stock[0].serial)
    api = bearer(pharmacy)
    response = post(api, [signed("dispense.undo", pharmacy, seed, [pack], undoes=pack.last_entry)])
    assert response.status_code == 201, response.json()
    assert status(pack) == Pack.Status.ACTIVE


def test_an_undo_naming_another_entry_is_refused_and_nothing_written(pharmacy, stock, seed):
    pack = pack_dispense(pharmacy=pharmacy, gtin=stock[0].gtin, serial=stock[0].serial)
    size = storage.head_size()
    response = post(
        bearer(pharmacy),
        [signed("dispense.undo", pharmacy, seed, [pack], undoes=pack.last_entry - 1)],
    )
    assert response.status_code == 400
    assert f"body.undoes must be {pack.last_entry}" in response.json()["error"]
    assert storage.head_size() == size
    assert status(pack) == Pack.Status.SUPPLIED


def test_a_pack_never_dispensed_cannot_be_undone(pharmacy, stock, seed):
    response = post(
        bearer(pharmacy), [signed("dispense.undo", pharmacy, seed, stock[:1], undoes=1)]
    )
    assert response.status_code == 400
    assert "is active, not dispensed" in response.json()["error"]


def test_a_pack_state_event_with_the_wrong_shape_is_named(pharmacy, stock, seed):
    wrong = signed("stolen", pharmacy, seed, stock[:1])
    wrong["statement"]["body"]["disposition"] = "destroyed"
    resigned = client_example.sign("stolen", wrong["statement"]["body"], pharmacy.gln, seed)
    response = post(bearer(pharmacy), [resigned])
    assert response.status_code == 400
    assert (
        "a stolen has bizStep 'decommissioning' and disposition 'stolen'"
        in (response.json()["error"])
    )
