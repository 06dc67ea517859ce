"""Label sheets as PDF: a GS1 DataMatrix per pack and a GS1-128 symbol per case (SSCC),
each with its human-readable interpretation beside or beneath it, laid out on plain A4
or on common self-adhesive label sheets."""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from manufacturers.symbols import gs1_128, gs1_datamatrix, runs

# GS1 General Specifications, healthcare DataMatrix: X-dimension 0.254 mm at least.
MIN_MODULE = 0.254 * mm
MAX_MODULE = 0.5 * mm
PADDING = 2.5 * mm  # keeps print off the rounded, die-cut edge of a label
TEXT_FONT, TITLE_FONT = "Helvetica", "Helvetica-Bold"
MAX_FONT, MIN_FONT = 7.5, 5.0


@dataclass(frozen=True)
class Layout:
    key: str
    title: str
    page: tuple[float, float]
    columns: int
    rows: int
    width: float  # one label, in points
    height: float
    pitch_x: float  # from one label's left edge to the next one's
    pitch_y: float
    guides: bool = False  # plain paper: draw where to cut

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def corner(self, position: int) -> tuple[float, float]:
        """Bottom-left corner of the label at `position` (0 = top left, row by row)."""
        page_w, page_h = self.page
        left = (page_w - (self.columns - 1) * self.pitch_x - self.width) / 2
        top = (page_h - (self.rows - 1) * self.pitch_y - self.height) / 2
        row, column = divmod(position, self.columns)
        return left + column * self.pitch_x, page_h - top - row * self.pitch_y - self.height


def _in_mm(key, title, page, grid, size, pitch, guides=False) -> Layout:
    (columns, rows), (width, height), (pitch_x, pitch_y) = grid, size, pitch
    return Layout(
        key, title, page, columns, rows, width * mm, height * mm, pitch_x * mm, pitch_y * mm, guides
    )


LAYOUTS = {
    layout.key: layout
    for layout in (
        _in_mm("a4", "Plain A4: 3 x 9 labels of 64 x 30 mm with cut guides",
               A4, (3, 9), (64, 30), (64, 30), guides=True),
        _in_mm("a4-3x8", "A4 sheet of 24 labels, 63.5 x 33.9 mm (Avery L7159)",
               A4, (3, 8), (63.5, 33.9), (66, 33.9)),
        _in_mm("a4-3x7", "A4 sheet of 21 labels, 63.5 x 38.1 mm (Avery L7160)",
               A4, (3, 7), (63.5, 38.1), (66, 38.1)),
        _in_mm("a4-2x7", "A4 sheet of 14 labels, 99.1 x 38.1 mm (Avery L7163)",
               A4, (2, 7), (99.1, 38.1), (101.6, 38.1)),
        _in_mm("letter-3x10", "US Letter sheet of 30 labels, 2.625 x 1 in (Avery 5160)",
               LETTER, (3, 10), (66.675, 25.4), (69.85, 25.4)),
    )
}  # fmt: skip
DEFAULT_LAYOUT = "a4"


