"""What makes the postman's app installable and offline: the service worker, the manifest, icons.

The service worker's precache list is stamped with the app version and a hash of the assets'
contents, so every deploy that changes an asset changes the cache name and the phones update.
It precaches only what the app needs to work offline; the QR decoder (a 15 KB polyfill and a
400 KB wasm, compressed) is a separate list, cached into the same versioned cache only on phones
without a native `BarcodeDetector` (the page asks for it): on a 400 kbit/s link it would delay
offline-ready by ten seconds on the phones that never use it.
Icons are drawn with Pillow on first request and kept in memory: no binary files in git.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path

from flask import Response, abort, current_app, render_template, url_for

from backend.delivery import bp
from backend.http_cache import conditional

PWA_ROOT = Path(__file__).resolve().parents[2] / "pwa"
STATIC = PWA_ROOT / "static"
SHELL_URL = "/app"
THEME_COLOUR = "#0b4f8a"
BACKGROUND_COLOUR = "#f2f4f7"
ACCENT_COLOUR = "#ffbf47"
# The vendor files the app needs offline (copied from node_modules by scripts/vendor.mjs).
VENDOR_FILES = (
    "vendor/signature_pad.js",
    "vendor/idb/index.js",
)
# The QR decoder for phones without a native BarcodeDetector (js/qr.js loads it).
DECODER_FILES = (
    "vendor/barcode-detector.js",
    "vendor/zxing_reader.wasm",
)
# name -> (size in px, maskable)
ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "maskable-192.png": (192, True),
    "maskable-512.png": (512, True),
}
ICON_COLOURS = 64  # palette size of the PNG icons
# The icon the shell's page links to; the manifest's other sizes matter only to install the app.
PRECACHED_ICONS = ("icon-192.png",)
DIGEST_CHARS = 16  # of a file's SHA-256 in hex: enough to tell an old copy from the deployed one
# Files whose contents make the cache name: what the shell is built from.
SOURCE_FILES = (
    PWA_ROOT / "templates" / "delivery" / "app.html",
    PWA_ROOT / "templates" / "delivery" / "sw.js",
    Path(__file__),
)


def static_assets() -> list[str]:
    """Paths under pwa/static the shell needs offline: CSS, every JS module, the vendor files."""
    paths = ["css/app.css"]
    paths += sorted(p.relative_to(STATIC).as_posix() for p in (STATIC / "js").rglob("*.js"))
    paths += [v for v in VENDOR_FILES if (STATIC / v).exists()]
    return paths


def decoder_assets() -> list[str]:
    """Paths under pwa/static of the QR decoder, cached only where the phone has no native one."""
    return [v for v in DECODER_FILES if (STATIC / v).exists()]


def _fingerprint(files: list[Path]) -> tuple:
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.exists())


@lru_cache(maxsize=4)
def _content_hash(fingerprint: tuple) -> str:
    digest = hashlib.sha256()
    for name, _mtime, _size in fingerprint:
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def assets_hash() -> str:
    """A hash of every cached asset's contents (recomputed only when a file changes)."""
    files = [STATIC / p for p in static_assets() + decoder_assets()] + list(SOURCE_FILES)
    return _content_hash(_fingerprint(files))


@lru_cache(maxsize=4)
def _file_digests(fingerprint: tuple) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, hashlib.sha256(Path(name).read_bytes()).hexdigest()[:DIGEST_CHARS])
        for name, _mtime, _size in fingerprint
    )


def asset_digests() -> dict[str, str]:
    """The SHA-256 (shortened) of each static file the service worker caches, by URL.

    With it the worker may take the copy the page has just loaded from the browser's HTTP cache,
    checked, instead of asking the server again: on a slow link, thirty revalidations cost seconds.
    """
    paths = static_assets() + decoder_assets()
    digests = dict(_file_digests(_fingerprint([STATIC / p for p in paths])))
    return {url_for("static", filename=p): digests[str(STATIC / p)] for p in paths}


