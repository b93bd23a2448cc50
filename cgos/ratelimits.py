"""Counting attempts with Flask-Limiter's storage: lockout per account, limits per address.

Attempts are counted *before* the secret is checked (an atomic increment in
the limiter storage), so simultaneous attempts cannot slip through between a
check and a count.
"""

import logging
from datetime import datetime, timezone
from functools import wraps

from flask import abort, current_app, request
from limits import parse

from .extensions import limiter

log = logging.getLogger(__name__)


def fail_closed(function):
    """When the limiter storage (Redis) is down, refuse with a 503 rather than skip the count."""

    @wraps(function)
    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # any storage failure: no attempt may go uncounted
            log.error("rate-limit storage unavailable: %s", type(error).__name__)
            abort(503)

    return wrapped


def client_address() -> str:
    """The client address a limit applies to (ProxyFix sets it behind a proxy)."""
    return request.remote_addr or "unknown"


def _limit(config_key: str):
    """The limit named by a configuration key (`"5 per 15 minutes"`)."""
    return parse(current_app.config[config_key])


@fail_closed
def hit(config_key: str, scope: str, identifier: str) -> bool:
    """Count one attempt; False when the limit is now exceeded."""
    return limiter.limiter.hit(_limit(config_key), scope, identifier)


@fail_closed
def refund(config_key: str, scope: str, identifier: str) -> None:
    """Take back one attempt that turned out to be a success."""
    limiter.limiter.hit(_limit(config_key), scope, identifier, cost=-1)


@fail_closed
def clear(config_key: str, scope: str, identifier: str) -> None:
    """Forget every attempt counted in the current window."""
    limiter.limiter.clear(_limit(config_key), scope, identifier)


@fail_closed
def attempts(config_key: str, scope: str, identifier: str) -> int:
    """How many attempts were counted in the current window, beyond the limit too."""
    return int(limiter.storage.get(_limit(config_key).key_for(scope, identifier)) or 0)


def reached(config_key: str, scope: str, identifier: str) -> bool:
    """True once as many attempts as the limit allows have been counted."""
    return attempts(config_key, scope, identifier) >= _limit(config_key).amount


@fail_closed
def retry_at(config_key: str, scope: str, identifier: str) -> datetime:
    """When the current window ends and attempts are allowed again."""
    stats = limiter.limiter.get_window_stats(_limit(config_key), scope, identifier)
    return datetime.fromtimestamp(stats.reset_time, timezone.utc)


def hit_address(scope: str) -> bool:
    """Count one submission of a sensitive form from this client address."""
    return hit("ADDRESS_RATE_LIMIT", scope, client_address())