class LabelError(ValueError):
    """A label sheet that cannot be made as asked; `field` names the request parameter."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def layout_named(key: str | None) -> Layout:
    layout = LAYOUTS.get(key or DEFAULT_LAYOUT)
    if layout is None:
        raise LabelError(f"layout {key!r} is not one of {', '.join(LAYOUTS)}", field="layout")
    return layout


@dataclass(frozen=True)
class PackLabel:
    product: str
    gtin: str
    expiry: date
    lot: str
    serial: str

    def element_strings(self) -> list[tuple[str, str]]:
        expiry = f"{self.expiry:%y%m%d}"
        return [("01", self.gtin), ("17", expiry), ("10", self.lot), ("21", self.serial)]


@dataclass(frozen=True)
class CaseLabel:
    sscc: str
    caption: str = ""


def pack_labels_pdf(labels: Iterable[PackLabel], *, layout: Layout, skip: int = 0) -> bytes:
    """A PDF of pack labels; `skip` leaves that many labels of the first sheet unused."""
    return _sheets(labels, layout, skip, _draw_pack, title="Pack labels")


def case_labels_pdf(labels: Iterable[CaseLabel], *, layout: Layout, skip: int = 0) -> bytes:
    return _sheets(labels, layout, skip, _draw_case, title="Case labels")


def _sheets(labels, layout: Layout, skip: int, draw: Callable, *, title: str) -> bytes:
    if not 0 <= skip < layout.per_sheet:
        raise LabelError(
            f"skip must be 0 to {layout.per_sheet - 1} on a {layout.key} sheet", field="skip"
        )
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=layout.page, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    canvas.setCreator("Drug traceability")
    position, drawn = skip, 0
    for label in labels:
        if position == layout.per_sheet:
            canvas.showPage()
            position = 0
        x, y = layout.corner(position)
        if layout.guides:
            _draw_guide(canvas, x, y, layout)
        draw(canvas, label, x, y, layout)
        position, drawn = position + 1, drawn + 1
    if not drawn:
        raise LabelError("there are no labels to print", field="labels")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw_guide(canvas: Canvas, x: float, y: float, layout: Layout) -> None:
    canvas.saveState()
    canvas.setStrokeGray(0.8)
    canvas.setLineWidth(0.3)
    canvas.setDash(1, 2)
    canvas.rect(x, y, layout.width, layout.height, stroke=1, fill=0)
    canvas.restoreState()


def _draw_pack(canvas: Canvas, label: PackLabel, x: float, y: float, layout: Layout) -> None:
    grid = gs1_datamatrix(label.element_strings())
    room = min(layout.height - 2 * PADDING, layout.width * 0.42)
    module = min(MAX_MODULE, room / (len(grid) + 2))  # one module of quiet zone each side
    if module < MIN_MODULE:
        raise LabelError(f"the {layout.key} labels are too small for this code", field="layout")
    side = module * (len(grid) + 2)
    _draw_grid(canvas, grid, x + PADDING + module, y + (layout.height - side) / 2 + module, module)
    text_x = x + PADDING + side + 1.5 * mm
    lines = [f"({ai}) {value}" for ai, value in label.element_strings()]
    _draw_text_block(canvas, label.product, lines, text_x, y, x + layout.width - PADDING, layout)


def _draw_grid(canvas: Canvas, grid: list[str], x: float, y: float, module: float):
    canvas.saveState()
    canvas.translate(x, y + module * len(grid))
    canvas.scale(module, -module)  # one unit per module, rows downwards as in the grid
    # Whole-number rectangles written as PDF operators directly: reportlab's path API
    # formats every coordinate as a float, which made a 10,000-label batch take half a minute.
    canvas.addLiteral(
        " ".join(
            f"{start} {row} {length} 1 re"
            for row, modules in enumerate(grid)
            for start, length in runs(modules)
        )
        + " f"
    )
    canvas.restoreState()


def _draw_text_block(canvas, title, lines, x, y, right, layout: Layout) -> None:
    width = right - x
    size = _fitting_size(lines, width)
    leading = size * 1.25
    block = leading * (len(lines) + 1)
    top = y + (layout.height + block) / 2 - size
    canvas.setFont(TITLE_FONT, size)
    canvas.drawString(x, top, _clipped(title, TITLE_FONT, size, width))
    canvas.setFont(TEXT_FONT, size)
    for i, line in enumerate(lines, start=1):
        canvas.drawString(x, top - i * leading, line)


def _fitting_size(lines: list[str], width: float) -> float:
    widest = max(stringWidth(line, TEXT_FONT, MAX_FONT) for line in lines)
    size = min(MAX_FONT, MAX_FONT * width / widest)
    if size < MIN_FONT:
        raise LabelError("the label is too narrow for its human-readable text", field="layout")
    return size


def _clipped(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _draw_case(canvas: Canvas, label: CaseLabel, x: float, y: float, layout: Layout) -> None:
    bars = gs1_128(f"00{label.sscc}")
    module = min(MAX_MODULE, (layout.width - 2 * PADDING) / (len(bars) + 20))  # 10X quiet zones
    if module < MIN_MODULE:
        raise LabelError(f"the {layout.key} labels are too narrow for an SSCC", field="layout")
    size = MAX_FONT
    bar_height = layout.height - 2 * PADDING - 2.6 * size
    left = x + (layout.width - module * len(bars)) / 2
    bottom = y + PADDING + 1.3 * size
    path = canvas.beginPath()
    for start, length in runs(bars):
        path.rect(left + start * module, bottom, length * module, bar_height)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.setFont(TEXT_FONT, size)
    canvas.drawCentredString(x + layout.width / 2, y + PADDING, f"(00) {label.sscc}")
    if label.caption:
        canvas.setFont(TITLE_FONT, size)
        caption = _clipped(label.caption, TITLE_FONT, size, layout.width - 2 * PADDING)
        canvas.drawCentredString(x + layout.width / 2, y + layout.height - PADDING - size, caption)
