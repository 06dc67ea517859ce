"""Who may open which screen: login, organisation membership, role, and scoping."""

import pytest
from django.contrib.auth import get_user_model

from ledger import storage
from tests import factories
from tests.web.helpers import logged_in, ship
from traceability import keys
from traceability.models import Organisation

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/products/new/", "/batches/new/", "/ship/", "/dispense/", "/destroy/"]


@pytest.mark.parametrize("path", [*PAGES, "/batches/09506000134352/A1B2/"])
def test_every_screen_asks_for_a_login_first(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path[:4]}")


@pytest.mark.parametrize("path", PAGES)
def test_a_user_without_an_organisation_is_told_so(client, path):
    client.force_login(get_user_model().objects.create_user("loner", password="pw"))
    response = client.get(path)
    assert response.status_code == 403
    assert "does not belong to an organisation" in response.content.decode()


ROLE_PAGES = {
    # page: roles that may open it
    "/products/new/": {"manufacturer"},
    "/batches/new/": {"manufacturer"},
    "/ship/": {"manufacturer", "distributor", "pharmacy"},
    "/dispense/": {"pharmacy"},
    "/destroy/": {"manufacturer", "distributor", "pharmacy"},
    "/dashboard/": {"manufacturer", "distributor", "pharmacy", "regulator"},
}


@pytest.mark.parametrize("role", ["manufacturer", "distributor", "pharmacy", "regulator"])
def test_each_role_opens_its_screens_and_is_refused_the_others(role, request):
    client = logged_in(request.getfixturevalue(role))
    for path, roles in ROLE_PAGES.items():
        response = client.get(path)
        assert response.status_code == (200 if role in roles else 403), (role, path)
        if role not in roles:
            assert "Only a" in response.content.decode()


def test_a_refused_role_writes_nothing(distributor, manufacturer):
    client = logged_in(distributor)
    size = storage.head_size()
    response = client.post("/products/new/", {"gtin": "09506000134369", "name": "Not ours"})
    assert response.status_code == 403
    assert storage.head_size() == size


def test_a_batch_the_organisation_never_handled_is_not_found(batch, regulator, pharmacy):
    path = f"/batches/{batch.product.gtin}/{batch.lot}/"
    assert logged_in(pharmacy).get(path).status_code == 404
    assert logged_in(regulator).get(path).status_code == 200


def test_a_batch_of_another_manufacturer_is_not_found_even_by_its_peer(batch, regulator):
    rival = factories.organisation(Organisation.Role.MANUFACTURER, name="Rival Pharma")
    keys.key_register(organisation=rival, registered_by=regulator)
    client = logged_in(rival)
    assert client.get(f"/batches/{batch.product.gtin}/{batch.lot}/").status_code == 404
    assert client.get(f"/ship/?batch={batch.pk}").status_code == 404


def test_receiving_someone_elses_shipment_is_not_found(batch, manufacturer, distributor, pharmacy):
    shipment = ship(batch, manufacturer, distributor, 2)
    size = storage.head_size()
    response = logged_in(pharmacy).post(f"/shipments/{shipment.public_id}/receive/")
    assert response.status_code == 404
    assert storage.head_size() == size


def test_receive_takes_only_posts(batch, manufacturer, distributor):
    shipment = ship(batch, manufacturer, distributor, 2)
    response = logged_in(distributor).get(f"/shipments/{shipment.public_id}/receive/")
    assert response.status_code == 405


def test_every_form_is_csrf_protected(batch, manufacturer, distributor, pharmacy):
    shipment = ship(batch, manufacturer, distributor, 2)
    posts = [
        (manufacturer, "/products/new/", {"gtin": "09506000134369", "name": "X"}),
        (manufacturer, "/batches/new/", {"product": batch.product.pk, "lot": "L2"}),
        (manufacturer, f"/ship/?batch={batch.pk}", {"batch": batch.pk, "quantity": 1}),
        (distributor, f"/shipments/{shipment.public_id}/receive/", {}),
        (pharmacy, "/dispense/", {"lines": f"{batch.product.gtin} X"}),
        (distributor, "/destroy/", {"lines": f"{batch.product.gtin} X"}),
    ]
    clients = {org.pk: logged_in(org, enforce_csrf_checks=True) for org, _, _ in posts}
    size = storage.head_size()
    for org, path, data in posts:
        assert clients[org.pk].post(path, data).status_code == 403, path
    assert storage.head_size() == size


def test_the_home_page_sends_members_to_their_dashboard(as_pharmacy, client):
    response = as_pharmacy.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/").status_code == 200  # anonymous visitors see the start page


def test_the_navigation_links_to_the_dashboard_when_logged_in(as_distributor, client):
    assert 'href="/dashboard/"' in as_distributor.get("/dashboard/").content.decode()
    assert 'href="/dashboard/"' not in client.get("/").content.decode()
