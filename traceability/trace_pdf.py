"""The trace as a PDF a regulator can file: summary, the distribution tree,
the holders table and the checkpoint the numbers were computed against."""

import io
from collections import defaultdict

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    LongTable,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from traceability.trace import BUCKETS, Trace

PAGE = landscape(A4)
WIDTH = PAGE[0] - 30 * mm
NODES_PER_GROUP = 6  # more receivers of one sender than this are drawn as one box
BOX_H = 26
GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def trace_pdf(trace: Trace) -> bytes:
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    batch = trace.batch
    doc = SimpleDocTemplate(
        out, pagesize=PAGE, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=f"Trace of lot {batch.lot}",
    )  # fmt: skip
    story = [
        Paragraph(f"Batch trace: lot {batch.lot} of {batch.product.name}", styles["Title"]),
        _summary(trace),
        Spacer(1, 4 * mm),
        Paragraph("Distribution tree", styles["Heading2"]),
        _tree(trace),
        Paragraph("Holders", styles["Heading2"]),
        _holders(trace),
        Spacer(1, 4 * mm),
        Paragraph("Computed against this signed checkpoint", styles["Heading2"]),
        Preformatted(trace.checkpoint.note, styles["Code"]),
    ]
    doc.build(story)
    return out.getvalue()


def _summary(trace: Trace) -> Table:
    batch, totals = trace.batch, trace.totals()
    maker = batch.product.manufacturer
    recalls = list(batch.recalls.order_by("issued_entry"))
    recall = (
        "; ".join(
            f"class {r.recall_class} by {r.issuer.name} on {r.issued_at:%Y-%m-%d %H:%M} UTC "
            f"(ledger #{r.issued_entry}): {r.reason}"
            for r in recalls
        )
        or "not recalled"
    )
    style = getSampleStyleSheet()["BodyText"]
    rows = [
        ["Product", f"{batch.product.name} (GTIN {batch.product.gtin})"],
        ["Manufacturer", f"{maker.name} (GLN {maker.gln})"],
        ["Lot / expiry", f"{batch.lot} / {batch.expires_on.isoformat()}"],
        ["Quantity", f"{batch.quantity:,} {'serialized packs' if batch.serialized else 'units'}"],
        ["Recall", Paragraph(recall, style)],
        ["Where the units are", ", ".join(f"{b.replace('_', ' ')} {totals[b]:,}" for b in BUCKETS)
         + f", unaccounted {trace.unaccounted:,}"],
        ["Holders", f"{len(trace.holders):,} organisations"],
        ["Computed", f"{trace.computed_at:%Y-%m-%d %H:%M:%S} UTC at ledger size "
         f"{trace.checkpoint.size:,}, root {trace.checkpoint.root_b64}"],
    ]  # fmt: skip
    table = Table(rows, colWidths=[45 * mm, WIDTH - 45 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                ("FONT", (1, 0), (1, -1), "Helvetica", 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _holders(trace: Trace) -> LongTable:
    header = ["Organisation", "GLN", "Role", *(b.replace("_", " ") for b in BUCKETS)]
    rows = [header]
    for h in trace.holders:
        counts = [f"{h.counts[b]:,}" for b in BUCKETS]
        rows.append([h.org.name[:40], h.org.gln, h.org.role, *counts])
    rows.append(["Unaccounted (stolen, exported)", "", "", f"{trace.unaccounted:,}"])
    widths = [70 * mm, 30 * mm, 25 * mm] + [(WIDTH - 125 * mm) / len(BUCKETS)] * len(BUCKETS)
    table = LongTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(GRID)
    return table


def _tree(trace: Trace) -> Drawing:
    """Manufacturer, then each level of receivers; a sender's many receivers are
    drawn as one box that sums them."""
    paths = {h.org.pk: h.path for h in trace.holders}
    levels: dict[int, list] = defaultdict(list)
    units_to: dict[int, int] = {}
    for h in trace.holders:
        if h.path or h.org.pk == trace.batch.product.manufacturer_id:
            levels[len(h.path)].append(h)
            units_to[h.org.pk] = h.path[-1].shipped if h.path else trace.batch.quantity
    rows = [_level_boxes(levels[d], paths, units_to) for d in sorted(levels)]
    height = max(len(rows), 1) * (BOX_H + 40) + 10
    drawing = Drawing(WIDTH, height)
    centres: dict[int, tuple[float, float]] = {}
    for depth, boxes in enumerate(rows):
        y = height - 10 - BOX_H - depth * (BOX_H + 40)
        slot = WIDTH / max(len(boxes), 1)
        for i, (label, detail, members, parent) in enumerate(boxes):
            x = i * slot + 2
            w = min(slot - 4, 150)
            drawing.add(Rect(x, y, w, BOX_H, fillColor=colors.HexColor("#eef3f8"), strokeWidth=0.5))
            chars = max(int(w / 3.6), 4)
            drawing.add(String(x + 3, y + BOX_H - 10, label[:chars], fontSize=7))
            detail = detail[:chars]
            drawing.add(String(x + 3, y + 4, detail, fontSize=6, fillColor=colors.HexColor("#444")))
            for pk in members:
                centres[pk] = (x + w / 2, y)
            if parent in centres:
                px, py = centres[parent]
                drawing.add(Line(px, py, x + w / 2, y + BOX_H, strokeWidth=0.5))
    return drawing


def _level_boxes(holders, paths, units_to) -> list[tuple[str, str, list[int], int | None]]:
    by_parent: dict[int | None, list] = defaultdict(list)
    for h in holders:
        parent = paths[h.org.pk][-1].sender.pk if paths[h.org.pk] else None
        by_parent[parent].append(h)
    boxes = []
    for parent, group in by_parent.items():
        if len(group) > NODES_PER_GROUP:
            held = sum(h.counts["on_hand"] + h.counts["quarantined"] for h in group)
            units = sum(units_to[h.org.pk] for h in group)
            boxes.append(
                (f"{len(group):,} {group[0].org.role}s", f"got {units:,}, hold {held:,}",
                 [h.org.pk for h in group], parent)
            )  # fmt: skip
            continue
        for h in sorted(group, key=lambda h: h.org.name):
            held = h.counts["on_hand"] + h.counts["quarantined"]
            boxes.append(
                (h.org.name, f"got {units_to[h.org.pk]:,}, hold {held:,}", [h.org.pk], parent)
            )
    return boxes
