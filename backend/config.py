"""Settings: one class, every value overridable by an environment variable.

The demo needs none of them. A production start (``TRAO_ENV=production``) refuses the
development secret and the demo log-ins.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from pathlib import Path

from backend.domain.planning import (
    DEFAULT_CAPACITY,
    DEFAULT_MINUTES_PER_STOP,
    DEFAULT_SPEED_KMH,
)
from backend.domain.policy import (
    DEFAULT_GEOFENCE_METRES,
    DEFAULT_HOLD_WORKING_DAYS,
    DEFAULT_MAX_FIX_METRES,
    DEFAULT_MAX_HOME_ATTEMPTS,
    DEFAULT_POOR_FIX_METRES,
    DEFAULT_REMINDER_AFTER_WORKING_DAYS,
    DeliveryPolicy,
)
from backend.validation import dumps_json

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEV_SECRET_KEY = "dev-only-secret-change-me"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose, derived from the app secret (HMAC as a KDF)."""
    return hmac.new(secret.encode(), b"trao-key:" + purpose.encode(), hashlib.sha256).digest()


class Config:
    """Defaults for running Trao on one machine; environment variables override."""

    def __init__(self) -> None:
        self.ENV = _env("TRAO_ENV", "development")
        self.SECRET_KEY = _env("SECRET_KEY", DEV_SECRET_KEY)
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(
            _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'trao.db'}")
        )
        # hide_parameters: a database error in the log must not carry names, phones or addresses.
        # No pool_pre_ping: connections idle longer than TRAO_DB_IDLE_PING_SECONDS are pinged
        # before use instead (backend/database.py); a ping on every checkout cost each request
        # a round trip.
        # json_serializer: orjson writes an attempt's 720 stroke numbers ten times faster.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True, "json_serializer": dumps_json}
        self.TRAO_DB_IDLE_PING_SECONDS = float(_env("TRAO_DB_IDLE_PING_SECONDS", "10"))
        self.STORAGE_URL = _env("STORAGE_URL", str(INSTANCE_DIR / "proofs"))
        self.TIMEZONE = _env("TRAO_TIMEZONE", "Asia/Ho_Chi_Minh")
        # Keys for signing envelope QR codes and hashing ID numbers. Derived from SECRET_KEY unless
        # set: rotating either invalidates printed labels / stored hashes, so set them explicitly
        # in production and keep them.
        self.QR_SIGNING_KEY = _key_from_env("TRAO_QR_KEY", self.SECRET_KEY, "envelope-qr")
        self.ID_HASH_KEY = _key_from_env("TRAO_ID_HASH_KEY", self.SECRET_KEY, "id-number")
        # Agencies' webhook secrets are derived from this key and a salt in the database.
        self.WEBHOOK_KEY = _key_from_env("TRAO_WEBHOOK_KEY", self.SECRET_KEY, "agency-webhook")
        # Citizens' tracking tokens are derived from this key and a salt in the database (only
        # their hashes are kept), so messages can carry the link long after it was made.
        self.TRACKING_KEY = _key_from_env("TRAO_TRACKING_KEY", self.SECRET_KEY, "tracking-link")
        # Where citizens open their links (the messages sent from the worker name it in full).
        self.PUBLIC_URL = _env("TRAO_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
        # A tracking link stops working this many days after its envelope's story ends.
        self.TRACKING_KEEP_DAYS = _env_int("TRAO_TRACKING_KEEP_DAYS", 30)
        # The citizen's page (backend/tracking, docs/tracking.md): page views per client address;
        # wrong phone digits per address (Flask-Limiter) and per envelope (in the database: this
        # many, then locked for the hours); how long the right digits open the link's details.
        self.RATELIMIT_TRACKING_LOOKUP = _env("TRAO_TRACKING_LOOKUP_RATE", "60 per minute")
        self.RATELIMIT_TRACKING_GUESS = _env("TRAO_TRACKING_GUESS_RATE", "10 per hour")
        self.TRAO_TRACKING_MAX_GUESSES = _env_int("TRAO_TRACKING_MAX_GUESSES", 5)
        self.TRAO_TRACKING_LOCK_HOURS = _env_int("TRAO_TRACKING_LOCK_HOURS", 3)
        self.TRAO_TRACKING_VERIFIED_MINUTES = _env_int("TRAO_TRACKING_VERIFIED_MINUTES", 30)
        # "Another day": the citizen chooses among this many coming working days.
        self.TRAO_TRACKING_REQUEST_DAYS = _env_int("TRAO_TRACKING_REQUEST_DAYS", 5)
        # Delivery receipts carry HMAC(RECEIPT_KEY, attempt) as their verification code: keep it.
        self.RECEIPT_KEY = _key_from_env("TRAO_RECEIPT_KEY", self.SECRET_KEY, "delivery-receipt")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", self.ENV == "production")
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_HTTPONLY = True
        # A log-in lasts this long from the moment it is made (the server's record decides); the
        # cookie carries the same Expires, so it survives the phone restarting.
        self.PERMANENT_SESSION_LIFETIME = _env_int("TRAO_SESSION_HOURS", 12) * 3600
        # Re-sending the cookie on every request would only push its Expires past the server's.
        self.SESSION_REFRESH_EACH_REQUEST = False
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.WTF_CSRF_HEADERS = ["X-CSRFToken"]
        self.BABEL_DEFAULT_LOCALE = _env("TRAO_DEFAULT_LOCALE", "vi")
        self.BABEL_DEFAULT_TIMEZONE = self.TIMEZONE
        self.BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "backend" / "translations")
        self.LANGUAGES = ["vi", "en"]
        # Where log-in attempts are counted: Redis when several workers or servers share the count.
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_KEY_PREFIX = _env("TRAO_RATELIMIT_PREFIX", "trao")
        # Refused log-ins allowed per client address, and per account whatever the address.
        self.RATELIMIT_LOGIN = _env("TRAO_LOGIN_RATE", "10 per minute")
        self.RATELIMIT_LOGIN_ACCOUNT = _env("TRAO_LOGIN_ACCOUNT_RATE", "10 per 15 minutes")
        # Reverse proxies in front of Trao whose X-Forwarded-For/-Proto are believed. 0: none,
        # the connection's address is the client's (any such header is a client's own claim).
        self.TRAO_TRUSTED_PROXIES = _env_int("TRAO_TRUSTED_PROXIES", 0)
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis down must not stop postmen logging in: count in each worker's memory meanwhile.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        # One attempt: up to 6 photos of at most 8 MB, an authorisation photo and a signature.
        self.MAX_CONTENT_LENGTH = _env_int("TRAO_MAX_UPLOAD_MB", 64) * 1024 * 1024
        # The attempt's `meta` field (signature strokes included) is a form field, not a file.
        self.MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
        self.PASSWORD_HASH_METHOD = "scrypt"
        # Compress text and the QR decoder's wasm: a postman's first load on a slow mobile link.
        self.COMPRESS_MIMETYPES = [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "application/wasm",
        ]
        self.COMPRESS_ALGORITHM = ["br", "gzip"]
        self.COMPRESS_BR_LEVEL = 5
        self.COMPRESS_MIN_SIZE = 500
        self.ENVELOPE_CODE_PREFIX = _env("TRAO_ENVELOPE_PREFIX", "HC")
        # Proof of delivery (issue 3). The phone reads the photo settings from /api/v1/runs/today.
        self.TRAO_PHOTO_MAX_SIDE = _env_int("TRAO_PHOTO_MAX_SIDE", 1280)  # px, long side
        self.TRAO_PHOTO_QUALITY = float(_env("TRAO_PHOTO_QUALITY", "0.8"))  # JPEG, 0..1
        # The display copy stored beside each photo (the original is the evidence, kept as sent).
        self.TRAO_DISPLAY_MAX_SIDE = _env_int("TRAO_DISPLAY_MAX_SIDE", 800)
        self.TRAO_MAX_PHOTOS = _env_int("TRAO_MAX_PHOTOS", 6)  # per attempt
        self.TRAO_MAX_PHOTO_MB = _env_int("TRAO_MAX_PHOTO_MB", 8)  # photo, authorisation
        self.TRAO_MAX_SIGNATURE_MB = _env_int("TRAO_MAX_SIGNATURE_MB", 1)
        # The signature PNG's longest side: the pad (at most ~760 CSS px wide) at a pixel ratio
        # of 3. Photos may be at most TRAO_PHOTO_MAX_SIDE (with a margin). Both are checked on
        # the header, before decoding: a small file claiming a huge picture is refused.
        self.TRAO_SIGNATURE_MAX_SIDE = _env_int("TRAO_SIGNATURE_MAX_SIDE", 2400)
        # The rules of delivery (attempts, hold period, reminder, geofence): the regulation's
        # defaults from backend/domain/policy.py, each overridable. Every service is given this.
        self.DELIVERY_POLICY = DeliveryPolicy(
            max_home_attempts=_env_int("TRAO_MAX_HOME_ATTEMPTS", DEFAULT_MAX_HOME_ATTEMPTS),
            hold_working_days=_env_int("TRAO_HOLD_WORKING_DAYS", DEFAULT_HOLD_WORKING_DAYS),
            reminder_after_working_days=_env_int(
                "TRAO_REMINDER_WORKING_DAYS", DEFAULT_REMINDER_AFTER_WORKING_DAYS
            ),
            # An attempt further than this from the address (beyond the GPS accuracy) is flagged.
            geofence_metres=_env_int("TRAO_GEOFENCE_METRES", DEFAULT_GEOFENCE_METRES),
            # GPS fixes coarser than this are flagged; coarser than the maximum, dropped.
            poor_fix_metres=_env_int("TRAO_POOR_FIX_METRES", DEFAULT_POOR_FIX_METRES),
            max_fix_metres=_env_int("TRAO_MAX_FIX_METRES", DEFAULT_MAX_FIX_METRES),
        )
        # A phone clock further ahead of the server than this is refused.
        self.TRAO_MAX_CLOCK_AHEAD_MINUTES = _env_int("TRAO_MAX_CLOCK_AHEAD_MINUTES", 10)
        # Planning runs (issue 10): distances between stops ("haversine"; a road service later),
        # the time estimate (km/h on those distances, minutes at each stop), the stops per postman
        # when a pool is split.
        self.TRAO_DISTANCES = _env("TRAO_DISTANCES", "haversine")
        self.TRAO_PLAN_SPEED_KMH = float(_env("TRAO_PLAN_SPEED_KMH", str(DEFAULT_SPEED_KMH)))
        self.TRAO_PLAN_MINUTES_PER_STOP = float(
            _env("TRAO_PLAN_MINUTES_PER_STOP", str(DEFAULT_MINUTES_PER_STOP))
        )
        self.TRAO_PLAN_CAPACITY = _env_int("TRAO_PLAN_CAPACITY", DEFAULT_CAPACITY)
        # Watching runs and chasing exceptions (issue 10, items 3 and 4).
        # A phone whose clock, read when it sent an attempt (X-Trao-Sent-At), is further than
        # this from the server's raises an exception; the trip itself may take up to the latency.
        self.TRAO_CLOCK_GAP_MINUTES = _env_int("TRAO_CLOCK_GAP_MINUTES", 15)
        self.TRAO_SEND_LATENCY_SECONDS = _env_int("TRAO_SEND_LATENCY_SECONDS", 180)
        # How far back the exception queue looks for attempts and refusals.
        self.TRAO_EXCEPTION_DAYS = _env_int("TRAO_EXCEPTION_DAYS", 30)
        # Map tiles, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty: no tiles, the
        # maps show the points alone and the pages work as lists. Its origin joins img-src.
        self.TRAO_MAP_TILES = _env("TRAO_MAP_TILES", "")
        self.TRAO_MAP_ATTRIBUTION = _env("TRAO_MAP_ATTRIBUTION", "")
        # How often the live view asks for news, and after how many missed answers it says so.
        self.TRAO_LIVE_POLL_SECONDS = _env_int("TRAO_LIVE_POLL_SECONDS", 10)
        # A postman's phone last heard from longer ago than this is called out on the live page.
        self.TRAO_LIVE_UNSEEN_MINUTES = _env_int("TRAO_LIVE_UNSEEN_MINUTES", 30)
        # "Last seen" is written at most this often per postman, not at every call of the phone.
        self.TRAO_LAST_SEEN_EVERY_SECONDS = _env_int("TRAO_LAST_SEEN_EVERY_SECONDS", 60)
        # The agencies' API (issue 12): requests per API key (all endpoints together), how often
        # a key's "last used" is written, how long a proof file's link works, the largest body.
        self.TRAO_API_RATE = _env("TRAO_API_RATE", "600 per minute")
        self.TRAO_API_KEY_LAST_USED_EVERY_SECONDS = _env_int("TRAO_API_KEY_LAST_USED_SECONDS", 60)
        self.TRAO_PROOF_LINK_SECONDS = _env_int("TRAO_PROOF_LINK_SECONDS", 15 * 60)
        self.TRAO_API_MAX_BODY_MB = _env_int("TRAO_API_MAX_BODY_MB", 2)
        # Agencies' webhooks (backend/outbox, docs/webhooks.md). The task queue: empty, a SQLite
        # file in the instance folder; redis://host:6379/0 in production. Its name keeps several
        # apps (or test runs) apart in one store.
        self.TRAO_QUEUE_URL = _env("TRAO_QUEUE_URL", "")
        self.TRAO_QUEUE_NAME = _env("TRAO_QUEUE_NAME", "trao")
        # Wake the worker after each commit that wrote outbox rows (the periodic sweep runs anyway).
        self.TRAO_OUTBOX_ENQUEUE = _env_bool("TRAO_OUTBOX_ENQUEUE", True)
        # Tries before a message is parked for a person; backoff with full jitter between them:
        # a random wait up to min(cap, base x 2^(tries-1)) seconds.
        self.TRAO_WEBHOOK_MAX_TRIES = _env_int("TRAO_WEBHOOK_MAX_TRIES", 12)
        self.TRAO_WEBHOOK_BACKOFF_SECONDS = float(_env("TRAO_WEBHOOK_BACKOFF_SECONDS", "30"))
        self.TRAO_WEBHOOK_BACKOFF_CAP_SECONDS = float(
            _env("TRAO_WEBHOOK_BACKOFF_CAP_SECONDS", "3600")
        )
        # One POST's whole time (connect and answer); a worker's lease on the messages it
        # claimed, and how many it claims at once (the lease must cover them one after another).
        self.TRAO_WEBHOOK_TIMEOUT_SECONDS = float(_env("TRAO_WEBHOOK_TIMEOUT_SECONDS", "10"))
        self.TRAO_WEBHOOK_LEASE_SECONDS = float(_env("TRAO_WEBHOOK_LEASE_SECONDS", "300"))
        self.TRAO_WEBHOOK_BATCH = _env_int("TRAO_WEBHOOK_BATCH", 20)
        # Citizens' notifications (backend/notify, docs/notifications.md), sent through the same
        # outbox and worker (tries, backoff, lease and batch as above). The gateways in order,
        # each next one the fallback of the one before: log (writes that a message went, nothing
        # personal), zalo (Zalo ZNS), sms (an HTTP SMS provider); e.g. "zalo,sms".
        self.TRAO_NOTIFY_GATEWAYS = _env("TRAO_NOTIFY_GATEWAYS", "log")
        # Hours citizens may get messages, in TRAO_TIMEZONE ("HH:MM-HH:MM"; empty: any time).
        # Messages due at night wait for the morning.
        self.TRAO_NOTIFY_HOURS = _env("TRAO_NOTIFY_HOURS", "07:00-21:00")
        # Transient failures of a gateway (timeouts, 5xx) before the next one is tried.
        self.TRAO_NOTIFY_FALLBACK_AFTER_TRIES = _env_int("TRAO_NOTIFY_FALLBACK_AFTER_TRIES", 3)
        # One request to a gateway, connect and answer.
        self.TRAO_NOTIFY_TIMEOUT_SECONDS = float(_env("TRAO_NOTIFY_TIMEOUT_SECONDS", "10"))
        # Zalo ZNS: the send-template endpoint, the Official Account's access token, the approved
        # template of each kind ("out_for_delivery=123,attempt_failed=124,held=125,
        # hold_ending=126,delivered=127,collected=128"), and the error codes that are worth
        # trying again (rate limit, expired token, outside ZNS's hours); any other is permanent
        # and the message goes to the next gateway at once.
        self.TRAO_ZNS_URL = _env(
            "TRAO_ZNS_URL", "https://business.openapi.zalo.me/message/template"
        )
        self.TRAO_ZNS_ACCESS_TOKEN = _env("TRAO_ZNS_ACCESS_TOKEN", "")
        self.TRAO_ZNS_TEMPLATES = _env("TRAO_ZNS_TEMPLATES", "")
        self.TRAO_ZNS_TRANSIENT_ERRORS = _env("TRAO_ZNS_TRANSIENT_ERRORS", "-32,-124,-133")
        # The SMS provider: its endpoint (POST JSON {to, from, text, ref}), bearer token and the
        # registered sender name (brandname).
        self.TRAO_SMS_URL = _env("TRAO_SMS_URL", "")
        self.TRAO_SMS_TOKEN = _env("TRAO_SMS_TOKEN", "")
        self.TRAO_SMS_SENDER = _env("TRAO_SMS_SENDER", "TRAO")
        self.TESTING = False

    def check(self) -> None:
        """Refuse settings that must never reach production."""
        if self.ENV == "production":
            if self.SECRET_KEY == DEV_SECRET_KEY or len(self.SECRET_KEY) < 32:
                raise RuntimeError("Set SECRET_KEY to a random value of at least 32 characters.")
            if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite") and not _env_bool(
                "TRAO_ALLOW_SQLITE", False
            ):
                raise RuntimeError("Production needs DATABASE_URL (PostgreSQL).")
            if self.RATELIMIT_STORAGE_URI.startswith("memory://") and not _env_bool(
                "TRAO_ALLOW_MEMORY_RATELIMIT", False
            ):
                raise RuntimeError(
                    "Production needs RATELIMIT_STORAGE_URI (e.g. redis://host:6379): with "
                    "memory:// each worker counts log-in attempts alone. Set "
                    "TRAO_ALLOW_MEMORY_RATELIMIT=1 to run a single worker on purpose."
                )

    @property
    def demo_logins_allowed(self) -> bool:
        return self.ENV != "production"


