"""The API's JSON reader: DRF's, with a message instead of a 500 or a Python
hint for the numbers and nesting no client means to send."""

import codecs
import json
import math

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json as drf_json

MAX_INTEGER_DIGITS = 4_300  # what int() reads from text (sys.get_int_max_str_digits)


def _finite(text: str) -> float:
    """A JSON number as a float, refusing one too large for it: 1e999 would read as
    infinity, which no database column of JSON can hold."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _integer(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise ValueError(f"the number {text[:20]}... has {len(text):,} digits, too many")
    return int(text)


class JsonParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=drf_json.strict_constant,
                parse_float=_finite,
                parse_int=_integer,
            )
        except RecursionError:  # Python's JSON reader gives up near 1,000 levels
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
