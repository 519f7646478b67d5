"""Envelope labels: PNG for thermal printers, A4 PDF sheets for office printers."""

from backend.labels.render import (
    LabelData,
    LabelLayout,
    TextLine,
    find_font_path,
    format_code,
    layout_label,
    render_label,
    render_label_png,
    render_label_sheet_pdf,
)

__all__ = [
    "LabelData",
    "LabelLayout",
    "TextLine",
    "find_font_path",
    "format_code",
    "layout_label",
    "render_label",
    "render_label_png",
    "render_label_sheet_pdf",
]
