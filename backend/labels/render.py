"""Envelope labels: a signed QR and the human-readable code, name, commune and procedure."""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

# --- Label geometry, in millimetres (a common 100 x 50 mm thermal label) ---
LABEL_WIDTH_MM = 100.0
LABEL_HEIGHT_MM = 50.0
# Keeps ink off the die-cut edge and the printer's unprintable strip.
LABEL_PADDING_MM = 3.0
# QR width including its quiet zone; large enough for a cheap phone camera at arm's length.
QR_TARGET_MM = 40.0
QR_LEFT_MM = 1.0  # the quiet zone is white already, so the QR needs little edge padding
QR_QUIET_MODULES = 4  # the QR standard's quiet zone; text never enters it
QR_TEXT_GAP_MM = 1.0  # extra air between the quiet zone and the text column
LINE_GAP_MM = 1.2  # leading between text lines
SECTION_GAP_MM = 2.5  # between the code and the recipient block

# --- Type sizes, in points (1 pt = 1/72 in), so they scale with the dpi ---
CODE_MAX_PT = 20.0
CODE_MIN_PT = 11.0
NAME_MAX_PT = 13.0
NAME_MIN_PT = 9.0
BODY_PT = 10.0
FOOTER_PT = 7.0
NAME_MAX_LINES = 2
PROCEDURE_MAX_LINES = 2
FIT_STEP_PT = 0.5

# --- A4 sheet for office printers ---
SHEET_WIDTH_MM = 210.0
SHEET_HEIGHT_MM = 297.0
SHEET_MIN_MARGIN_MM = 5.0  # most laser/inkjet printers cannot print closer to the edge
SHEET_FOOTER_MM = 8.0  # band reserved at the bottom for the page number
SHEET_FOOTER_PT = 8.0
CUT_DASH_MM = 2.0
CUT_GAP_MM = 1.5

MM_PER_INCH = 25.4
POINTS_PER_INCH = 72.0
ELLIPSIS = "\u2026"
WHITE = 1
BLACK = 0

# Debian/Ubuntu paths first (fonts-dejavu-core), then Fedora and Arch; all cover Vietnamese.
REGULAR_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
)
BOLD_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf",
)


@dataclass(frozen=True)
class LabelData:
    """What one envelope label shows; qr_payload is already signed by the domain."""

    code: str
    qr_payload: str
    recipient_name: str
    commune: str
    procedure: str
    office: str | None = None

    def __post_init__(self) -> None:
        if not self.qr_payload:
            raise ValueError("a label needs a QR payload")
        if not self.code:
            raise ValueError("a label needs an envelope code")


@dataclass(frozen=True)
class TextLine:
    """One drawn line of text: which field, the text, its font and its ink box in pixels."""

    field: str
    text: str
    font: ImageFont.FreeTypeFont
    xy: tuple[int, int]
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class LabelLayout:
    """Where everything goes on a label of size (width, height) pixels."""

    size: tuple[int, int]
    qr: Image.Image
    qr_xy: tuple[int, int]
    lines: tuple[TextLine, ...]

    @property
    def qr_box(self) -> tuple[int, int, int, int]:
        """The QR's box in pixels, quiet zone included."""
        x, y = self.qr_xy
        return (x, y, x + self.qr.width, y + self.qr.height)


def mm_to_px(mm: float, dpi: int) -> int:
    """Millimetres to whole pixels at the dpi."""
    return round(mm * dpi / MM_PER_INCH)


def pt_to_px(pt: float, dpi: int) -> int:
    """Points to whole pixels at the dpi."""
    return max(1, round(pt * dpi / POINTS_PER_INCH))


def find_font_path(bold: bool = False) -> str:
    """The first installed font from the known list, or a RuntimeError saying what to install."""
    candidates = BOLD_FONT_PATHS if bold else REGULAR_FONT_PATHS
    for path in candidates:
        if Path(path).is_file():
            return path
    raise RuntimeError(
        "No font with Vietnamese glyphs found for envelope labels; install the Debian package "
        f"'fonts-dejavu-core' (tried: {', '.join(candidates)})"
    )


@lru_cache(maxsize=64)
def load_font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """A TrueType font at a pixel size; never Pillow's bitmap default, which lacks Vietnamese."""
    return ImageFont.truetype(find_font_path(bold), size_px)


def format_code(code: str) -> str:
    """The code grouped for reading aloud: 'HC123456785VN' -> 'HC 123 456 785 VN'."""
    # 2-3-3-3-2, the grouping printed on UPU S10 items; only spaces, so typing it back is the
    # code with the spaces dropped. Anything not shaped like S10 is shown as is.
    c = code.strip().upper()
    if len(c) == 13 and c[:2].isalpha() and c[2:11].isdigit() and c[11:].isalpha():
        return f"{c[:2]} {c[2:5]} {c[5:8]} {c[8:11]} {c[11:]}"
    return c


