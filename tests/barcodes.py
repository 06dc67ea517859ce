"""Read barcodes back the way a checker would: PDF pages rendered to PNG by pdftoppm,
decoded by zxing-cpp, each symbol with its symbology identifier and raw element string."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image


@dataclass(frozen=True)
class Decoded:
    symbology: str  # e.g. "]d2" for GS1 DataMatrix, "]C1" for GS1-128
    text: str  # element string with ASCII 29 between variable-length fields


def render_pdf(pdf: bytes, folder: Path, dpi: int = 200) -> list[Path]:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (Debian package poppler-utils) is needed to check label sheets")
    source = folder / "labels.pdf"
    source.write_bytes(pdf)
    subprocess.run(  # noqa: S603
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(folder / "page")],  # noqa: S607
        check=True,
    )
    return sorted(folder.glob("page-*.png"))


def decode_image(image: Image.Image) -> list[Decoded]:
    found = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    return [Decoded(b.symbology_identifier, b.text) for b in found]


def decode_pages(pdf: bytes, folder: Path) -> list[list[Decoded]]:
    return [decode_image(Image.open(page)) for page in render_pdf(pdf, folder)]


def symbol_image(content: str, fmt=zxingcpp.BarcodeFormat.DataMatrix, scale: int = 8):
    """A printed GS1 symbol as a PIL image: `content` in zxing-cpp's bracketed GS1 syntax,
    e.g. "[01]09506000134352[21]ABC"."""
    symbol = zxingcpp.create_barcode(content, fmt, gs1=True)
    image = symbol.to_image(scale=scale)
    height, width = image.shape
    return Image.frombytes("L", (width, height), bytes(memoryview(image)))


def photo_of(symbols, size=(1200, 900), angle: float = 7) -> Image.Image:
    """Symbols on a grey desk, turned a little, as a phone photo would have them."""
    photo = Image.new("L", size, 170)
    x = 80
    for symbol in symbols:
        turned = symbol.convert("RGBA").rotate(angle, expand=True, fillcolor=(170, 170, 170, 255))
        photo.paste(turned.convert("L"), (x, 120))
        x += turned.width + 80
    return photo
