"""One parser for everything a scanner, a phone camera or a keyboard wedge hands over.

biip reads the GS1 syntax; this module chooses which of biip's readers fits the input,
turns the result into a `Scan`, and words every failure so a person can act on it.
"""

import datetime
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gs1_messages import GS1Message
from biip.symbology import GS1Symbology, SymbologyIdentifier

from traceability.epcis_shapes import DIGITAL_LINK

GS = "\x1d"
CONTROL_BUT_GS = re.compile("[\x00-\x1c\x1e\x1f\x7f]")
# Some phone apps and wedge profiles print the visible "SYMBOL FOR GROUP SEPARATOR".
GS_STAND_IN = "\u241d"
MAX_SCAN_LENGTH = 512

FIELD_OF_AI = {"00": "sscc", "01": "gtin", "10": "lot", "17": "expiry", "21": "serial"}
LABEL_OF_AI = {
    "00": "SSCC",
    "01": "GTIN",
    "10": "lot",
    "17": "expiry date",
    "21": "serial number",
}
# Characters GS1 data may contain (character set 82); a stand-in separator must not be one.
GS1_CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
PLAIN_GTIN_LENGTHS = (8, 12, 13, 14)


@dataclass(frozen=True)
class Scan:
    gtin: str | None  # 14 digits, check digit valid
    serial: str | None
    lot: str | None
    expiry: datetime.date | None  # from AI 17; day 00 means the last day of the month
    sscc: str | None  # 18 digits, check digit valid
    raw: str


def pack_link_path(gtin: str, serial: str, lot: str | None, expiry: str | None) -> str:
    """A pack's GS1 Digital Link path, /01/<GTIN>[/10/<lot>]/21/<serial>[?17=<expiry>],
    with `expiry` as printed (YYMMDD)."""
    path = f"/01/{gtin}" + (f"/10/{quote(lot, safe='')}" if lot else "")
    path += f"/21/{quote(serial, safe='')}"
    return path + (f"?{urlencode({'17': expiry})}" if expiry else "")


def digital_link(scan: Scan) -> str:
    """A pack's scan as a GS1 Digital Link URI: parse_scan reads it back with no separator
    setting, so a form can carry the code it came from whatever the scanner sent."""
    expiry = f"{scan.expiry:%y%m%d}" if scan.expiry else None
    return DIGITAL_LINK + pack_link_path(scan.gtin, scan.serial, scan.lot, expiry)