def _clean(text: str | None) -> str:
    # NFC: decomposed input (combining marks, e.g. from macOS) would stack marks badly.
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _width(text: str, font: ImageFont.FreeTypeFont) -> float:
    return font.getlength(text)


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    if _width(text, font) <= max_width:
        return text
    lo, hi = 0, len(text)
    # Longest prefix that still fits with the ellipsis (binary search: widths grow with length).
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(text[:mid].rstrip() + ELLIPSIS, font) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    # Prefer a word boundary: "Phương…" reads better than "Phương Kh…" on a name.
    if " " in cut.strip() and not text[lo : lo + 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + ELLIPSIS


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int, max_lines: int) -> list[str]:
    words = text.split()
    lines: list[str] = []
    while words and len(lines) < max_lines - 1:
        # As many words as fit, at least one (a word wider than the column is cut).
        n = 1
        while n < len(words) and _width(" ".join(words[: n + 1]), font) <= max_width:
            n += 1
        lines.append(_ellipsize(" ".join(words[:n]), font, max_width))
        words = words[n:]
    if words:
        # The last allowed line takes the rest and ends with an ellipsis if it overflows.
        lines.append(_ellipsize(" ".join(words), font, max_width))
    return lines


def _fit_font(
    text: str, max_width: int, max_pt: float, min_pt: float, bold: bool, dpi: int
) -> ImageFont.FreeTypeFont:
    pt = max_pt
    while pt > min_pt:
        font = load_font(pt_to_px(pt, dpi), bold)
        if _width(text, font) <= max_width:
            return font
        pt -= FIT_STEP_PT
    return load_font(pt_to_px(min_pt, dpi), bold)


