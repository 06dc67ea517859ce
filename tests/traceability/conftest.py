from datetime import date

import pytest

from tests import factories
from traceability.commissioning import batch_commission, product_register
from traceability.models import Organisation

registered = factories.registered


@pytest.fixture
def regulator(db):
    return factories.regulator(name="Medicines Agency")


@pytest.fixture
def manufacturer(regulator):
    return registered(Organisation.Role.MANUFACTURER, regulator, name="Acme Pharma")


@pytest.fixture
def distributor(regulator):
    return registered(Organisation.Role.DISTRIBUTOR, regulator, name="Northern Wholesale")


@pytest.fixture
def pharmacy(regulator):
    return registered(Organisation.Role.PHARMACY, regulator, name="Corner Pharmacy")


@pytest.fixture
def batch(manufacturer):
    product = product_register(
        manufacturer=manufacturer, gtin="09506000134352", name="Amoxicillin 500 mg"
    )
    return batch_commission(
        manufacturer=manufacturer,
        product=product,
        lot="A1B2",
        manufactured_on=date(2026, 1, 1),
        expires_on=date(2028, 1, 1),
        quantity=10,
    )


@pytest.fixture
def bulk_lot(batch, manufacturer):
    """A lot-level batch of the same product: 100 units, no serials."""
    return batch_commission(
        manufacturer=manufacturer,
        product=batch.product,
        lot="BULK7",
        manufactured_on=date(2026, 2, 1),
        expires_on=date(2028, 2, 1),
        quantity=100,
        serialized=False,
    )
