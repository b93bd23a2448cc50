"""Refuse to start in production with a configuration that would be unsafe or wrong."""

from urllib.parse import urlsplit

import click
from flask import Flask
from sqlalchemy import inspect

from . import sealing


class UnsafeConfiguration(RuntimeError):
    """The production configuration must be fixed before the portal can start."""


def production_problems(config: dict) -> list[str]:
    """What is wrong with a production configuration (empty when it is fine)."""
    problems = []
    workers = int(config.get("WORKERS") or 1)
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://") and workers > 1:
        problems.append(
            f"RATELIMIT_STORAGE_URI is memory:// with {workers} workers: each would count failed logins "
            "on its own and the lockout would not hold. Use redis://…"
        )
    for key in ("SECRET_KEY", "PASSWORD_PEPPER"):
        if not config.get(key):
            problems.append(
                f"{key} is not set: every machine must share the same value (FLASK_{key}), kept out of the database."
            )
    if config.get("DEV_MAILBOX"):
        problems.append("DEV_MAILBOX is on: every stored mail (provisional passwords included) would be public.")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE is off: the session cookie would travel over plain HTTP.")
    if not config.get("MAIL_SERVER"):
        problems.append("MAIL_SERVER is not set: no mail would ever leave the queue.")
    if config.get("DEBUG"):
        problems.append("DEBUG is on: errors would show tracebacks and the debugger.")
    problems.extend(public_base_url_problems(config.get("PUBLIC_BASE_URL")))
    problems.extend(sealing.setting_problems(config))
    return problems


def public_base_url_problems(base: str | None) -> list[str]:
    """Mail links must not follow the request's Host header: an https PUBLIC_BASE_URL is required."""
    if not base:
        return [
            "PUBLIC_BASE_URL is not set: mail links would follow the Host header of each request "
            "(FLASK_PUBLIC_BASE_URL=https://espace-agent.cgos.info)."
        ]
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname:
        return [f"PUBLIC_BASE_URL must be an https:// address with a host name, not {base!r}."]
    return []


def trust_public_host(app: Flask) -> None:
    """Answer only requests for PUBLIC_BASE_URL's host (Flask's TRUSTED_HOSTS), unless set explicitly."""
    base = app.config.get("PUBLIC_BASE_URL")
    if app.config.get("TRUSTED_HOSTS") is None and base:
        app.config["TRUSTED_HOSTS"] = [urlsplit(base).hostname]


def _refuse(problems: list[str]) -> None:
    """Stop the start-up with every problem listed, if there is any."""
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise UnsafeConfiguration(f"Refusing to start in production:\n{listing}")


def check(app: Flask) -> None:
    """Stop the start-up with every problem listed, when PRODUCTION is on."""
    if not app.config.get("PRODUCTION"):
        return
    _refuse(production_problems(app.config))
    trust_public_host(app)


def _ids(ids: list[int]) -> str:
    """A list of ids for a message, the first twenty and how many more."""
    shown = ", ".join(map(str, ids[:20]))
    return shown if len(ids) <= 20 else f"{shown} and {len(ids) - 20} more"


def stored_secret_problems() -> list[str]:
    """The stored secrets no key reads, by id (never the secret); in an app context."""
    from .extensions import db
    from .key_rotation import unreadable_mail_secrets, unreadable_totp_secrets

    if not inspect(db.engine).has_table("outbound_mail"):
        return []  # a database not created yet (`setup` comes next): nothing stored
    problems = []
    if staff := unreadable_totp_secrets():
        problems.append(
            f"the TOTP secret of staff {_ids(staff)} cannot be read by any key of TOTP_SECRET_KEYS (unset: "
            "MAIL_SECRET_KEY, else SECRET_KEY): list the key that sealed it after the newest one and run "
            "`flask --app app keys rotate`; if that key is lost, `flask --app app staff reset-2fa <email>`."
        )
    if mails := unreadable_mail_secrets():
        problems.append(
            f"the secrets of queued mail {_ids(mails)} cannot be read by any key of MAIL_SECRET_KEY (unset: "
            "SECRET_KEY): list the key that sealed them after the newest one and run `flask --app app keys rotate`; "
            "if that key is lost, `flask --app app keys rotate --drop-unreadable-mails`."
        )
    return problems


def check_stored_secrets(app: Flask) -> None:
    """In production, refuse to start while a stored secret cannot be read by any key.

    Not for a `flask` command: `keys rotate` and `staff reset-2fa` are how such secrets are
    repaired, and `keys rotate` reports them itself. One query per kind, once at start.
    """
    if not app.config.get("PRODUCTION") or click.get_current_context(silent=True) is not None:
        return
    from .extensions import db

    with app.app_context():
        problems = stored_secret_problems()
        db.session.remove()
        db.engine.dispose()  # gunicorn forks its workers from here: no connection to inherit
    _refuse(problems)