class ScanError(ValueError):
    """A scan that cannot be used; `field` names the part that is wrong."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def parse_scan(raw: str, *, separator: str | None = None) -> Scan:
    """Read a scan: GS1 element string (with or without a symbology identifier and GS
    separators), the parenthesised human-readable form, or a GS1 Digital Link URI.

    `separator` is the character a scanner sends where FNC1/GS should be (e.g. "|").
    """
    text = _cleaned(raw)
    config = ParseConfig(separator_chars=_separators(separator))
    elements = _element_strings(text, config)
    return _scan_from(elements, raw)


def check_separator(separator: str | None) -> None:
    """Raise ScanError (field "separator") unless `separator` can stand in for GS."""
    _separators(separator)


def _cleaned(raw: object) -> str:
    if not isinstance(raw, str):
        raise ScanError("the scanned code must be text", field="code")
    if len(raw) > MAX_SCAN_LENGTH:
        raise ScanError(
            f"the scanned code is {len(raw)} characters long; at most {MAX_SCAN_LENGTH} are read",
            field="code",
        )
    text = raw.replace(GS_STAND_IN, GS).strip()  # strip() also drops a leading FNC1 as GS
    if not text:
        raise ScanError("the scanned code is empty", field="code")
    stray = CONTROL_BUT_GS.search(text)
    if stray is not None:
        raise ScanError(
            f"the scanned code contains the control character U+{ord(stray.group()):04X}; "
            "only the group separator (ASCII 29) may appear",
            field="code",
        )
    return text


def _separators(separator: str | None) -> tuple[str, ...]:
    if separator is None or separator == GS:
        return (GS,)
    if len(separator) != 1 or separator in GS1_CSET82 or separator.isspace():
        raise ScanError(
            f"separator {separator!r} must be one character that cannot occur in GS1 data, "
            "such as '|' or '~'",
            field="separator",
        )
    return (GS, separator)


def _element_strings(text: str, config: ParseConfig) -> GS1ElementStrings:
    body, symbology = _without_symbology_identifier(text)
    if not body.strip(GS):
        raise ScanError(f"the scanned code holds no data after {text!r}", field="code")
    if symbology in GS1Symbology.with_gs1_messages():
        return _message(body, config)
    if body.lower().startswith(("http://", "https://")):
        return _digital_link(body, config)
    if body.startswith("("):
        return _human_readable(body, config)
    if body.isascii() and body.isdigit() and len(body) in PLAIN_GTIN_LENGTHS:
        return _single("01", body.zfill(14), config)  # an EAN/UPC or bare GTIN
    if body.isascii() and body.isdigit() and len(body) == 18:
        return _single("00", body, config)  # a bare SSCC, as some label readers send it
    return _message(body, config)


def _without_symbology_identifier(text: str) -> tuple[str, GS1Symbology | None]:
    if not text.startswith("]"):
        return text, None
    try:
        identifier = SymbologyIdentifier.extract(text)
    except (ParseError, ValueError, IndexError):
        raise ScanError(
            f"{text[:3]!r} is not a symbology identifier (expected e.g. ]d2, ]C1 or ]Q3)",
            field="code",
        ) from None
    return text[len(identifier) :], identifier.gs1_symbology


def _single(ai: str, value: str, config: ParseConfig) -> GS1ElementStrings:
    return GS1ElementStrings([GS1ElementString.parse(ai + value, config=config)])


def _message(body: str, config: ParseConfig) -> GS1ElementStrings:
    try:
        return GS1Message.parse(body, config=config).element_strings
    except (ParseError, ValueError):
        raise _explain_element_string_failure(body, config) from None


def _human_readable(body: str, config: ParseConfig) -> GS1ElementStrings:
    try:
        return GS1Message.parse_hri(body, config=config).element_strings
    except (ParseError, ValueError) as exc:
        raise _explain_biip_error(exc, "the human-readable code") from None


def _digital_link(body: str, config: ParseConfig) -> GS1ElementStrings:
    try:
        return GS1DigitalLinkURI.parse(body, config=config).element_strings
    except (ParseError, ValueError) as exc:
        raise _explain_biip_error(exc, "the GS1 Digital Link") from None


def _explain_element_string_failure(body: str, config: ParseConfig) -> ScanError:
    """Walk the element strings with biip to find the first one that fails, and say why."""
    rest, previous = body, None
    while rest:
        try:
            element = GS1ElementString.extract(rest, config=config)
        except (ParseError, ValueError):
            return _element_problem(rest, previous, config)
        previous, rest = element, rest[len(element) :].lstrip("".join(config.separator_chars))
    return ScanError("the scanned code could not be read as GS1 data", field="code")


def _element_problem(rest: str, previous: GS1ElementString | None, config) -> ScanError:
    try:
        ai = GS1ApplicationIdentifier.extract(rest)
    except ParseError:
        ai = None
    if ai is None and previous is not None and _is_full(previous):
        return _requirement_error(previous.ai, previous.value + _first_field(rest, config))
    if ai is None:
        return ScanError(
            f"no GS1 application identifier at {_shorten(rest)!r}; if your scanner drops the "
            "FNC1 separator, set the character it sends instead",
            field="code",
        )
    value = _first_field(rest, config)[len(ai.ai) :]
    fixed = _fixed_length(ai)
    return _requirement_error(ai, value[:fixed] if fixed else value)


def _first_field(rest: str, config: ParseConfig) -> str:
    for separator in config.separator_chars:
        rest = rest.split(separator, 1)[0]
    return rest


SIMPLE_FIXED = re.compile(r"N\d\+N(?P<length>\d+)")
SIMPLE_VARIABLE = re.compile(r"N\d\+(?P<kind>[NX])\.\.(?P<length>\d+)")


def _fixed_length(ai: GS1ApplicationIdentifier) -> int | None:
    found = SIMPLE_FIXED.fullmatch(ai.format)
    return int(found["length"]) if found else None


def _is_full(element: GS1ElementString) -> bool:
    """A variable-length field that used all its room probably swallowed what followed."""
    found = SIMPLE_VARIABLE.fullmatch(element.ai.format)
    return bool(found) and len(element.value) == int(found["length"])


BIIP_MATCH_FAILURE = re.compile(r"Failed to match '(?P<value>.*)' with GS1 AI \((?P<ai>\d+)\)")
BIIP_DATE_FAILURE = re.compile(r"GS1 AI \((?P<ai>\d+)\) date/time from '(?P<value>.*)'")


def _explain_biip_error(exc: Exception, what: str) -> ScanError:
    found = BIIP_MATCH_FAILURE.search(str(exc))
    if found:
        value = found["value"][len(found["ai"]) :]
        return _requirement_error(GS1ApplicationIdentifier.extract(found["ai"]), value)
    found = BIIP_DATE_FAILURE.search(str(exc))
    if found:
        return _requirement_error(GS1ApplicationIdentifier.extract(found["ai"]), found["value"])
    return ScanError(f"{what} could not be read: {exc}", field="code")


def _requirement_error(ai: GS1ApplicationIdentifier, value: str) -> ScanError:
    label = LABEL_OF_AI.get(ai.ai, ai.data_title)
    return ScanError(
        f"{label} ({ai.ai}) {_requirement(ai)}; got {_shorten(value)!r}",
        field=FIELD_OF_AI.get(ai.ai, "code"),
    )


def _requirement(ai: GS1ApplicationIdentifier) -> str:
    if ai.ai in ("11", "12", "13", "15", "16", "17"):
        return "must be a valid date YYMMDD (day 00 means the end of the month)"
    fixed, variable = _fixed_length(ai), SIMPLE_VARIABLE.fullmatch(ai.format)
    if fixed:
        return f"must be exactly {fixed} digits"
    if variable:
        noun = "digits" if variable["kind"] == "N" else "characters of the GS1 character set"
        return f"must be 1 to {variable['length']} {noun}"
    return f"does not match its GS1 format {ai.format}"


def _shorten(value: str) -> str:
    return value if len(value) <= 40 else value[:37] + "..."


def _scan_from(elements: GS1ElementStrings, raw: str) -> Scan:
    _refuse_contradictions(elements)
    gtin, sscc = _gtin(elements), _sscc(elements)
    lot, serial, expiry = (elements.get(ai=ai) for ai in ("10", "21", "17"))
    if gtin is None and sscc is None:
        carried = [LABEL_OF_AI.get(e.ai.ai, e.ai.data_title) for e in elements]
        raise ScanError(
            f"the code has no GTIN (01) or SSCC (00); it carries {', '.join(carried)}",
            field="gtin",
        )
    return Scan(
        gtin=gtin,
        serial=serial.value if serial else None,
        lot=lot.value if lot else None,
        expiry=expiry.date if expiry else None,
        sscc=sscc,
        raw=raw,
    )


def _refuse_contradictions(elements: GS1ElementStrings) -> None:
    seen: dict[str, str] = {}
    for element in elements:
        if seen.setdefault(element.ai.ai, element.value) != element.value:
            label = LABEL_OF_AI.get(element.ai.ai, element.ai.data_title)
            raise ScanError(
                f"the code carries two different values for {label} ({element.ai.ai})",
                field=FIELD_OF_AI.get(element.ai.ai, "code"),
            )


def _gtin(elements: GS1ElementStrings) -> str | None:
    element = elements.get(ai="01")
    if element is None:
        return None
    if element.gtin is None:
        raise ScanError(f"GTIN (01) {element.value} is not valid: {element.gtin_error}", "gtin")
    return element.gtin.as_gtin_14()


def _sscc(elements: GS1ElementStrings) -> str | None:
    element = elements.get(ai="00")
    if element is None:
        return None
    if element.sscc is None:
        raise ScanError(f"SSCC (00) {element.value} is not valid: {element.sscc_error}", "sscc")
    return element.sscc.value
