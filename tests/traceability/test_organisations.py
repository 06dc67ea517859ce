import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from traceability.models import Organisation

pytestmark = pytest.mark.django_db


def organisation(**overrides):
    fields = {
        "name": "Acme Pharma",
        "role": Organisation.Role.MANUFACTURER,
        "gln": "4012345000009",
        "licence_number": "DE-MAN-001",
        "country": "DE",
    }
    return Organisation(**{**fields, **overrides})


def test_an_organisation_with_a_valid_gln_is_accepted():
    org = organisation()
    org.full_clean()
    org.save()
    assert str(org) == "Acme Pharma (Manufacturer, GLN 4012345000009)"


@pytest.mark.parametrize(
    "gln, message",
    [
        ("4012345000008", "Invalid GLN check digit for '4012345000008': Expected 9, got 8."),
        ("40123", "Expected 13 digits, got 5"),
        ("40123450000O9", "must be 13 digits 0-9"),
        ("\u0664\u0660\u0661\u0662\u0663\u0664\u0665\u0660\u0660\u0660\u0660\u0660\u0669", "0-9"),
    ],
)
def test_a_wrong_gln_is_refused_saying_what_is_wrong(gln, message):
    with pytest.raises(ValidationError) as raised:
        organisation(gln=gln).full_clean()
    assert message in " ".join(raised.value.message_dict["gln"])


def test_country_must_be_an_iso_code():
    with pytest.raises(ValidationError) as raised:
        organisation(country="de").full_clean()
    assert "ISO 3166-1 alpha-2" in raised.value.message_dict["country"][0]


def test_two_organisations_cannot_share_a_gln():
    organisation().save()
    with pytest.raises(IntegrityError):
        organisation(name="Copycat").save()


def test_an_unknown_role_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        organisation(role="wholesaler").save()