class TestConfig(Config):
    """Fast, isolated settings for the test suite."""

    def __init__(self, database_url: str | None = None) -> None:
        super().__init__()
        self.ENV = "testing"
        self.TESTING = True
        self.SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
        self.QR_SIGNING_KEY = derive_key(self.SECRET_KEY, "envelope-qr")
        self.ID_HASH_KEY = derive_key(self.SECRET_KEY, "id-number")
        self.WEBHOOK_KEY = derive_key(self.SECRET_KEY, "agency-webhook")
        self.TRACKING_KEY = derive_key(self.SECRET_KEY, "tracking-link")
        self.RECEIPT_KEY = derive_key(self.SECRET_KEY, "delivery-receipt")
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(
            database_url or os.environ.get("TEST_DATABASE_URL", "sqlite://")
        )
        self.WTF_CSRF_ENABLED = False
        self.RATELIMIT_ENABLED = False
        # Proof files of a test run never land in the project's instance folder.
        self.STORAGE_URL = tempfile.mkdtemp(prefix="trao-test-proofs-")
        # Cheap hashing: the suite creates many users.
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
        # No test wakes a queue unless it asks to (tests/outbox does).
        self.TRAO_OUTBOX_ENQUEUE = False


def _key_from_env(name: str, secret: str, purpose: str) -> bytes:
    value = os.environ.get(name)
    return value.encode() if value else derive_key(secret, purpose)


def _normalise_db_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
