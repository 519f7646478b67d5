"""The files of a proof: counted, sized, matched to their SHA-256, opened as real images."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import Invalid, TooLarge
from backend.storage import sha256_hex

if TYPE_CHECKING:
    from backend.delivery.services import ProofSettings

# The type each file must be, as Pillow names it, and the content type it is served with.
FILE_FORMATS = {"signature": "PNG", "photo": "JPEG", "authorization": "JPEG"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg"}
# Some phone cameras write JPEGs with extra pictures inside (MPO): still JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}
# Photos of the hand-over get a smaller, metadata-free copy for display.
DERIVATIVE_KINDS = frozenset({"photo", "authorization"})


@dataclass(frozen=True)
class Upload:
    """One file part of the upload, as it came."""

    field: str
    data: bytes


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


def open_image(upload: Upload, max_pixels: int) -> Image.Image:
    """The upload fully decoded, if it is an image of its field's type within the pixel limit."""
    expected = FILE_FORMATS[upload.field]
    try:
        # Pillow's own guard raises DecompressionBombError far above our limit (and only
        # warns in between); the limit that counts is ours, checked on the header below.
        # (No warnings.catch_warnings() here: it is process-wide, not safe in threads.)
        image = Image.open(io.BytesIO(upload.data), formats=[expected])
        # The header is read; nothing is decoded yet: refuse bombs before they go off.
        format_ = FORMAT_ALIASES.get(image.format, image.format)
        if format_ != expected or image.width * image.height > max_pixels:
            raise _bad_image(upload.field)
        image.load()  # a truncated or fake file fails here
    except (
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as exc:
        raise _bad_image(upload.field) from exc
    return image


def display_copy(image: Image.Image, max_side: int, quality: float) -> bytes:
    """A copy for display: upright, metadata stripped, JPEG, long side at most `max_side`."""
    copy = ImageOps.exif_transpose(image).convert("RGB")
    copy.thumbnail((max_side, max_side))
    out = io.BytesIO()
    quality = round(quality * 100)
    copy.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()
