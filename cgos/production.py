"""Refuse to start in production with a configuration that would be unsafe or wrong."""

from urllib.parse import urlsplit

from flask import Flask


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


def check(app: Flask) -> None:
    """Stop the start-up with every problem listed, when PRODUCTION is on."""
    if not app.config.get("PRODUCTION"):
        return
    problems = production_problems(app.config)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise UnsafeConfiguration(f"Refusing to start in production:\n{listing}")
    trust_public_host(app)
