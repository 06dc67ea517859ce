"""Test data built through the real models and services."""

import itertools

from biip.checksums import gs1_standard_check_digit

from traceability.models import Organisation

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
