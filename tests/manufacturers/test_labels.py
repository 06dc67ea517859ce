"""Label sheets: every printed symbol decodes as real GS1 with the pack's data."""

from datetime import date

import pytest

from manufacturers.labels import (
    LAYOUTS,
    CaseLabel,
    LabelError,
    PackLabel,
    case_labels_pdf,
    pack_labels_pdf,
)
from tests.barcodes import decode_pages
from traceability.scanning import parse_scan

GS = "\x1d"


def packs(n, lot="LOT-24/01(A)"):
    return [
        PackLabel("Amoxicillin 500 mg capsules, 20", "09506000134352", date(2027, 2, 28), lot, s)
        for s in (f"SN{i:05d}%Z" for i in range(n))
    ]


def element_string(label):
    return f"01{label.gtin}17{label.expiry:%y%m%d}10{label.lot}{GS}21{label.serial}"


def test_every_pack_label_decodes_as_gs1_datamatrix_with_its_element_strings(tmp_path):
    labels = packs(30)
    pages = decode_pages(pack_labels_pdf(labels, layout=LAYOUTS["a4"]), tmp_path)
    assert [len(found) for found in pages] == [27, 3]  # 27 labels on a plain A4 sheet
    decoded = [d for found in pages for d in found]
    assert {d.symbology for d in decoded} == {"]d2"}
    assert sorted(d.text for d in decoded) == sorted(element_string(p) for p in labels)


def test_a_decoded_label_scans_back_to_the_same_pack(tmp_path):
    (label,) = packs(1)
    ((decoded,),) = decode_pages(pack_labels_pdf([label], layout=LAYOUTS["a4"]), tmp_path)
    scan = parse_scan(decoded.symbology + decoded.text)
    assert (scan.gtin, scan.expiry, scan.lot, scan.serial) == (
        label.gtin,
        label.expiry,
        label.lot,
        label.serial,
    )


@pytest.mark.parametrize("key", [k for k in LAYOUTS if k != "a4"])
def test_each_label_sheet_layout_fills_a_sheet_and_decodes(tmp_path, key):
    layout = LAYOUTS[key]
    labels = packs(layout.per_sheet + 1)
    pages = decode_pages(pack_labels_pdf(labels, layout=layout), tmp_path)
    assert [len(found) for found in pages] == [layout.per_sheet, 1]
    assert {d.symbology for found in pages for d in found} == {"]d2"}


def test_skip_leaves_the_used_part_of_a_first_sheet_blank(tmp_path):
    layout = LAYOUTS["a4-3x8"]
    pages = decode_pages(pack_labels_pdf(packs(24), layout=layout, skip=20), tmp_path)
    assert [len(found) for found in pages] == [4, 20]


def test_skip_beyond_a_sheet_is_refused_naming_skip():
    with pytest.raises(LabelError, match="skip must be 0 to 23") as err:
        pack_labels_pdf(packs(1), layout=LAYOUTS["a4-3x8"], skip=24)
    assert err.value.field == "skip"


def test_longest_lot_and_serial_still_fit_and_decode(tmp_path):
    labels = [
        PackLabel("A product with a very long name that will not fit", "09506000134352",
                  date(2030, 12, 31), "L" * 20, "S" * 20)
    ]  # fmt: skip
    for key, layout in LAYOUTS.items():
        folder = tmp_path / key
        folder.mkdir()
        ((decoded,),) = decode_pages(pack_labels_pdf(labels, layout=layout), folder)
        assert decoded.text == element_string(labels[0]), key


def test_case_labels_decode_as_gs1_128_with_their_sscc(tmp_path):
    ssccs = ["106141412345678908", "006141410000000019", "376104250021234569"]
    labels = [CaseLabel(s, f"Case {i} of lot A1B2") for i, s in enumerate(ssccs, start=1)]
    pages = decode_pages(case_labels_pdf(labels, layout=LAYOUTS["a4-2x7"]), tmp_path)
    assert sorted((d.symbology, d.text) for d in pages[0]) == sorted(
        ("]C1", f"00{s}") for s in ssccs
    )


def test_an_empty_batch_is_refused_not_an_empty_pdf():
    with pytest.raises(LabelError, match="no labels"):
        pack_labels_pdf([], layout=LAYOUTS["a4"])
