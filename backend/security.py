"""What guards every response: the security headers."""

from __future__ import annotations

from flask import Flask, Response, current_app

# No inline script or style anywhere, and nothing from another origin. The QR decoder compiles
# its wasm ('wasm-unsafe-eval'); the camera's video and the photos taken are blob:/mediastream:.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A year of HTTPS only, sent in production (served behind HTTPS). Subdomains are the
# operator's to decide, so they are left out.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def register_security(app: Flask) -> None:
    """Set the headers on every response."""
    app.after_request(security_headers)


def security_headers(response: Response) -> Response:
    """Headers every response carries; `no-store` unless the view chose its caching."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["TRAO_CONFIG"].ENV == "production":
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    # Pages and API answers carry names, phones and addresses: no cache may keep them. What may
    # be cached says so itself (static files, the app shell, the service worker, icons).
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response
