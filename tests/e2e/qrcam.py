"""A QR code in front of Chromium's fake camera: a one-frame Y4M video (BROWSER-TESTING.md)."""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image

FRAME_SIZE = (640, 480)
QR_SHARE = 0.6  # of the frame's smaller side, centred: some decoders scan only the middle


def qr_frame(text: str, size: tuple[int, int] = FRAME_SIZE) -> Image.Image:
    """A white frame with the QR code of `text` centred at 0.6 of its smaller side."""
    width, height = size
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(text)
    code.make(fit=True)
    qr = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    side = int(min(width, height) * QR_SHARE)
    qr = qr.resize((side, side), Image.NEAREST)
    frame = Image.new("RGB", (width, height), "white")
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    return frame


def write_y4m(path: str | Path, frame: Image.Image, fps: int = 30) -> Path:
    """Write one RGB frame (even width and height) as a YUV 4:2:0 Y4M file."""
    w, h = frame.size
    y, cb, cr = frame.convert("YCbCr").split()
    cb, cr = (c.resize((w // 2, h // 2)) for c in (cb, cr))
    path = Path(path)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        f.write(b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes())
    return path


def write_qr_y4m(path: str | Path, text: str) -> Path:
    """Make the fake camera show the QR code of `text` (rewrite between scans: it is re-read
    at each getUserMedia)."""
    return write_y4m(path, qr_frame(text))
