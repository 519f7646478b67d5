"""What guards every response and every log-in: security headers, the client's address behind
a reverse proxy, and the keys the log-in limits count by."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.config import derive_key

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
    """Trust the configured number of proxies for the client's address, and set the headers."""
    proxies = app.config["TRAO_TRUSTED_PROXIES"]
    if proxies:
        # Each trusted proxy appends the address it saw; more than that would let a client
        # choose its own address (and its own log-in bucket) with a forged header.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.config["TRAO_CSP"] = content_security_policy(app.config.get("TRAO_MAP_TILES", ""))
    app.after_request(security_headers)


def content_security_policy(tile_url: str) -> str:
    """The policy, with the map tile server's origin allowed as an image source when set."""
    parts = urlsplit(tile_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return CONTENT_SECURITY_POLICY
    origin = f"{parts.scheme}://{parts.netloc}".replace("{s}", "*")
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' blob:", f"img-src 'self' blob: {origin}")


def security_headers(response: Response) -> Response:
    """Headers every response carries; `no-store` unless the view chose its caching."""
    headers = response.headers
    # (One look at the names present: a missing header looked up by name costs an exception.)
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 (Headers yield pairs)
    wanted = [
        ("Content-Security-Policy", current_app.config["TRAO_CSP"]),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        # Pages and API answers carry names, phones and addresses: no cache may keep them.
        # What may be cached says so itself (static files, the app shell, the service
        # worker, icons).
        ("Cache-Control", "no-store"),
    ]
    if current_app.config["TRAO_CONFIG"].ENV == "production":
        wanted.append(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    for name, value in wanted:
        if name.lower() not in present:
            headers[name] = value
    return response


def _bucket(kind: str, value: str) -> str:
    """A rate-limit key that names no one: the limiter's store and its log see only a digest."""
    key = derive_key(current_app.config["SECRET_KEY"], "rate-limit")
    return f"{kind}:{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]}"


def client_address_key() -> str:
    """The client's address (read through the trusted proxies), as a rate-limit key."""
    return _bucket("addr", request.remote_addr or "")


def login_account_key() -> str:
    """The account a log-in names, as a rate-limit key (known usernames or not: no enumeration)."""
    return _bucket("account", (request.form.get("username") or "").strip().lower())


def failed_login(response: Response) -> bool:
    """Only refused log-ins count: a post office's postmen share an address at 7 a.m."""
    return response.status_code == 401
