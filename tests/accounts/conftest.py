import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from tests import factories
from traceability.models import Member, Organisation


@pytest.fixture(autouse=True)
def empty_cache():
    """Login failures are counted in the cache; each test starts from none."""
    cache.clear()
    yield
    cache.clear()


PASSWORD = "correct horse battery"


def make_user(username, *, organisation=None, password=PASSWORD):
    user = get_user_model().objects.create_user(username, password=password)
    if organisation is not None:
        Member.objects.create(user=user, organisation=organisation)
    return user


@pytest.fixture
def owner(db):
    return make_user("owner", organisation=factories.organisation(Organisation.Role.PHARMACY))


@pytest.fixture
def outsider(db):
    return make_user("outsider", organisation=factories.organisation(Organisation.Role.DISTRIBUTOR))


@pytest.fixture
def loner(db):
    """A user who belongs to no organisation."""
    return make_user("loner")


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client
