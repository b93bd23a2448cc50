"""Refuse to start in production with a configuration that would be unsafe or wrong."""

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
                f"{key} is not set: every machine must share the same value (FLASK_{key}), "
                "kept out of the database."
            )
    if config.get("DEV_MAILBOX"):
        problems.append("DEV_MAILBOX is on: every stored mail (provisional passwords included) would be public.")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE is off: the session cookie would travel over plain HTTP.")
    if not config.get("MAIL_SERVER"):
        problems.append("MAIL_SERVER is not set: no mail would ever leave the queue.")
    return problems


def check(app: Flask) -> None:
    """Stop the start-up with every problem listed, when PRODUCTION is on."""
    if not app.config.get("PRODUCTION"):
        return
    problems = production_problems(app.config)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise UnsafeConfiguration(f"Refusing to start in production:\n{listing}")
