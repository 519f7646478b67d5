"""Trao: hand-over of administrative results by the public-utility postal service."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request, session
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from backend.config import INSTANCE_DIR, PROJECT_ROOT, Config
from backend.database import keep_long_statements, ping_when_idle
from backend.extensions import babel, compress, csrf, db, limiter, login_manager, migrate
from backend.security import register_security
from backend.templating import register_template_helpers
from backend.wrappers import BoundedRequest

__version__ = "0.1.0"


class DatabaseId(IntegerConverter):
    """An id in a URL: 1 to 2^31 - 1, the range of the database's integer keys."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app; reads like a table of contents."""
    config = config or Config()
    config.check()
    app = Flask(
        __name__,
        static_folder=str(PROJECT_ROOT / "pwa" / "static"),
        static_url_path="/static",
        template_folder=str(PROJECT_ROOT / "pwa" / "templates"),
        instance_path=str(INSTANCE_DIR),
    )
    app.request_class = BoundedRequest
    # Every <int:…> in a URL is a database id: beyond PostgreSQL's integer it names nothing
    # (a 404), where comparing it would fail the query.
    app.url_map.converters["int"] = DatabaseId
    app.config.from_object(config)
    app.config["TRAO_CONFIG"] = config
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_hooks(app)
    register_security(app)
    register_template_helpers(app)
    return app


def configure_logging(app: Flask) -> None:
    """Plain log lines on stderr; they carry ids and codes, never personal data."""
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )


def select_locale() -> str:
    """The language the user chose (session), else the browser's, else Vietnamese."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "locale", None) in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def register_extensions(app: Flask) -> None:
    from backend.models import User

    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine, app.config["TRAO_DB_IDLE_PING_SECONDS"])
    keep_long_statements()
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "backend" / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale, timezone_selector=lambda: app.config["TIMEZONE"]
    )
    limiter.init_app(app)
    # Trao's limits are all on the views they guard (decorators, which check when the view
    # runs); the check Flask-Limiter also hooks before every request finds none there and cost
    # each request about 0.6 ms of CPU (a sixteenth of receiving a proof). Without it, the
    # decorated limits hold as before; an application-wide limit would need the hook back.
    _drop_before_request(app, limiter._check_request_limit)
    compress.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # "strong" ties the session to the client IP: a postman's phone changes IP between cells
    # and Wi-Fi, and would be logged out mid-run.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # Honoured only while the server holds the log-in the cookie names: log-out and
        # sign-out-everywhere delete it, and every copy of the cookie is refused from then on.
        from backend import clock
        from backend.auth.services import SESSION_ID_KEY, session_user

        return session_user(int(user_id), session.get(SESSION_ID_KEY), now=clock.now())

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for
        from flask_babel import gettext as _

        from backend.errors import error_response

        if request.path.startswith("/api/"):
            return error_response(401, "unauthorized", _("Please log in."))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _drop_before_request(app: Flask, hook) -> None:
    hooks = app.before_request_funcs.get(None, [])
    if hook in hooks:  # not there when the limiter is switched off (RATELIMIT_ENABLED)
        hooks.remove(hook)


def register_blueprints(app: Flask) -> None:
    from backend.agency_api import bp as agency_bp
    from backend.auth import bp as auth_bp
    from backend.console import bp as console_bp
    from backend.delivery import bp as delivery_bp
    from backend.openapi import bp as api_docs_bp
    from backend.outbox import init_app as init_outbox
    from backend.tracking import bp as tracking_bp

    for bp in (auth_bp, delivery_bp, console_bp, agency_bp, api_docs_bp, tracking_bp):
        app.register_blueprint(bp)
    init_outbox(app)  # the console's outbox page, the worker command, the wake-up hook


def register_errorhandlers(app: Flask) -> None:
    from backend.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from backend.commands import register

    register(app)


def register_hooks(app: Flask) -> None:
    from flask_babel import get_locale

    @app.before_request
    def _remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang

    @app.context_processor
    def _template_globals():
        return {"current_locale": str(get_locale()), "app_version": __version__}
