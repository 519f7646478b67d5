"""Envelope labels: the QR scans back to a verified code, text fits, sheets paginate."""

from __future__ import annotations

import io
import itertools
import struct

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageFont, PdfParser

from backend.domain.codes import make_envelope_code
from backend.domain.envelope_qr import sign_envelope_qr, verify_envelope_qr
from backend.labels import (
    LabelData,
    layout_label,
    render_label,
    render_label_png,
    render_label_sheet_pdf,
)
from backend.labels.render import (
    LABEL_HEIGHT_MM,
    LABEL_PADDING_MM,
    LABEL_WIDTH_MM,
    MM_PER_INCH,
    find_font_path,
    format_code,
)

KEY = b"test-envelope-qr-key-32-bytes!!!"
NAME = "Nguyễn Thị Hồng Nhung"
LONG_PROCEDURE = (
    "Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền "
    "với đất do thay đổi thông tin về người sử dụng đất, chủ sở hữu tài sản gắn liền với đất"
)


def make_label(serial: int = 12345678, **overrides: str) -> LabelData:
    """A realistic label whose QR is signed with the test key."""
    code = make_envelope_code(serial)
    fields = {
        "recipient_name": NAME,
        "commune": "Phường Đông Kinh",
        "procedure": "Cấp Căn cước",
        "office": "Bưu điện tỉnh Lạng Sơn",
    }
    fields.update(overrides)
    return LabelData(code=code, qr_payload=sign_envelope_qr(code, KEY), **fields)


def expected_size(dpi: int) -> tuple[int, int]:
    """Label size in pixels at the dpi."""
    return (
        round(LABEL_WIDTH_MM * dpi / MM_PER_INCH),
        round(LABEL_HEIGHT_MM * dpi / MM_PER_INCH),
    )


def decode_qr_texts(img: Image.Image) -> list[str]:
    """Every QR code zxing finds in the image."""
    return [
        r.text
        for r in zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    ]


def _ccitt_to_image(data: bytes, width: int, height: int, parms: dict) -> Image.Image:
    """Wrap a PDF CCITT G4 stream in a minimal TIFF so Pillow (libtiff) can decode it."""
    assert parms.get(b"K") == -1, "only Group 4 is expected from Pillow"
    # BlackIs1 with DeviceGray means decoded black runs read as 1 = white, i.e. MinIsBlack.
    photometric = 1 if parms.get(b"BlackIs1") else 0
    tags = [
        (256, 4, width),
        (257, 4, height),
        (258, 3, 1),
        (259, 3, 4),
        (262, 3, photometric),
        (273, 4, 8),
        (277, 3, 1),
        (278, 4, height),
        (279, 4, len(data)),
    ]
    ifd_offset = 8 + len(data) + (len(data) % 2)
    ifd = struct.pack("<H", len(tags))
    for tag, typ, value in tags:
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, 1) + packed
    ifd += struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", ifd_offset) + data + b"\x00" * (len(data) % 2) + ifd
    img = Image.open(io.BytesIO(tiff))
    img.load()
    return img


def pdf_page_images(pdf: bytes) -> list[Image.Image]:
    """The raster image of each PDF page, decoded from the streams Pillow's writer embeds."""
    parser = PdfParser.PdfParser(buf=pdf)
    images = []
    for page_ref in parser.pages:
        page = parser.read_indirect(page_ref)
        (ref,) = page[b"Resources"][b"XObject"].values()
        stream = parser.read_indirect(ref)
        d = stream.dictionary
        width, height = d[b"Width"], d[b"Height"]
        filters = d[b"Filter"] if isinstance(d[b"Filter"], list) else [d[b"Filter"]]
        (name,) = filters
        if name == b"DCTDecode":
            img = Image.open(io.BytesIO(stream.buf))
        elif name == b"FlateDecode":
            mode = "1" if d[b"BitsPerComponent"] == 1 else "L"
            img = Image.frombytes(mode, (width, height), stream.decode())
        elif name == b"CCITTFaxDecode":
            parms = d[b"DecodeParms"]
            parms = parms[0] if isinstance(parms, list) else parms
            img = _ccitt_to_image(stream.buf, width, height, dict(parms))
        else:
            raise AssertionError(f"unexpected PDF image filter {name!r}")
        assert img.size == (width, height)
        images.append(img)
    return images


def test_png_qr_decodes_to_the_signed_payload_and_verifies():
    label = make_label()
    png = render_label_png(label)
    img = Image.open(io.BytesIO(png))
    assert decode_qr_texts(img) == [label.qr_payload]
    assert verify_envelope_qr(label.qr_payload, KEY) == label.code


@pytest.mark.parametrize("dpi", [203, 300])
def test_png_is_100_by_50_mm_at_the_dpi_and_records_it(dpi):
    img = Image.open(io.BytesIO(render_label_png(make_label(), dpi=dpi)))
    assert img.size == expected_size(dpi)
    assert img.mode in ("1", "L")
    assert tuple(round(v) for v in img.info["dpi"]) == (dpi, dpi)
    assert decode_qr_texts(img) == [make_label().qr_payload]


def test_qr_is_crisp_black_and_white_and_about_40_mm():
    label = make_label()
    layout = layout_label(label, dpi=300)
    qr_mm = layout.qr.width * MM_PER_INCH / 300
    assert 36 <= qr_mm <= 40.5
    histogram = render_label(label).convert("L").histogram()
    assert sum(histogram[1:255]) == 0  # no grey pixels


