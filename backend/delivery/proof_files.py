"""The files of a proof: counted, sized, matched to their SHA-256, proven to be the images they
claim, bounded in pixels per kind before anything is decoded; and their display copies."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import Invalid, TooLarge
from backend.storage import sha256_hex

# The type each file must be, as Pillow names it, and the content type it is served with.
FILE_FORMATS = {"signature": "PNG", "photo": "JPEG", "authorization": "JPEG"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg"}
# Some phone cameras write JPEGs with extra pictures inside (MPO): still JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}
# Photos of the hand-over get a smaller, metadata-free copy for display.
DERIVATIVE_KINDS = frozenset({"photo", "authorization"})
# The app makes photos with their long side at TRAO_PHOTO_MAX_SIDE; a margin keeps the photos
# already waiting on phones acceptable when an office lowers the setting.
PHOTO_SIDE_MARGIN = 1.25


@dataclass(frozen=True)
class ImageBounds:
    """The largest image of one kind: each side and the pixel count, checked on the header."""

    max_width: int
    max_height: int

    def admits(self, width: int, height: int) -> bool:
        return 0 < width <= self.max_width and 0 < height <= self.max_height


@dataclass(frozen=True)
class ProofSettings:
    """The limits and keys that receiving a proof needs (see Config)."""

    qr_key: bytes
    id_key: bytes
    max_photos: int
    max_photo_bytes: int
    max_signature_bytes: int
    photo_max_side: int
    signature_max_side: int
    photo_quality: float
    display_max_side: int
    max_clock_ahead: timedelta
    # Phone and server clocks further apart than this when an attempt is sent: flagged.
    clock_gap: timedelta = timedelta(minutes=15)
    # How long an attempt may take from the phone to the server (a slow link, photos).
    send_latency: timedelta = timedelta(minutes=3)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProofSettings:
        return cls(
            qr_key=config["QR_SIGNING_KEY"],
            id_key=config["ID_HASH_KEY"],
            max_photos=config["TRAO_MAX_PHOTOS"],
            max_photo_bytes=config["TRAO_MAX_PHOTO_MB"] * 1024 * 1024,
            max_signature_bytes=config["TRAO_MAX_SIGNATURE_MB"] * 1024 * 1024,
            photo_max_side=config["TRAO_PHOTO_MAX_SIDE"],
            signature_max_side=config["TRAO_SIGNATURE_MAX_SIDE"],
            photo_quality=config["TRAO_PHOTO_QUALITY"],
            display_max_side=config["TRAO_DISPLAY_MAX_SIDE"],
            max_clock_ahead=timedelta(minutes=config["TRAO_MAX_CLOCK_AHEAD_MINUTES"]),
            clock_gap=timedelta(minutes=config["TRAO_CLOCK_GAP_MINUTES"]),
            send_latency=timedelta(seconds=config["TRAO_SEND_LATENCY_SECONDS"]),
        )

    def bounds(self, kind: str) -> ImageBounds:
        """How large an image of this kind may be (a photo in either orientation)."""
        if kind == "signature":
            side = self.signature_max_side
            return ImageBounds(side, side)
        side = round(self.photo_max_side * PHOTO_SIDE_MARGIN)
        return ImageBounds(side, side)


@dataclass(frozen=True)
class Upload:
    """One file part of the upload, as it came."""

    field: str
    data: bytes


@dataclass(frozen=True)
class ImageFacts:
    """What the header of a checked image says: its format and size."""

    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def check_files(
    refs: Sequence[Mapping[str, str]], uploads: Sequence[Upload], settings: ProofSettings
) -> list[str]:
    """Counts, sizes, and each upload's SHA-256 against meta.files; the hashes, in order."""
    limits = {"signature": 1, "photo": settings.max_photos, "authorization": 1}
    for counts in (Counter(r["field"] for r in refs), Counter(u.field for u in uploads)):
        over = {field: n for field, n in counts.items() if n > limits.get(field, 0)}
        if over:
            raise Invalid(
                _("Too many files in this attempt."),
                code="too_many_files",
                fields={field: f"at most {limits.get(field, 0)}" for field in over},
            )
    for upload in uploads:
        limit = (
            settings.max_signature_bytes
            if upload.field == "signature"
            else settings.max_photo_bytes
        )
        if len(upload.data) > limit:
            raise TooLarge(
                _("This image is too large."),
                code="image_too_large",
                fields={upload.field: f"at most {limit} bytes"},
            )
    hashes = [sha256_hex(u.data) for u in uploads]
    sent = Counter((u.field, h) for u, h in zip(uploads, hashes, strict=True))
    listed = Counter((r["field"], r["sha256"]) for r in refs)
    if sent != listed:
        raise Invalid(
            _("The files do not match the hashes the phone recorded."),
            code="file_hash_mismatch",
            fields={
                "missing": sorted(f"{f}:{h}" for f, h in listed - sent),
                "unexpected": sorted(f"{f}:{h}" for f, h in sent - listed),
            },
        )
    return hashes


