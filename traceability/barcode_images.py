"""Codes in a photo, read on the server with zxing-cpp: for phones whose browser cannot
scan live, and for a picture someone sends in. The reader hands back what a scanner
would: symbology identifier plus the data, which `parse_scan` then reads."""

from dataclasses import dataclass

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel camera; more is a decompression bomb, not a photo
# The symbols that carry pack and case codes: GS1 DataMatrix, GS1 QR / Digital Link,
# GS1-128 (SSCC), GS1 DataBar Expanded and the retail EAN/UPC.
FORMATS = zxingcpp.barcode_formats_from_str("DataMatrix,QRCode,Code128,DataBarExp,EAN13,UPCA")


class ImageUnreadable(ValueError):
    pass


@dataclass(frozen=True)
class FoundCode:
    raw: str  # symbology identifier + data, e.g. "]d2010950...": what parse_scan takes
    format: str  # e.g. "DataMatrix"


def codes_in_image(upload) -> list[FoundCode]:
    """Every readable code in the uploaded image file, top to bottom."""
    if upload.size > MAX_IMAGE_BYTES:
        raise ImageUnreadable(
            f"the photo is {upload.size / 1e6:.1f} MB; at most {MAX_IMAGE_BYTES // 2**20} MB"
        )
    image = _opened(upload)
    found = zxingcpp.read_barcodes(image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    found = sorted(found, key=lambda b: (b.position.top_left.y, b.position.top_left.x))
    return [FoundCode(b.symbology_identifier + b.text, b.format.name) for b in found if b.valid]


NOT_AN_IMAGE = "the file is not an image we can read (JPEG, PNG or WebP)"


def _opened(upload) -> Image.Image:
    try:
        image = Image.open(upload)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        raise ImageUnreadable(NOT_AN_IMAGE) from None
    if image.width * image.height > MAX_PIXELS:
        raise ImageUnreadable(f"the photo has more than {MAX_PIXELS // 10**6} megapixels")
    try:
        return ImageOps.exif_transpose(image).convert("L")  # phones store portraits turned
    except (OSError, ValueError):
        raise ImageUnreadable(f"{NOT_AN_IMAGE}; it may be cut short") from None
