"""GS1 identifier checks that models and forms share. Parsing of scans is biip's job."""

import re

from biip import ParseError
from biip.gln import Gln
from django.core.exceptions import ValidationError

ASCII_DIGITS = re.compile(r"[0-9]+")


def validate_gln(value: str) -> None:
    """A GLN: 13 ASCII digits with a valid GS1 check digit."""
    if not ASCII_DIGITS.fullmatch(value or ""):
        raise ValidationError(f"GLN {value!r} must be 13 digits 0-9", code="gln")
    try:
        Gln.parse(value)
    except ParseError as exc:
        raise ValidationError(str(exc), code="gln") from None
