"""EPCIS identifiers in one canonical form, so that an EPC URN and a GS1 Digital
Link naming the same thing compare equal.

EPCs (packs, cases) and locations become Digital Link URIs on id.gs1.org;
parties become GLNs. CBV values written as URNs or Web URIs become their bare
CBV 2.0 names. Anything not recognised is kept as written.
"""

import functools
import re
from urllib.parse import quote, unquote

from biip.checksums import gs1_standard_check_digit

from traceability.epcis_shapes import DIGITAL_LINK, sgtin_uri, sscc_uri

SGTIN_URN = re.compile(r"urn:epc:id:sgtin:([0-9]+)\.([0-9]+)\.(.+)")
SSCC_URN = re.compile(r"urn:epc:id:sscc:([0-9]+)\.([0-9]+)")
SGLN_URN = re.compile(r"urn:epc:id:sgln:([0-9]+)\.([0-9]*)\.(.*)")
PGLN_URN = re.compile(r"urn:epc:id:pgln:([0-9]+)\.([0-9]*)")
DL_SGTIN = re.compile(r"https?://[^/]+/01/([0-9]{14})/21/([^/?#]+)")
DL_SSCC = re.compile(r"https?://[^/]+/00/([0-9]{18})")
LGTIN_URN = re.compile(r"urn:epc:class:lgtin:([0-9]+)\.([0-9]+)\.(.+)")
DL_LOT = re.compile(r"https?://[^/]+/01/([0-9]{14})/10/([^/?#]+)")
DL_GLN = re.compile(r"https?://[^/]+/(414|417)/([0-9]{13})(?:/254/([^/?#]+))?")
CBV_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/Disp-",
    "https://gs1.org/voc/BizStep-",
    "https://gs1.org/voc/Disp-",
)


def _with_check_digit(digits: str) -> str:
    return digits + str(gs1_standard_check_digit(digits))


@functools.lru_cache(maxsize=4096)  # a document names few products, each many times
def _gtin(company: str, item: str) -> str | None:
    """GTIN-14 from an EPC URN's company prefix and indicator + item reference."""
    if len(company) + len(item) != 13:
        return None
    return _with_check_digit(item[0] + company + item[1:])


def sgtin_of(epc: str) -> tuple[str, str] | None:
    """(GTIN, serial) when `epc` names a serialized trade item, else None."""
    if match := DL_SGTIN.fullmatch(epc):
        return match[1], unquote(match[2])
    if match := SGTIN_URN.fullmatch(epc):
        gtin = _gtin(match[1], match[2])
        return (gtin, unquote(match[3])) if gtin else None
    return None


def sscc_of(epc: str) -> str | None:
    """The SSCC when `epc` names a logistic unit (a case or pallet), else None."""
    if match := DL_SSCC.fullmatch(epc):
        return match[1]
    if (match := SSCC_URN.fullmatch(epc)) and len(match[1]) + len(match[2]) == 17:
        return _with_check_digit(match[2][0] + match[1] + match[2][1:])
    return None


def lot_of(epc_class: str) -> tuple[str, str] | None:
    """(GTIN, lot) when a quantityList epcClass names a lot, else None."""
    if match := DL_LOT.fullmatch(epc_class):
        return match[1], unquote(match[2])
    if match := LGTIN_URN.fullmatch(epc_class):
        gtin = _gtin(match[1], match[2])
        return (gtin, unquote(match[3])) if gtin else None
    return None


def epc_canonical(epc: str) -> str:
    """One spelling per object: SGTINs, SSCCs and SGLNs as id.gs1.org Digital Links."""
    if sgtin := sgtin_of(epc):
        return sgtin_uri(*sgtin)
    if sscc := sscc_of(epc):
        return sscc_uri(sscc)
    if location := location_canonical(epc):
        return location
    return epc


def location_canonical(uri: str) -> str | None:
    """A GLN location (SGLN URN or Digital Link) as https://id.gs1.org/414/<GLN>[/254/<ext>]."""
    if (match := DL_GLN.fullmatch(uri)) and match[1] == "414":
        gln, extension = match[2], unquote(match[3] or "")
    elif (match := SGLN_URN.fullmatch(uri)) and len(match[1]) + len(match[2]) == 12:
        gln, extension = _with_check_digit(match[1] + match[2]), unquote(match[3])
    else:
        return None
    if extension in ("", "0"):
        return f"{DIGITAL_LINK}/414/{gln}"
    return f"{DIGITAL_LINK}/414/{gln}/254/{quote(extension, safe='')}"


def gln_of(uri: str) -> str | None:
    """The GLN of a party or location URI (PGLN, SGLN, Digital Link 414/417), else None."""
    if match := DL_GLN.fullmatch(uri):
        return match[2]
    for pattern in (SGLN_URN, PGLN_URN):
        if (match := pattern.fullmatch(uri)) and len(match[1]) + len(match[2]) == 12:
            return _with_check_digit(match[1] + match[2])
    return None


def cbv_name(value: str) -> str:
    """'urn:epcglobal:cbv:bizstep:shipping' and friends -> 'shipping'."""
    for prefix in CBV_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def vocabulary_canonical(value: str) -> str:
    """A readPoint / bizLocation / bizStep / disposition value as it is indexed."""
    return location_canonical(value) or cbv_name(value)
