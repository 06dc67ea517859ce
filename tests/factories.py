"""Test data built through the real models and services."""

import itertools

from biip.checksums import gs1_standard_check_digit

from traceability import keys
from traceability.models import Holding, Organisation

_serial = itertools.count(1)


def gln() -> str:
    payload = f"40{next(_serial):010d}"
    return payload + str(gs1_standard_check_digit(payload))


def organisation(role=Organisation.Role.MANUFACTURER, **fields) -> Organisation:
    fields = {
        "name": f"{role.label} {next(_serial)}",
        "role": role,
        "gln": gln(),
        "licence_number": "LIC-1",
        "country": "DE",
        **fields,
    }
    org = Organisation(**fields)
    org.full_clean()
    org.save()
    return org


def regulator(**fields) -> Organisation:
    """A regulator holding the log's root key."""
    org = organisation(Organisation.Role.REGULATOR, **fields)
    keys.root_bootstrap(regulator=org)
    return org


def registered(role, regulator, **fields) -> Organisation:
    """An organisation whose custodial signing key the regulator registered."""
    org = organisation(role, **fields)
    keys.key_register(organisation=org, registered_by=regulator)
    return org


def on_hand(batch, org) -> int:
    """How many units of a lot-level batch `org` holds now (0 if it never held any)."""
    holding = Holding.objects.filter(batch=batch, holder=org).first()
    return holding.on_hand if holding else 0
