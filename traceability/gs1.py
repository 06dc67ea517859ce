"""GS1 identifier checks that models and forms share. Parsing of scans is biip's job."""

import re

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
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


# GS1 AI 82 character set (General Specifications 7.11, figure 7.11-1).
GS1_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")


def validate_gtin(value: str) -> None:
    """A GTIN-14: 14 ASCII digits with a valid GS1 check digit."""
    if not re.fullmatch(r"[0-9]{14}", value or ""):
        raise ValidationError(f"GTIN {value!r} must be 14 digits 0-9", code="gtin")
    expected = gs1_standard_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise ValidationError(
            f"GTIN {value} has check digit {value[-1]}, expected {expected}", code="gtin"
        )


def validate_gs1_text(value: str) -> None:
    """Lot numbers and serials: 1 to 20 characters of GS1's character set 82."""
    if not GS1_CSET82.fullmatch(value or ""):
        raise ValidationError(
            f"{value!r} must be 1 to 20 characters of the GS1 character set "
            "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
            code="gs1_text",
        )


def validate_sscc(value: str) -> None:
    """An SSCC (case or pallet): 18 ASCII digits with a valid GS1 check digit."""
    if not re.fullmatch(r"[0-9]{18}", value or ""):
        raise ValidationError(f"SSCC {value!r} must be 18 digits 0-9", code="sscc")
    expected = gs1_standard_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise ValidationError(
            f"SSCC {value} has check digit {value[-1]}, expected {expected}", code="sscc"
        )
