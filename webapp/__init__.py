"""The CME portal: application factory."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask, Response, render_template
from flask.helpers import get_debug_flag
from werkzeug.exceptions import SecurityError

from webapp import config as config_module
from webapp.db import configure_sqlite
from webapp.extensions import csrf, db, login_manager, migrate

log = logging.getLogger(__name__)

def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config_module.load())
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
                config["SQLALCHEMY_DATABASE_URI"]
            )
    if app.config["APP_ENV"] == "production" and (app.debug or get_debug_flag()):
        raise config_module.ConfigError(
            "debug mode (--debug or FLASK_DEBUG) is refused with APP_ENV=production: the "
            "Werkzeug debugger serves interactive tracebacks that run code")
    config_module.INSTANCE.mkdir(exist_ok=True)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind a proxy the callback URL and Secure cookies need the client's scheme and host.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                configure_sqlite(engine)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    from webapp.auth import sessions

    sessions.init_app(app)

    import webapp.audit  # noqa: F401  (registers the append-only guard)

    _register_features(app)
    from webapp import logs, security

    security.init_app(app)
    logs.configure(app)
    warning = config_module.rate_limit_warning(app.config)
    if warning:
        log.warning(warning)
    _register_errors(app)
    _register_template_helpers(app)
    return app


def _register_features(app: Flask) -> None:
    """Every feature's pages and commands, listed one by one."""
    from webapp.auth.views import bp as auth
    from webapp.consent.views import bp as consent
    from webapp.credits.cli import commands as credits_commands
    from webapp.faq.cli import commands as faq_commands
    from webapp.faq.views import bp as faq
    from webapp.main.views import bp as main
    from webapp.notify.cli import commands as notify_commands
    from webapp.notify.views import bp as notify
    from webapp.pars.cli import commands as pars_commands
    from webapp.staff.views import bp as staff
    from webapp.support.views import bp as support
    from webapp.transcript.views import bp as transcript

    app.register_blueprint(main)
    app.register_blueprint(auth)
    app.register_blueprint(transcript)
    app.register_blueprint(consent)
    app.register_blueprint(faq)
    app.register_blueprint(support)
    app.register_blueprint(staff)
    app.register_blueprint(notify)
    for command in (*faq_commands, *pars_commands, *credits_commands, *notify_commands):
        app.cli.add_command(command)


def _register_errors(app: Flask) -> None:
    def page(code: int, title: str, message: str) -> Any:
        return render_template("error.html", code=code, title=title, message=message), code

    app.register_error_handler(
        400, lambda e: page(400, "Request not understood", getattr(e, "description", ""))
    )
    app.register_error_handler(
        403, lambda e: page(403, "Not allowed", "You do not have access to this page.")
    )
    app.register_error_handler(
        404, lambda e: page(404, "Page not found", "There is nothing at this address.")
    )
    app.register_error_handler(
        413, lambda e: page(413, "Too much data", "The form sent more data than this site "
                            "accepts. Nothing was changed.")
    )
    app.register_error_handler(
        405, lambda e: page(405, "Not allowed", "That action is not available here.")
    )

    # Flask-Limiter's refusal; its Retry-After and X-RateLimit-* headers are added after this.
    app.register_error_handler(
        429, lambda e: page(429, "Too many requests", "This was sent too often in a short time, "
                            "so it was not carried out. Wait a minute, then try again.")
    )

    def untrusted_host(e: Exception) -> Any:
        # No page template: without a trusted host there is no address to build links from.
        return Response("Bad request: this site does not answer to that host name.\n", 400,
                        mimetype="text/plain")

    app.register_error_handler(SecurityError, untrusted_host)

    def server_error(e: Exception) -> Any:
        db.session.rollback()
        return page(500, "Something went wrong", "Nothing was changed. Please try again later.")

    app.register_error_handler(500, server_error)


def _register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "institution_name": app.config["INSTITUTION_NAME"],
            "today": dt.date.today(),
        }
