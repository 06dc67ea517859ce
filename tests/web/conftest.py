import pytest

from tests.traceability import conftest as custody
from tests.web.helpers import logged_in

# The custody fixtures: organisations with registered keys, a commissioned batch.
regulator = custody.regulator
manufacturer = custody.manufacturer
distributor = custody.distributor
pharmacy = custody.pharmacy
batch = custody.batch


@pytest.fixture
def as_manufacturer(manufacturer):
    return logged_in(manufacturer)


@pytest.fixture
def as_distributor(distributor):
    return logged_in(distributor)


@pytest.fixture
def as_pharmacy(pharmacy):
    return logged_in(pharmacy)


@pytest.fixture
def as_regulator(regulator):
    return logged_in(regulator)