def _bad_image(field: str) -> Invalid:
    return Invalid(
        _("A file is not a readable image of the expected type."),
        code="bad_image",
        fields={field: [f"must be a {FILE_FORMATS[field]} image"]},
    )


def _too_many_pixels(field: str, bounds: ImageBounds) -> Invalid:
    return Invalid(
        _("An image is larger than the app makes."),
        code="image_too_many_pixels",
        fields={field: [f"at most {bounds.max_width} x {bounds.max_height} pixels"]},
    )


# What a broken or hostile image makes Pillow raise; each one means "not a readable image".
_IMAGE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    MemoryError,
)


def _open_header(upload: Upload, bounds: ImageBounds) -> Image.Image:
    """The image opened with its header read and nothing decoded, if its type and size fit."""
    expected = FILE_FORMATS[upload.field]
    # Pillow's own guard raises DecompressionBombError far above our bounds (and only warns in
    # between); the bounds that count are ours, checked on the header before any decoding.
    # (No warnings.catch_warnings() here: it is process-wide, not safe in threads.)
    image = Image.open(io.BytesIO(upload.data), formats=[expected])
    if FORMAT_ALIASES.get(image.format, image.format) != expected:
        raise _bad_image(upload.field)
    if not bounds.admits(image.width, image.height):
        raise _too_many_pixels(upload.field, bounds)
    return image


_SOI, _EOI, _SOS = b"\xff\xd8", b"\xff\xd9", 0xDA
# Markers that stand alone, with no length after them: TEM and the restart markers.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Start-of-frame markers (all but DHT, JPG and DAC, which share the range).
_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_is_whole(data: bytes) -> bool:
    """Whether a JPEG's structure is whole: its start, header segments that each fit in the
    file, a frame header, a scan, and an end marker after the scan.

    Inside the scan's coded data every 0xFF byte is followed by 0x00 or a restart marker, so an
    end marker after the scan's start is the real end: a file cut short has none. This reads
    the headers and searches bytes; decoding even at an eighth of the size cost a hundred times
    more (2 ms for a 1280 px photo).
    """
    if not data.startswith(_SOI):
        return False
    i, end, frame = 2, len(data), False
    while i + 4 <= end:
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > end:
            return False
        frame = frame or marker in _FRAMES
        if marker == _SOS:
            return frame and data.rfind(_EOI) > i + 2 + length
        i += 2 + length
    return False


def check_image(upload: Upload, bounds: ImageBounds) -> ImageFacts:
    """Prove an upload is a whole image of its field's type within `bounds`, cheaply.

    The bounds are checked on the header, so a small file claiming a huge picture is refused
    before anything is decoded. Then a PNG's chunks are checked against their CRCs (nothing is
    inflated) and a JPEG's structure is walked (jpeg_is_whole): a truncated or fake file fails,
    and no pixel is decoded on the request path. (Damage in transit is what the SHA-256 the
    phone computed catches.)
    """
    try:
        with _open_header(upload, bounds) as image:
            facts = ImageFacts(
                FORMAT_ALIASES.get(image.format, image.format), image.width, image.height
            )
            if facts.format == "PNG":
                image.verify()
            elif not jpeg_is_whole(upload.data):
                raise _bad_image(upload.field)
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's guard went off while reading a header claiming hundreds of megapixels.
        raise _too_many_pixels(upload.field, bounds) from exc
    except _IMAGE_ERRORS as exc:
        raise _bad_image(upload.field) from exc
    return facts


def display_copy(data: bytes, max_side: int, quality: float) -> bytes:
    """A copy for display: upright, every kind of metadata stripped, JPEG, long side <= max_side.

    Decoded at a reduced scale where JPEG allows (draft mode): the copy needs no more pixels.
    """
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (max_side, max_side))
        upright = ImageOps.exif_transpose(image)
        pixels = upright.convert("RGB")
    pixels.thumbnail((max_side, max_side))
    # A new image from the bare pixels: no EXIF, ICC profile, XMP, comment or any other info
    # can follow the copy (Pillow carries some of `info` into a save).
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=round(quality * 100), optimize=True, progressive=True)
    return out.getvalue()
