"""The one scan parser: every way a scanner or phone hands over a pack or case code."""

from datetime import date
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traceability.scanning import MAX_SCAN_LENGTH, Scan, ScanError, parse_scan

GTIN = "09506000134352"
PACK = Scan(
    gtin=GTIN,
    serial="SERIAL0001",
    lot="2401AB",
    expiry=date(2027, 1, 31),
    sscc=None,
    raw="",
)
GS = "\x1d"


def read(raw, **options):
    scan = parse_scan(raw, **options)
    assert scan.raw == raw
    return Scan(scan.gtin, scan.serial, scan.lot, scan.expiry, scan.sscc, raw="")


@pytest.mark.parametrize(
    "raw",
    [
        f"]d201{GTIN}172701311024 01AB{GS}21SERIAL0001".replace(" ", ""),
        f"01{GTIN}17270131102401AB{GS}21SERIAL0001",
        f"{GS}01{GTIN}17270131102401AB{GS}21SERIAL0001{GS}",
        f"]C101{GTIN}17270131102401AB{GS}21SERIAL0001",
        f"]Q301{GTIN}17270131102401AB{GS}21SERIAL0001",
    ],
    ids=["datamatrix", "no-identifier", "leading-fnc1", "gs1-128", "gs1-qr"],
)
def test_pharmacist_scans_a_pack_element_string_from_any_gs1_symbol(raw):
    assert read(raw) == PACK


def test_application_identifiers_may_come_in_any_order():
    assert read(f"21SERIAL0001{GS}102401AB{GS}17270131 01{GTIN}".replace(" ", "")) == PACK


def test_human_readable_text_typed_from_the_label_is_read():
    assert read(f"(01){GTIN}(17)270131(10)2401AB(21)SERIAL0001") == PACK
    assert read(f"(01) {GTIN} (17) 270131 (10) 2401AB (21) SERIAL0001") == PACK


@pytest.mark.parametrize(
    "raw",
    [
        f"https://id.gs1.org/01/{GTIN}/10/2401AB/21/SERIAL0001?17=270131",
        f"https://pharma.example.com/p/01/{GTIN}/10/2401AB/21/SERIAL0001?17=270131&x=1",
        f"HTTPS://ID.GS1.ORG/01/{GTIN}/10/2401AB/21/SERIAL0001?17=270131",
        f"]Q1https://id.gs1.org/01/{GTIN[1:]}/10/2401AB/21/SERIAL0001?17=270131",
    ],
    ids=["gs1-resolver", "own-domain", "upper-case-qr", "qr-with-identifier"],
)
def test_phone_camera_reads_a_digital_link_on_any_domain(raw):
    assert read(raw) == PACK


def test_scanner_that_sends_a_pipe_instead_of_fnc1_is_read_with_that_separator():
    raw = f"01{GTIN}17270131102401AB|21SERIAL0001"
    assert read(raw, separator="|") == PACK


def test_without_the_separator_setting_a_pipe_scan_says_what_to_change():
    with pytest.raises(ScanError, match="set the character it sends instead") as err:
        parse_scan(f"01{GTIN}17270131102401AB|21SERIAL0001")
    assert err.value.field == "code"


def test_wedge_apps_that_print_the_group_separator_symbol_are_read():
    assert read(f"01{GTIN}17270131102401AB\u241d21SERIAL0001") == PACK


def test_a_letter_or_digit_cannot_be_the_separator():
    with pytest.raises(ScanError) as err:
        parse_scan(f"01{GTIN}", separator="A")
    assert err.value.field == "separator"


def test_expiry_day_00_means_the_last_day_of_the_month():
    assert parse_scan(f"01{GTIN}17280200").expiry == date(2028, 2, 29)


def test_case_label_yields_its_sscc():
    for raw in ("00106141412345678908", "]C100106141412345678908", "(00)106141412345678908"):
        scan = parse_scan(raw)
        assert (scan.sscc, scan.gtin) == ("106141412345678908", None)


def test_a_retail_ean_13_yields_the_gtin_as_14_digits():
    scan = parse_scan("9506000134352")
    assert (scan.gtin, scan.serial) == (GTIN, None)


def test_wrong_gtin_check_digit_is_named():
    with pytest.raises(ScanError, match="check digit") as err:
        parse_scan(f"01{GTIN[:-1]}3172701311024{GS}21S")
    assert err.value.field == "gtin"


def test_wrong_sscc_check_digit_is_named():
    with pytest.raises(ScanError, match="SSCC") as err:
        parse_scan("00106141412345678909")
    assert err.value.field == "sscc"


