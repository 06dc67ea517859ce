"""The barcodes on labels, as module grids a PDF draws as vector rectangles.

DataMatrix comes from zxing-cpp's writer in GS1 mode (FNC1 first, so a reader reports
]d2); GS1-128 from python-barcode, whose Gs1_128 puts FNC1 after the start character
(a reader reports ]C1). Tests decode what these draw with zxing-cpp.
"""

import re

from barcode.codex import Gs1_128
from zxingcpp import BarcodeFormat, create_barcode

# zxing-cpp images are 8-bit grey, dark modules 0: spell them "1", as python-barcode does.
PIXELS_TO_MODULES = bytes.maketrans(b"\x00\xff", b"10")
DARK_RUN = re.compile("1+")


def gs1_datamatrix(element_strings: list[tuple[str, str]]) -> list[str]:
    """Rows of modules ("1" = dark) of a square GS1 DataMatrix, quiet zone not included.

    `element_strings` are (AI, value) pairs; square brackets delimit AIs for the writer
    because they, unlike parentheses, cannot occur in GS1 data.
    """
    content = "".join(f"[{ai}]{value}" for ai, value in element_strings)
    # zxing-cpp ignores option names it does not know, so the shape is checked below.
    symbol = create_barcode(content, BarcodeFormat.DataMatrix, gs1=True, force_square=True)
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    if height != width or symbol.symbology_identifier != "]d2":
        raise RuntimeError(f"zxing-cpp made a {width}x{height} {symbol.symbology_identifier}")
    modules = bytes(memoryview(image)).translate(PIXELS_TO_MODULES).decode("ascii")
    return [modules[r * width : (r + 1) * width] for r in range(height)]


def gs1_128(element_string: str) -> str:
    """Bars and spaces ("1" = bar) of a GS1-128 symbol, quiet zones not included."""
    return Gs1_128(element_string).build()[0]


def runs(modules: str) -> list[tuple[int, int]]:
    """(start, length) of each stretch of dark modules: one rectangle each, not one per module."""
    return [(m.start(), m.end() - m.start()) for m in DARK_RUN.finditer(modules)]
