"""C.G.O.S Espace Agent: the application factory."""

from pathlib import Path

from flask import Flask

from . import production
from .config import default_config, instance_secret

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: defaults, then FLASK_* environment, then test overrides."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from .uploads import PortalRequest

    app.request_class = PortalRequest
    app.config.from_mapping(default_config(app.instance_path))
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    load_instance_secrets(app)
    production.check(app)
    name_session_cookie(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        # Behind a reverse proxy: the client address (for rate limits) comes from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    register_extensions(app)
    production.check_stored_secrets(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def load_instance_secrets(app: Flask) -> None:
    """Outside production, give SECRET_KEY and PASSWORD_PEPPER a stable random value if unset."""
    if app.config.get("PRODUCTION"):
        return
    for key, filename in (("SECRET_KEY", "secret_key"), ("PASSWORD_PEPPER", "pepper")):
        if not app.config.get(key):
            app.config[key] = instance_secret(app.instance_path, filename)


def name_session_cookie(app: Flask) -> None:
    """A Secure session cookie gets the `__Host-` prefix: browsers then keep it to this host, over https."""
    name = app.config["SESSION_COOKIE_NAME"]
    if app.config.get("SESSION_COOKIE_SECURE") and not name.startswith("__Host-"):
        app.config["SESSION_COOKIE_NAME"] = f"__Host-{name}"


def register_extensions(app: Flask) -> None:
    """Bind the module-level extensions (database, mail, limiter, CSRF) to this app, and make
    its bcrypt slots (shared by the workers gunicorn forks from it)."""
    from . import (
        bcrypt_line,
        models,  # noqa: F401  (registers the tables with the metadata)
    )
    from .extensions import compress, csrf, db, limiter, mail

    db.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    bcrypt_line.init_app(app)


def register_request_hooks(app: Flask) -> None:
    """Request log, security headers, the logged-in user and after-commit mail delivery."""
    from . import auth, mail, observability, security

    observability.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    mail.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per flow the agent goes through."""
    from .account.routes import bp as account_bp
    from .backoffice import bp as backoffice_bp
    from .backoffice.history import bp as staff_history_bp
    from .converters import IdConverter
    from .dev.routes import bp as dev_bp
    from .first_connection.routes import bp as first_connection_bp
    from .forgotten_password.routes import bp as forgotten_password_bp
    from .login.routes import bp as login_bp
    from .number_request.routes import bp as number_request_bp
    from .passkeys.routes import bp as passkeys_bp
    from .places.routes import bp as places_bp
    from .public.routes import bp as public_bp
    from .questionnaire.routes import bp as questionnaire_bp

    # `<id:…>`: an id past the database's integer is a 404, not a 500 (before any rule is added).
    app.url_map.converters["id"] = IdConverter
    blueprints = (
        login_bp,
        forgotten_password_bp,
        first_connection_bp,
        questionnaire_bp,
        number_request_bp,
        places_bp,
        account_bp,
        passkeys_bp,
        backoffice_bp,
        staff_history_bp,
        public_bp,
        dev_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    """French error pages with a way back, never a stack trace."""
    from . import errors

    errors.init_app(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates share (French dates, masked values, static URLs)."""
    from . import assets, templating

    templating.init_app(app)
    assets.init_app(app)


def register_commands(app: Flask) -> None:
    """The `flask --app app …` commands of the contract, and Flask-Migrate's `flask db`."""
    from . import cli

    cli.init_app(app)
    if not app.config.get("PRODUCTION"):
        # Web workers never migrate: leaving Alembic out of them saves ~11 MB each.
        cli.bind_migrations(app)