def cache_version() -> str:
    from backend import __version__

    return f"{__version__}-{assets_hash()[:12]}"


def precache_urls() -> list[str]:
    """What the service worker caches at install: all the app needs to work offline."""
    urls = [SHELL_URL, url_for("delivery.manifest")]
    urls += [url_for("static", filename=p) for p in static_assets()]
    urls += [url_for("delivery.icon", name=name) for name in PRECACHED_ICONS]
    return urls


def decoder_urls() -> list[str]:
    """The QR decoder's files, cached on demand by phones without a native BarcodeDetector."""
    return [url_for("static", filename=p) for p in decoder_assets()]


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, from the root so its scope is the whole app.

    Checked by the browser at every navigation: an ETag of its contents makes that a 304.
    """
    body = render_template(
        "delivery/sw.js",
        version=cache_version(),
        precache=precache_urls(),
        decoder=decoder_urls(),
        digests=asset_digests(),
        shell_url=SHELL_URL,
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return conditional(response, hashlib.sha256(body.encode()).hexdigest()[:32])


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: installable, standalone, starting at /app."""
    data = {
        "name": "Trao — Bưu tá",
        "short_name": "Trao",
        "description": "Phát kết quả thủ tục hành chính qua bưu chính công ích",
        "lang": "vi",
        "id": SHELL_URL,
        "start_url": SHELL_URL,
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {
                "src": url_for("delivery.icon", name=name),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "maskable" if maskable else "any",
            }
            for name, (size, maskable) in ICONS.items()
        ],
    }
    response = current_app.response_class(
        current_app.json.dumps(data), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/icons/<name>")
def icon(name: str) -> Response:
    """The app's icon, drawn once per process."""
    if name not in ICONS:
        abort(404)
    size, maskable = ICONS[name]
    response = Response(draw_icon(size, maskable), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@lru_cache(maxsize=len(ICONS))
def draw_icon(size: int, maskable: bool) -> bytes:
    """A white envelope with a yellow tick on Trao's blue: legible at 48 px in sunlight."""
    from PIL import Image, ImageDraw

    scale = 4  # draw large, then shrink: smooth edges without anti-aliasing support
    s = size * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, s, s), fill=THEME_COLOUR)  # full bleed: the launcher cuts the shape
        content = 0.62  # inside the maskable safe zone (a circle of 80 %)
    else:
        draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=int(s * 0.22), fill=THEME_COLOUR)
        content = 0.78
    box = s * content
    left, top = (s - box) / 2, (s - box * 0.72) / 2
    width, height = box, box * 0.66
    line = max(2, int(s * 0.035))
    draw.rounded_rectangle(
        (left, top, left + width, top + height), radius=int(s * 0.04), fill="#ffffff"
    )
    # The flap: a V from the top corners to the middle.
    draw.line(
        [
            (left + line, top + line),
            (left + width / 2, top + height * 0.58),
            (left + width - line, top + line),
        ],
        fill=THEME_COLOUR,
        width=line,
        joint="curve",
    )
    # The tick in a yellow disc: delivered.
    r = box * 0.22
    cx, cy = left + width - r * 0.55, top + height - r * 0.35
    draw.ellipse(
        (cx - r, cy - r, cx + r, cy + r), fill=ACCENT_COLOUR, outline=THEME_COLOUR, width=line
    )
    draw.line(
        [
            (cx - r * 0.5, cy + r * 0.02),
            (cx - r * 0.12, cy + r * 0.42),
            (cx + r * 0.55, cy - r * 0.4),
        ],
        fill="#111111",
        width=int(line * 1.3),
        joint="curve",
    )
    image = image.resize((size, size), Image.LANCZOS)
    # Four colours and their blended edges: a 64-colour palette looks the same at a fifth of the
    # bytes (the 192 px icon is precached, over a postman's slow link).
    image = image.quantize(colors=ICON_COLOURS, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