def _qr_image(payload: str, dpi: int) -> Image.Image:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=QR_QUIET_MODULES)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # includes the quiet zone
    modules = len(matrix)
    # Whole pixels per module: fractional scaling would make uneven, blurry modules.
    box = max(1, mm_to_px(QR_TARGET_MM, dpi) // modules)
    small = Image.new("1", (modules, modules), WHITE)
    small.putdata([BLACK if dark else WHITE for row in matrix for dark in row])
    return small.resize((modules * box, modules * box), Image.Resampling.NEAREST)


def layout_label(label: LabelData, *, dpi: int = 300) -> LabelLayout:
    """Compute the QR and every text line's position without drawing."""
    if dpi <= 0:
        raise ValueError("dpi must be positive")
    width, height = mm_to_px(LABEL_WIDTH_MM, dpi), mm_to_px(LABEL_HEIGHT_MM, dpi)
    pad = mm_to_px(LABEL_PADDING_MM, dpi)
    qr = _qr_image(label.qr_payload, dpi)
    qr_xy = (mm_to_px(QR_LEFT_MM, dpi), (height - qr.height) // 2)
    x0 = qr_xy[0] + qr.width + mm_to_px(QR_TEXT_GAP_MM, dpi)
    x1 = width - pad
    col = x1 - x0
    draw = ImageDraw.Draw(Image.new("1", (1, 1)))
    line_gap = mm_to_px(LINE_GAP_MM, dpi)
    lines: list[TextLine] = []

    def place(field: str, text: str, font: ImageFont.FreeTypeFont, y: int) -> int:
        # Anchor "la": y is the ascender line, so every line of a font keeps the same pitch.
        box = draw.textbbox((x0, y), text, font=font, anchor="la")
        lines.append(TextLine(field, text, font, (x0, y), tuple(int(v) for v in box)))
        ascent, descent = font.getmetrics()
        return y + ascent + descent

    y = pad
    code_text = format_code(label.code)
    code_font = _fit_font(code_text, col, CODE_MAX_PT, CODE_MIN_PT, True, dpi)
    y = place("code", _ellipsize(code_text, code_font, col), code_font, y)
    y += mm_to_px(SECTION_GAP_MM, dpi)

    name = _clean(label.recipient_name)
    if name:
        name_font = _fit_font(name, col, NAME_MAX_PT, NAME_MIN_PT, True, dpi)
        # A long name wraps rather than loses words: the postman reads it at the door.
        for text in _wrap(name, name_font, col, NAME_MAX_LINES):
            y = place("recipient_name", text, name_font, y)
        y += line_gap
    body = load_font(pt_to_px(BODY_PT, dpi))
    commune = _clean(label.commune)
    if commune:
        y = place("commune", _ellipsize(commune, body, col), body, y) + line_gap
    for text in _wrap(_clean(label.procedure), body, col, PROCEDURE_MAX_LINES):
        y = place("procedure", text, body, y)

    office = _clean(label.office)
    if office:
        small = load_font(pt_to_px(FOOTER_PT, dpi))
        ascent, descent = small.getmetrics()
        # Pinned to the bottom so the footer does not move with the procedure's length.
        place(
            "office",
            _ellipsize(office, small, col),
            small,
            height - pad - ascent - descent,
        )
    return LabelLayout((width, height), qr, qr_xy, tuple(lines))


def render_label(label: LabelData, *, dpi: int = 300) -> Image.Image:
    """The label as a 1-bit image of 100 x 50 mm at the dpi."""
    layout = layout_label(label, dpi=dpi)
    img = Image.new("1", layout.size, WHITE)
    img.paste(layout.qr, layout.qr_xy)
    draw = ImageDraw.Draw(img)
    # Thermal and laser printers are 1-bit: hinted, non-anti-aliased glyphs stay sharp.
    draw.fontmode = "1"
    for line in layout.lines:
        draw.text(line.xy, line.text, font=line.font, fill=BLACK, anchor="la")
    img.info["dpi"] = (dpi, dpi)
    return img


def render_label_png(label: LabelData, *, dpi: int = 300) -> bytes:
    """The label as an optimised 1-bit PNG with its dpi recorded."""
    out = io.BytesIO()
    render_label(label, dpi=dpi).save(out, format="PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def _dashed_line(
    draw: ImageDraw.ImageDraw,
    start: tuple[int, int],
    end: tuple[int, int],
    dash: int,
    gap: int,
) -> None:
    (x0, y0), (x1, y1) = start, end
    length = max(abs(x1 - x0), abs(y1 - y0))
    horizontal = y0 == y1
    for s in range(0, length, dash + gap):
        e = min(s + dash, length)
        if horizontal:
            draw.line([(x0 + s, y0), (x0 + e, y0)], fill=BLACK)
        else:
            draw.line([(x0, y0 + s), (x0, y0 + e)], fill=BLACK)


@dataclass(frozen=True)
class SheetGrid:
    """How labels tile an A4 page, in pixels."""

    page: tuple[int, int]
    origin: tuple[int, int]
    label: tuple[int, int]
    columns: int
    rows: int

    @property
    def per_page(self) -> int:
        """Labels on one page."""
        return self.columns * self.rows


def sheet_grid(dpi: int) -> SheetGrid:
    """The largest grid of labels that fits A4 inside the margins, centred."""
    page = (mm_to_px(SHEET_WIDTH_MM, dpi), mm_to_px(SHEET_HEIGHT_MM, dpi))
    label = (mm_to_px(LABEL_WIDTH_MM, dpi), mm_to_px(LABEL_HEIGHT_MM, dpi))
    usable_w = SHEET_WIDTH_MM - 2 * SHEET_MIN_MARGIN_MM
    usable_h = SHEET_HEIGHT_MM - 2 * SHEET_MIN_MARGIN_MM - SHEET_FOOTER_MM
    columns = math.floor(usable_w / LABEL_WIDTH_MM)
    rows = math.floor(usable_h / LABEL_HEIGHT_MM)
    if columns < 1 or rows < 1:
        raise ValueError("a label does not fit on the sheet")
    # Labels abut so one cut serves two neighbours; the grid is centred above the footer band.
    origin = (
        (page[0] - columns * label[0]) // 2,
        (page[1] - mm_to_px(SHEET_FOOTER_MM, dpi) - rows * label[1]) // 2,
    )
    return SheetGrid(page, origin, label, columns, rows)


def render_label_sheet_pdf(labels: Sequence[LabelData], *, dpi: int = 200) -> bytes:
    """An A4 PDF of labels in a grid with dashed cut lines and page numbers."""
    if not labels:
        raise ValueError("no labels to print")
    grid = sheet_grid(dpi)
    pages_total = math.ceil(len(labels) / grid.per_page)
    dash, gap = mm_to_px(CUT_DASH_MM, dpi), mm_to_px(CUT_GAP_MM, dpi)
    footer_font = load_font(pt_to_px(SHEET_FOOTER_PT, dpi))
    pages: list[Image.Image] = []
    for p in range(pages_total):
        chunk = labels[p * grid.per_page : (p + 1) * grid.per_page]
        # 1-bit pages: Pillow stores them CCITT G4 (lossless, small); greyscale would go JPEG
        # and blur the QR modules.
        page = Image.new("1", grid.page, WHITE)
        draw = ImageDraw.Draw(page)
        draw.fontmode = "1"
        for i, label in enumerate(chunk):
            r, c = divmod(i, grid.columns)
            x = grid.origin[0] + c * grid.label[0]
            y = grid.origin[1] + r * grid.label[1]
            page.paste(render_label(label, dpi=dpi), (x, y))
            w, h = grid.label
            for start, end in (
                ((x, y), (x + w, y)),
                ((x, y + h), (x + w, y + h)),
                ((x, y), (x, y + h)),
                ((x + w, y), (x + w, y + h)),
            ):
                _dashed_line(draw, start, end, dash, gap)
        footer_y = grid.page[1] - mm_to_px(SHEET_MIN_MARGIN_MM + SHEET_FOOTER_MM / 2, dpi)
        draw.text(
            (grid.page[0] // 2, footer_y),
            f"Trang {p + 1}/{pages_total}",
            font=footer_font,
            fill=BLACK,
            anchor="mm",
        )
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return out.getvalue()