def test_sheet_pdf_has_two_pages_whose_qr_codes_all_verify():
    labels = [make_label(serial=10_000_000 + i) for i in range(12)]
    pdf = render_label_sheet_pdf(labels)
    assert pdf.startswith(b"%PDF")
    pages = pdf_page_images(pdf)
    assert len(pages) == 2
    decoded = [text for page in pages for text in decode_qr_texts(page)]
    assert sorted(decoded) == sorted(label.qr_payload for label in labels)
    assert {verify_envelope_qr(text, KEY) for text in decoded} == {lab.code for lab in labels}
    # Ten labels fit an A4 page: 2 columns x 5 rows.
    assert len(decode_qr_texts(pages[0])) == 10
    assert len(decode_qr_texts(pages[1])) == 2


def test_sheet_pdf_page_is_a4():
    (page,) = pdf_page_images(render_label_sheet_pdf([make_label()], dpi=100))
    width_mm, height_mm = (v * MM_PER_INCH / 100 for v in page.size)
    assert width_mm == pytest.approx(210, abs=0.5)
    assert height_mm == pytest.approx(297, abs=0.5)


def test_empty_sheet_is_refused():
    with pytest.raises(ValueError):
        render_label_sheet_pdf([])


def test_label_without_payload_is_refused():
    with pytest.raises(ValueError):
        LabelData("HC123456785VN", "", NAME, "Phường Đông Kinh", "Cấp Căn cước")


def test_vietnamese_name_is_drawn_with_a_truetype_font():
    with_name = render_label(make_label())
    without = render_label(make_label(recipient_name=""))
    (name_line,) = [
        line for line in layout_label(make_label()).lines if line.field == "recipient_name"
    ]
    assert isinstance(name_line.font, ImageFont.FreeTypeFont)
    assert name_line.font.path.endswith(("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"))
    assert ImageChops.difference(with_name, without).getbbox() is not None
    # Ink inside the name's box.
    assert with_name.convert("L").crop(name_line.box).getextrema()[0] == 0


def test_diacritics_change_the_drawn_name():
    # Accents above and below (ễ, ị, ồ) must be drawn, not dropped or boxed.
    plain = render_label(make_label(recipient_name="Nguyen Thi Hong Nhung"))
    accented = render_label(make_label(recipient_name=NAME))
    assert ImageChops.difference(plain, accented).getbbox() is not None


def test_decomposed_vietnamese_renders_like_composed():
    import unicodedata

    nfd = unicodedata.normalize("NFD", NAME)
    a = render_label(make_label(recipient_name=NAME))
    b = render_label(make_label(recipient_name=nfd))
    assert ImageChops.difference(a, b).getbbox() is None


def test_long_texts_stay_inside_the_label():
    label = make_label(
        recipient_name="Tôn Nữ Hoàng Thị Phương Khánh Ngọc Trâm Anh Diễm Kiều " * 2,
        commune="Xã Ia Chim thuộc thành phố Kon Tum trước sáp nhập, tỉnh Quảng Ngãi",
        procedure=LONG_PROCEDURE,
        office="Trung tâm Phục vụ Hành chính công tỉnh Lạng Sơn — Bưu điện Trung tâm",
    )
    dpi = 300
    layout = layout_label(label, dpi=dpi)
    width, height = layout.size
    pad = round(LABEL_PADDING_MM * dpi / MM_PER_INCH)
    procedure = [line for line in layout.lines if line.field == "procedure"]
    assert len(procedure) == 2
    names = [line for line in layout.lines if line.field == "recipient_name"]
    assert len(names) == 2
    assert procedure[-1].text.endswith("…")
    qr_right = layout.qr_box[2]
    for line in layout.lines:
        x0, y0, x1, y1 = line.box
        assert qr_right <= x0 and x1 <= width - pad, line
        assert y0 >= 0 and y1 <= height, line
    # Lines do not overlap each other.
    boxes = sorted(line.box for line in layout.lines)
    ys = sorted((b[1], b[3]) for b in boxes)
    assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(ys))
    # And nothing was actually drawn in the right padding.
    img = render_label(label, dpi=dpi)
    right_padding = img.convert("L").crop((width - pad, 0, width, height))
    assert right_padding.getextrema() == (255, 255)


def test_code_is_grouped_with_spaces_only():
    assert format_code("HC123456785VN") == "HC 123 456 785 VN"
    assert format_code("HC 123 456 785 VN".replace(" ", "")) == "HC 123 456 785 VN"
    assert format_code("odd") == "ODD"


def test_missing_fonts_name_the_debian_package(monkeypatch):
    from backend.labels import render

    monkeypatch.setattr(render, "REGULAR_FONT_PATHS", ("/nonexistent/font.ttf",))
    with pytest.raises(RuntimeError, match="fonts-dejavu-core"):
        find_font_path(bold=False)


@pytest.mark.parametrize(
    "procedure",
    ["", "Cấp Căn cước", "X" * 300, LONG_PROCEDURE, "Đất " * 200],
)
def test_procedure_wraps_to_at_most_two_lines_inside_the_column(procedure):
    layout = layout_label(make_label(procedure=procedure), dpi=203)
    lines = [line for line in layout.lines if line.field == "procedure"]
    assert len(lines) <= 2
    for line in lines:
        assert line.box[2] <= layout.size[0]
