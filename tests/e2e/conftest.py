"""End-to-end fixtures: the real app on a real server, driven by Debian's Chromium through Playwright.

What a test gets:

- ``live_server`` (module): the app with CSRF on, the demo seeded for today, served on
  ``127.0.0.1:<free port>``; ``.url``, ``.app``. SQLite file in a temporary folder, or
  ``TEST_DATABASE_URL`` (PostgreSQL in CI), dropped again afterwards.
- ``browser`` (session): Chromium from ``launch_chromium``. Extra launch arguments per module or
  test: ``@pytest.mark.parametrize("chromium_args", [(...flags...)], indirect=True)``, or override
  the ``chromium_args`` fixture; each distinct set of arguments gets its own browser process.
- ``open_context(**kwargs)`` (function): opens more browser contexts like ``context``.
- ``context`` / ``page`` (function): a fresh browser context on the live server (``base_url`` set,
  so ``page.goto("/login")`` works), Vietnamese locale and Vietnam's time zone. Every request to a
  host other than 127.0.0.1/localhost is aborted and fails the test at teardown, and so does an
  exception inside the app, and so does any breach of the Content-Security-Policy (``CspWatch``:
  the whole browser suite proves the policy lets the app work). Context options per test:
  ``@pytest.mark.browser_context_args(viewport=..., is_mobile=True)`` (pytest-playwright's marker).

pytest-playwright's command-line options for artefacts (``--tracing``, ``--screenshot``,
``--video``, ``--output``) keep working. Never run ``playwright install``: the browser is the
system's Chromium (``TRAO_CHROMIUM`` overrides its path).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, got_request_exception
from playwright.sync_api import Browser, BrowserContext, Error, Page, Playwright, Route
from werkzeug.serving import make_server

from backend import clock
from backend.agency_api.services import register_dossier
from backend.demo.people import Person
from backend.demo.seed import DEMO_PASSWORD, demo_person, seed_base, seed_day
from backend.extensions import db
from backend.models import Agency, Dossier, PostOffice, Role, User
from tests.conftest import clean_database, make_test_app

CHROMIUM = os.environ.get("TRAO_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach the internet.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
# The browser's own pages, never the network: its PDF viewer loads from these.
BROWSER_SCHEMES = frozenset({"chrome", "chrome-extension"})
# A phone of the kind postmen carry: for `@pytest.mark.browser_context_args(**PHONE)`.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def launch_chromium(playwright: Playwright, extra_args: Iterable[str] = (), **options) -> Browser:
    """Debian's Chromium, headless, with the offline-friendly flags plus `extra_args`.

    `options` go to `BrowserType.launch` (e.g. `headless=False`, `slow_mo=200`).
    """
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=options.pop("headless", True),
        args=[*CHROMIUM_ARGS, *extra_args],
        **options,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-playwright's own base_url fixture trips a pytest 9 deprecation: not ours to fix."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance")
            )


# --- The live server ------------------------------------------------------------------------


@dataclass
class LiveServer:
    """The app served over real HTTP for one test module."""

    url: str
    app: Flask
    errors: list[BaseException] = field(default_factory=list)  # exceptions raised inside views


@contextmanager
def serve_demo(
    database_url: str, seed: Callable[..., object] | None = seed_day, **overrides
) -> Iterator[LiveServer]:
    """Build the app on `database_url`, seed today's demo, serve it; drop everything afterwards.

    The office, staff and agencies are always there (`seed_base`); `seed(config, office, now)`
    adds the day (default: the demo's day, received and planned, some attempted; None: nothing).
    """
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True, **overrides)
    config = app.config["TRAO_CONFIG"]
    with app.app_context():
        db.drop_all()  # a shared PostgreSQL database may hold another run's leftovers
        db.create_all()
        now = clock.now()
        office = seed_base(config, now)
        if seed is not None:
            seed(config, office, now)
        db.session.commit()
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)

    def _record(sender, exception, **extra):
        live.errors.append(exception)

    got_request_exception.connect(_record, app)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(_record, app)
        with app.app_context():
            # Emptied, not dropped: a worker's next module may be one whose app made the tables
            # once for the whole session (tests/delivery/conftest.py).
            clean_database()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        # A file: an in-memory database is not shared across the server's threads.
        url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'trao.db'}"
    with serve_demo(url) as live:
        yield live


# --- The browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_args(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """Extra Chromium flags; set them with indirect parametrisation or by overriding this."""
    return tuple(getattr(request, "param", ()))


@pytest.fixture(scope="session")
def browser(
    playwright: Playwright, chromium_args: tuple[str, ...], browser_name: str, pytestconfig
) -> Iterator[Browser]:
    if browser_name != "chromium":
        pytest.skip("Trao's browser tests run on Chromium only")
    headed = bool(pytestconfig.getoption("--headed", default=False))
    browser = launch_chromium(playwright, chromium_args, headless=not headed)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """pytest-playwright's options (video…), in Vietnamese and Vietnam's time; base_url is ours."""
    args = {k: v for k, v in browser_context_args.items() if k != "base_url"}
    return {"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh", **args}


class OffsiteGuard:
    """Aborts and remembers every request to a host other than the test server (the browser's
    own chrome:// and chrome-extension:// pages, such as its PDF viewer, go through)."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def __call__(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.hostname in LOCAL_HOSTS or parts.scheme in BROWSER_SCHEMES:
            route.fallback()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


class CspWatch:
    """Remembers every breach of the Content-Security-Policy in a context's pages.

    Two witnesses: the page's `securitypolicyviolation` events (reported on the console by an
    init script) and Chromium's own "Refused to … Content Security Policy" console messages.
    """

    REPORTER = """
        addEventListener("securitypolicyviolation", (e) => console.error(
            `CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}` +
            ` in ${e.sourceFile || e.documentURI}:${e.lineNumber}`), true);
    """

    def __init__(self) -> None:
        self.violations: list[str] = []

    def attach(self, context: BrowserContext) -> CspWatch:
        context.add_init_script(self.REPORTER)
        context.on("console", self._console)
        return self

    def _console(self, message) -> None:
        text = message.text
        if text.startswith("CSP violation:") or (
            text.startswith("Refused to") and "Content Security Policy" in text
        ):
            self.violations.append(text)


@pytest.fixture
def open_context(new_context, live_server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Open a browser context on the live server, guarded; keyword arguments as `new_context`."""
    guards: list[OffsiteGuard] = []
    watches: list[CspWatch] = []
    errors_before = len(live_server.errors)

    def _open(**kwargs) -> BrowserContext:
        context = new_context(**{"base_url": live_server.url, **kwargs})
        guard = OffsiteGuard()
        context.route("**/*", guard)
        guards.append(guard)
        watches.append(CspWatch().attach(context))
        return context

    yield _open
    blocked = [url for guard in guards for url in guard.blocked]
    errors = live_server.errors[errors_before:]
    violations = [v for watch in watches for v in watch.violations]
    if blocked:
        pytest.fail("The app must never need the internet; it requested:\n" + "\n".join(blocked))
    if errors:
        pytest.fail(f"The app raised during the test: {errors!r}")
    if violations:
        pytest.fail("The Content-Security-Policy refused:\n" + "\n".join(violations))


@pytest.fixture
def context(open_context: Callable[..., BrowserContext]) -> BrowserContext:
    return open_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


# --- Helpers --------------------------------------------------------------------------------


def login_as(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form (whatever the page's language) and wait for the next page."""
    page.goto("/login")
    form = page.locator("main form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def scan_desk_ready(page: Page) -> None:
    """Wait until a console scan desk's script answers scans in place: one typed before it would
    be a plain form post (the page answers those too, with a reload) and miss what a test expects."""
    wait_for_js(page, "document.getElementById('scan-form')?.dataset.ready === '1'")


def wait_for_js(page: Page, expression: str, timeout: float = 20000) -> None:
    """Wait until `expression` (a promise is awaited) is truthy in the page.

    Use it instead of `page.wait_for_function`, which evaluates its predicate with `eval` in the
    page: the app's Content-Security-Policy refuses that (EvalError). `page.evaluate` is not.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error as err:  # a navigation replaced the page's context: ask the next one
            if "context was destroyed" not in str(err) and "navigat" not in str(err):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} ms: {expression}")
        page.wait_for_timeout(100)


def logout(page: Page) -> None:
    """Press the log-out button in the top bar."""
    page.locator(".topbar form button[type=submit]").click()
    page.wait_for_load_state()


def save_screenshot(page: Page, name: str, **options) -> Path:
    """Save a screenshot as e2e-<name>.png in E2E_SCREENSHOTS (default: the temp folder)."""
    folder = Path(os.environ.get("E2E_SCREENSHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"e2e-{name}.png"
    page.screenshot(path=str(path), **options)
    return path


# --- What several tests seed beside the demo ---------------------------------------------------


def add_demo_postman(config, office: PostOffice, username: str, full_name: str, now) -> User:
    """A postman of `office` who logs in with the demo password."""
    postman = User(
        username=username,
        full_name=full_name,
        role=Role.postman.value,
        post_office=office,
        is_demo=True,
        created_at=now,
    )
    postman.set_password(DEMO_PASSWORD, method=config.PASSWORD_HASH_METHOD)
    db.session.add(postman)
    return postman


def register_id_card(
    config, agency: Agency, code: str, *, day, registered_at, person: Person | None = None
) -> tuple[Dossier, Person]:
    """A chip ID card for the demo person of `code` (or `person`), free of fees, promised for
    the day after `day`, registered by `agency` at `registered_at`."""
    person = person or demo_person(code)
    dossier = register_dossier(
        agency,
        {
            "code": code,
            "procedure_code": "1.001751",
            "procedure_name": "Cấp thẻ Căn cước cho công dân từ đủ 14 tuổi",
            "result_type": "citizen_id_card",
            **person.recipient_fields(),
            "postage_vnd": 0,
            "agency_fee_vnd": 0,
            "promised_date": day + timedelta(days=1),
        },
        now=registered_at,
        id_key=config.ID_HASH_KEY,
        code_prefix=config.ENVELOPE_CODE_PREFIX,
        recipient_id_number=person.id_number,
    )
    return dossier, person
