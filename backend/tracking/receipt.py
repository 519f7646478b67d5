"""The citizen's delivery receipt: one A5 page as a PDF, drawn with Pillow like the office's
records (backend/console/records.py), in the fonts that carry Vietnamese."""

from __future__ import annotations

import io

from flask_babel import format_datetime
from flask_babel import gettext as _
from PIL import Image, ImageDraw

from backend.labels.render import format_code, load_font
from backend.tracking.services import Receipt

DPI = 150
A5_PX = (round(5.83 * DPI), round(8.27 * DPI))
MARGIN = round(0.5 * DPI)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """The text in lines no wider than `width` pixels, broken between words."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def render_receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt: what was handed over, when and to whom (masked), and its verification code."""
    title, body, bold, small, code_font = (
        load_font(30, bold=True),
        load_font(20),
        load_font(20, bold=True),
        load_font(16),
        load_font(40, bold=True),
    )
    page = Image.new("L", A5_PX, 255)
    draw = ImageDraw.Draw(page)
    left, width = MARGIN, A5_PX[0] - 2 * MARGIN
    centre = A5_PX[0] // 2
    y = MARGIN
    draw.text((centre, y), _("DELIVERY RECEIPT"), font=title, fill=0, anchor="mt")
    y += 44
    draw.text((centre, y), receipt.office_name, font=body, fill=0, anchor="mt")
    y += 50
    facts = [
        (_("Envelope"), format_code(receipt.envelope_code)),
        (_("Procedure"), receipt.procedure_name),
        (_("Result"), receipt.result_type),
        (
            _("Collected at") if receipt.collected else _("Delivered at"),
            format_datetime(receipt.handed_at, "short"),
        ),
        (_("Received by"), receipt.handed_to),
    ]
    for label, value in facts:
        draw.text((left, y), f"{label}:", font=bold, fill=0)
        y += 28
        for line in _wrap(draw, value, body, width - 20):
            draw.text((left + 20, y), line, font=body, fill=0)
            y += 28
        y += 8
    y += 20
    draw.line((left, y, left + width, y), fill=0, width=2)
    y += 24
    draw.text((centre, y), _("Verification code"), font=bold, fill=0, anchor="mt")
    y += 36
    draw.text((centre, y), receipt.verification_code, font=code_font, fill=0, anchor="mt")
    y += 70
    note = _(
        "The post office can check this code against its records: give it with the envelope "
        "code at any post office."
    )
    for line in _wrap(draw, note, small, width):
        draw.text((left, y), line, font=small, fill=0)
        y += 24
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=float(DPI))
    return out.getvalue()