def test_a_code_without_gtin_or_sscc_is_refused_naming_what_it_carries():
    with pytest.raises(ScanError, match=r"no GTIN.*lot, serial number") as err:
        parse_scan(f"10LOT1{GS}21SER1")
    assert err.value.field == "gtin"


@pytest.mark.parametrize(
    "raw",
    [
        f"01{GTIN}10{'L' * 25}{GS}21S",
        f"(01){GTIN}(10){'L' * 25}",
        f"https://id.gs1.org/01/{GTIN}/10/{'L' * 25}",
    ],
    ids=["element-string", "human-readable", "digital-link"],
)
def test_an_over_long_lot_is_named_with_its_limit(raw):
    with pytest.raises(ScanError, match=r"lot \(10\) must be 1 to 20 characters") as err:
        parse_scan(raw)
    assert err.value.field == "lot"


def test_an_over_long_serial_is_named():
    with pytest.raises(ScanError, match=r"serial number \(21\)") as err:
        parse_scan(f"01{GTIN}21{'S' * 21}")
    assert err.value.field == "serial"


@pytest.mark.parametrize(
    "raw", [f"01{GTIN}17271331", f"(01){GTIN}(17)271301", f"https://x.org/01/{GTIN}?17=270230"]
)
def test_an_impossible_expiry_date_is_named(raw):
    with pytest.raises(ScanError, match=r"expiry date \(17\) must be a valid date") as err:
        parse_scan(raw)
    assert err.value.field == "expiry"


def test_two_different_gtins_in_one_code_are_refused():
    with pytest.raises(ScanError, match="two different values for GTIN"):
        parse_scan(f"01{GTIN}0109506000134369")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello world", "no GS1 application identifier"),
        ("]", "not a symbology identifier"),
        ("]d2", "no data"),
        (f"01{GTIN}\x0421S", r"control character U\+0004"),
        ("https://example.com/about", "Digital Link could not be read"),
        ("x" * (MAX_SCAN_LENGTH + 1), "at most 512"),
    ],
)
def test_unreadable_input_gets_a_message_not_a_crash(raw, message):
    with pytest.raises(ScanError, match=message) as err:
        parse_scan(raw)
    assert err.value.field == "code"


def test_non_text_is_refused():
    with pytest.raises(ScanError, match="must be text"):
        parse_scan(b"0109506000134352")


# Pieces of real codes as well as stray characters, so the fuzzer reaches deep paths.
ANYTHING_A_SCANNER_SENDS = st.lists(
    st.sampled_from(
        [
            *"0123456789()]/?=&:.%ABCdQ1hpstxz|~ -_#\x1d\u241d",
            *["01", "17", "10", "21", "00", "https://", "]d2", "]C1", "(01)", GTIN],
            "106141412345678908",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(ANYTHING_A_SCANNER_SENDS, st.sampled_from([None, "|", "~"]))
def test_fuzzed_scans_either_parse_or_raise_scan_error(raw, separator):
    try:
        scan = parse_scan(raw, separator=separator)
    except ScanError as exc:
        assert exc.message
        assert exc.field in {"code", "gtin", "sscc", "lot", "serial", "expiry"}
        return
    assert scan.gtin or scan.sscc
    assert scan.gtin is None or (len(scan.gtin) == 14 and scan.gtin.isdigit())
    assert scan.sscc is None or (len(scan.sscc) == 18 and scan.sscc.isdigit())


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=3)))
def test_fuzzed_unicode_never_crashes_the_parser(raw, separator):
    try:
        parse_scan(raw, separator=separator)
    except ScanError as exc:
        assert exc.field in {"code", "gtin", "sscc", "lot", "serial", "expiry", "separator"}


GS1_TEXT = st.text(alphabet=st.sampled_from(list("ABCXYZ0123456789-./_")), min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(lot=GS1_TEXT, serial=GS1_TEXT, day=st.integers(1, 28), month=st.integers(1, 12))
def test_any_pack_reads_back_the_same_from_every_form(lot, serial, day, month):
    yymmdd = f"30{month:02d}{day:02d}"
    forms = [
        f"]d201{GTIN}17{yymmdd}10{lot}{GS}21{serial}",
        f"21{serial}{GS}10{lot}{GS}17{yymmdd}01{GTIN}",
        f"(01){GTIN}(17){yymmdd}(10){lot}(21){serial}",
        f"https://id.gs1.org/01/{GTIN}/10/{quote(lot, safe='')}"
        f"/21/{quote(serial, safe='')}?17={yymmdd}",
    ]
    for raw in forms:
        scan = parse_scan(raw)
        assert (scan.gtin, scan.lot, scan.serial, scan.expiry) == (
            GTIN,
            lot,
            serial,
            date(2030, month, day),
        ), raw
