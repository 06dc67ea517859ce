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
