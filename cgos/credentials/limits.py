"""The limits that bound guessing, counted in Flask-Limiter's storage.

Attempts are counted *before* the secret is checked (an atomic increment in
the limiter storage), so simultaneous attempts cannot slip through between a
check and a count. Each limit has a name here; its rate comes from the
configuration key it names (`"5 per 15 minutes"`).
"""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps

import redis
from flask import abort, current_app, request
from limits import parse as parse_rate
from limits.errors import StorageError

from ..dates import french_time
from ..extensions import limiter
from ..models import Agent

log = logging.getLogger(__name__)


# What the storage raises when it cannot be reached; anything else is a bug and shows as one.
STORAGE_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    StorageError,
    ConnectionError,
    TimeoutError,
)


def fail_closed(function):
    """When the limiter storage (Redis) is down, refuse with a 503 rather than skip the count."""

    @wraps(function)
    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except STORAGE_UNAVAILABLE as error:  # no attempt may go uncounted
            log.error("rate-limit storage unavailable: %s", type(error).__name__)
            abort(503)

    return wrapped


def client_address() -> str:
    """The client a per-address limit counts for this request (see client_address_of)."""
    return client_address_of(request.remote_addr)


def client_address_of(remote_addr: str | None) -> str:
    """The client a per-address limit counts: an IPv4 address, or an IPv6 client's /64.

    One IPv6 subscriber gets a whole /64 and can rotate its last 64 bits at
    will, so counting each address would give it an unlimited budget. ProxyFix
    sets `remote_addr` behind a proxy.
    """
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return remote_addr or "unknown"
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def network_of(client: str) -> str:
    """The network a client key belongs to: an IPv4 address's /24, an IPv6 /64's /48.

    Used only to lower a client's place in the bcrypt line when its neighbours fail
    (one attacker holds a whole /48 or many addresses of a /24), never to refuse it.
    """
    try:
        network = ipaddress.ip_network(client, strict=False)
    except ValueError:
        return client
    prefix = 24 if network.version == 4 else 48
    return str(network.supernet(new_prefix=prefix)) if network.prefixlen > prefix else str(network)


@dataclass(frozen=True)
class Limit:
    """A limit on attempts: its rate is the configuration key's, its counters are in `scope`."""

    config_key: str
    scope: str

    @property
    def rate(self):
        """The parsed rate (`5 per 15 minutes`) of the current app."""
        return parse_rate(current_app.config[self.config_key])

    @property
    def amount(self) -> int:
        """How many attempts a window allows."""
        return self.rate.amount

    @fail_closed
    def hit(self, identifier: str) -> bool:
        """Count one attempt; False when the limit is now exceeded."""
        return limiter.limiter.hit(self.rate, self.scope, identifier)

    @fail_closed
    def count(self, identifier: str) -> int:
        """Count one attempt and say how many the current window holds now."""
        rate = self.rate
        return limiter.storage.incr(rate.key_for(self.scope, identifier), rate.get_expiry(), amount=1)

    @fail_closed
    def refund(self, identifier: str) -> None:
        """Take back one attempt that turned out to be a success."""
        limiter.limiter.hit(self.rate, self.scope, identifier, cost=-1)

    @fail_closed
    def clear(self, identifier: str) -> None:
        """Forget every attempt counted in the current window."""
        limiter.limiter.clear(self.rate, self.scope, identifier)

    @fail_closed
    def attempts(self, identifier: str) -> int:
        """How many attempts were counted in the current window, beyond the limit too."""
        return int(limiter.storage.get(self.rate.key_for(self.scope, identifier)) or 0)

    def reached(self, identifier: str) -> bool:
        """True once as many attempts as the limit allows have been counted."""
        return self.attempts(identifier) >= self.amount

    @fail_closed
    def retry_at(self, identifier: str) -> datetime:
        """When the current window ends and attempts are allowed again."""
        stats = limiter.limiter.get_window_stats(self.rate, self.scope, identifier)
        return datetime.fromtimestamp(stats.reset_time, timezone.utc)


class AddressLimit(Limit):
    """A per-client-address limit on one sensitive form (`ADDRESS_RATE_LIMIT`)."""

    def __init__(self, scope: str) -> None:
        super().__init__("ADDRESS_RATE_LIMIT", scope)

    def hit_here(self) -> bool:
        """Count one submission from this request's client address."""
        return self.hit(client_address())

    def refund_here(self) -> None:
        """Give this request's client address its attempt back."""
        self.refund(client_address())

    def retry_here(self) -> datetime:
        """When this request's client address may try again."""
        return self.retry_at(client_address())


# Failed logins per account (numéro C.G.O.S, canonical spelling) before lockout.
LOGIN_LOCKOUT = Limit("LOGIN_LOCKOUT_LIMIT", "login")
# Failed logins per account in a day: past it, the personal PIN stays refused (see unlock_account).
LOGIN_DAILY = Limit("LOGIN_DAILY_LIMIT", "daily_failures")
# Failed logins across all accounts: past it, an alert (spraying one PIN over many numéros).
LOGIN_ALERT = Limit("LOGIN_ALERT_LIMIT", "login_alert")
# Failed logins per staff account (mail address, lower case): wrong passwords and wrong codes.
STAFF_LOCKOUT = Limit("LOGIN_LOCKOUT_LIMIT", "staff_login")
# Wrong second-factor codes per staff account in a day: past it, only a recovery code.
SECOND_FACTOR_DAILY = Limit("SECOND_FACTOR_DAILY_LIMIT", "second_factor_daily")
# Confirmed failures per client address, and per network (/24, /48), within the lockout's
# window: such clients take their place in the bcrypt line behind the others.
ADDRESS_FAILURES = Limit("LOGIN_LOCKOUT_LIMIT", "address_failures")
NETWORK_FAILURES = Limit("LOGIN_LOCKOUT_LIMIT", "network_failures")
# Identification tries (birth year and month) per numéro C.G.O.S.
IDENTIFICATION = Limit("IDENTIFICATION_RATE_LIMIT", "identification")
# Look-ups of one NIR in « Demande de n°C.G.O.S », keyed by its digest.
NIR = Limit("NIR_RATE_LIMIT", "nir")
# Wrong mail addresses retyped per numéro C.G.O.S.
MAIL_CONFIRMATION = Limit("MAIL_CONFIRMATION_LIMIT", "mail_confirmation")

# Per client address, one counter per sensitive form.
LOGIN_ADDRESS = AddressLimit("login")
STAFF_LOGIN_ADDRESS = AddressLimit("staff_login")
FIRST_CONNECTION_ADDRESS = AddressLimit("first_connection")
FORGOTTEN_PASSWORD_ADDRESS = AddressLimit("forgotten_password")
QUESTIONNAIRE_ADDRESS = AddressLimit("questionnaire")
NIR_LOOKUP_ADDRESS = AddressLimit("nir_lookup")
REGISTRATION_ADDRESS = AddressLimit("registration")


def too_many_message(limit: Limit, identifier: str) -> str:
    """The French message when a limit is reached: when to try again."""
    return f"Trop de demandes ont été faites : réessayez à partir de {french_time(limit.retry_at(identifier))}."


def unlock_account(agent: Agent) -> None:
    """Lift a daily block and forget the account's failed logins (« Débloquer le compte »).

    The caller commits. Also what a successful login with a provisional PIN
    issued after the block does.
    """
    agent.pin_blocked_at = None
    LOGIN_LOCKOUT.clear(agent.numero)
    LOGIN_DAILY.clear(agent.numero)
