"""One rule for every secret a person types: count, refuse, check, then clear or keep the failure.

The agent's login, the current PIN asked from home (PIN change, mail change), and
the staff password and second-factor code all go through `attempt`. For one
identifier (a numéro C.G.O.S, a staff mail address):

- the per-address limit, where the form has one, counts the attempt first and
  gives it back on success (ADDRESS when it is reached);
- the account's lockout window, and its daily cap where there is one, count
  *confirmed* failures only: once the window is full, attempts are refused
  unchecked (LOCKED). A full daily cap refuses them too (CAPPED), except for
  the agent's PIN, where the cap blocks the account instead (`capped`): only
  a provisional PIN issued after the block opens it again, so that one is
  still checked;
- at most as many checks of one account run at once as it has tries left; a
  further simultaneous attempt is refused unchecked and uncounted (BUSY). So
  simultaneous right secrets never lock an account, and twenty simultaneous
  wrong ones are checked five times, not twenty;
- a confirmed failure also marks the client address and its network as having
  failed recently: they take their place in the bcrypt line behind the others
  (`place_in_line`).

The answer is data (`Verdict`); each caller turns it into its own page, events
and mails.
"""

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import bcrypt_line
from ..extensions import limiter
from .limits import (
    ADDRESS_FAILURES,
    LOGIN_ADDRESS,
    LOGIN_DAILY,
    LOGIN_LOCKOUT,
    NETWORK_FAILURES,
    SECOND_FACTOR_DAILY,
    STAFF_LOCKOUT,
    STAFF_LOGIN_ADDRESS,
    AddressLimit,
    Limit,
    client_address,
    fail_closed,
    network_of,
)

# An attempt still being checked stops counting after this, should its process die mid-check.
IN_FLIGHT_SECONDS = 120
# When to try again after BUSY: the other check of the account is answered within seconds.
BUSY_RETRY = timedelta(seconds=bcrypt_line.CLIENT_RETRY_AFTER_SECONDS)


class Refusal(enum.Enum):
    """Why an attempt was refused without its secret being checked."""

    ADDRESS = "address"  # the client address made too many attempts
    BUSY = "busy"  # as many checks of this account are running as it has tries left
    LOCKED = "locked"  # the lockout window is full of confirmed failures
    CAPPED = "capped"  # the day's cap of confirmed failures is reached


@dataclass(frozen=True)
class Rule:
    """What guards one secret: the account's limits, and the per-address limit of its form."""

    lockout: Limit
    daily: Limit | None = None
    address: AddressLimit | None = None
    # The staff password is only the first factor: a right one gives its attempt back, and the
    # failures are cleared by the second factor, so that knowing the password buys no new guesses.
    clears_on_success: bool = True
    # Past the daily cap, refuse unchecked; otherwise check, and let the caller block (`capped`).
    daily_refuses: bool = True


# Past the daily cap the agent's account is blocked (`Agent.pin_blocked_at`, see login/routes.py).
AGENT_LOGIN = Rule(LOGIN_LOCKOUT, LOGIN_DAILY, LOGIN_ADDRESS, daily_refuses=False)
# The current PIN asked again from home (PIN change, mail change): the login's account limits.
AGENT_PIN = Rule(LOGIN_LOCKOUT, LOGIN_DAILY, daily_refuses=False)
STAFF_PASSWORD = Rule(STAFF_LOCKOUT, None, STAFF_LOGIN_ADDRESS, clears_on_success=False)
STAFF_CODE = Rule(STAFF_LOCKOUT, SECOND_FACTOR_DAILY, STAFF_LOGIN_ADDRESS)
# Past the day's cap of wrong codes, a recovery code is still accepted, within the lockout.
STAFF_RECOVERY_CODE = Rule(STAFF_LOCKOUT, None, STAFF_LOGIN_ADDRESS)


@dataclass(frozen=True)
class Verdict:
    """What became of one attempt."""

    refusal: Refusal | None = None
    retry_at: datetime | None = None
    result: Any = None  # what the check returned, when it ran
    succeeded: bool = False
    failures: int = 0  # confirmed failures in the lockout window, this one included
    tries_left: int | None = None  # after this failure, before the account is refused
    locked_now: bool = False  # this failure filled the lockout window: tell the owner once
    capped_now: bool = False  # this failure reached the daily cap
    capped: bool = False  # the daily cap was already reached when this attempt came (daily_refuses off)

    @property
    def checked(self) -> bool:
        """True when the secret was checked (right or wrong)."""
        return self.refusal is None


def _in_flight_key(rule: Rule, identifier: str) -> str:
    """The storage key of an account's checks running now (one per account, whatever the form)."""
    return f"in_flight/{rule.lockout.scope}/{identifier}"


@fail_closed
def _change_in_flight(rule: Rule, identifier: str, change: int) -> int:
    """Add `change` to the account's checks running now; how many there are after."""
    return limiter.storage.incr(_in_flight_key(rule, identifier), IN_FLIGHT_SECONDS, amount=change)


def _tries_left(rule: Rule, identifier: str) -> tuple[int, Refusal | None]:
    """Confirmed failures the account can still take, and the refusal once there are none."""
    if rule.daily is not None and rule.daily_refuses and rule.daily.reached(identifier):
        return 0, Refusal.CAPPED
    if rule.lockout.reached(identifier):
        return 0, Refusal.LOCKED
    left = rule.lockout.amount - rule.lockout.attempts(identifier)
    if rule.daily is not None and rule.daily_refuses:
        left = min(left, rule.daily.amount - rule.daily.attempts(identifier))
    return left, None


def _enter(rule: Rule, identifier: str) -> Refusal | None:
    """Join the account's running checks if it has a try left for this one too; why not, otherwise.

    The running count goes up before the failures are read, and a failure is counted before
    its check leaves (see _failed): so every check admitted together fits in the tries left.
    """
    running = _change_in_flight(rule, identifier, 1)
    left, refusal = _tries_left(rule, identifier)
    if refusal is None and running > left:
        refusal = Refusal.BUSY
    if refusal is not None:
        _change_in_flight(rule, identifier, -1)
    return refusal


def _retry_at(rule: Rule, identifier: str, refusal: Refusal) -> datetime:
    """When an attempt refused for this reason may come back."""
    if refusal is Refusal.CAPPED:
        return rule.daily.retry_at(identifier)
    if refusal is Refusal.LOCKED:
        return rule.lockout.retry_at(identifier)
    return datetime.now(timezone.utc) + BUSY_RETRY


def _succeeded(rule: Rule, identifier: str, result: Any) -> Verdict:
    """A right secret: the address gets its attempt back; the failures are cleared (or left
    for the second factor)."""
    if rule.address is not None:
        rule.address.refund_here()
    if rule.clears_on_success:
        rule.lockout.clear(identifier)
    return Verdict(result=result, succeeded=True)


def _failed(rule: Rule, identifier: str, result: Any, capped: bool) -> Verdict:
    """A wrong secret: one confirmed failure for the account, and the client marked as failing."""
    failures = rule.lockout.count(identifier)
    left = rule.lockout.amount - failures
    capped_now = False
    if rule.daily is not None:
        daily_failures = rule.daily.count(identifier)
        capped_now = daily_failures == rule.daily.amount
        left = min(left, max(rule.daily.amount - daily_failures, 0))
    if rule.address is not None:
        client = client_address()
        ADDRESS_FAILURES.count(client)
        NETWORK_FAILURES.count(network_of(client))
    return Verdict(
        result=result,
        failures=failures,
        tries_left=max(left, 0),
        locked_now=failures == rule.lockout.amount,
        capped_now=capped_now,
        capped=capped,
    )


def attempt(rule: Rule, identifier: str, check: Callable[[], Any], succeeded: Callable[[Any], bool] = bool) -> Verdict:
    """Count, refuse or check the secret (`check()`, whose result `succeeded` judges), then clear
    or keep the failure: the one way any secret of this portal is tried."""
    if rule.address is not None and not rule.address.hit_here():
        return Verdict(Refusal.ADDRESS, retry_at=rule.address.retry_here())
    refusal = _enter(rule, identifier)
    if refusal is not None:
        if refusal is Refusal.BUSY and rule.address is not None:
            rule.address.refund_here()  # refused unchecked: it costs the address nothing
        return Verdict(refusal, retry_at=_retry_at(rule, identifier, refusal))
    capped = rule.daily is not None and not rule.daily_refuses and rule.daily.reached(identifier)
    try:
        result = check()
        if succeeded(result):
            return _succeeded(rule, identifier, result)
        return _failed(rule, identifier, result, capped)
    finally:
        _change_in_flight(rule, identifier, -1)


def attempt_proof(address: AddressLimit, check: Callable[[], Any], succeeded: Callable[[Any], bool] = bool) -> Verdict:
    """A proof of possession (a passkey's signature), where `attempt` takes a typed secret.

    There is nothing to guess, so no account lockout, daily cap or in-flight bound applies, and
    none stops it: a PIN locked out by someone guessing does not lock the owner's passkey out.
    The per-address limit counts it first and gives it back on success; a failure marks the
    client as failing, as a wrong PIN does.
    """
    if not address.hit_here():
        return Verdict(Refusal.ADDRESS, retry_at=address.retry_here())
    result = check()
    if succeeded(result):
        address.refund_here()
        return Verdict(result=result, succeeded=True)
    client = client_address()
    ADDRESS_FAILURES.count(client)
    NETWORK_FAILURES.count(network_of(client))
    return Verdict(result=result)


def failed_recently(client: str) -> bool:
    """True when the client, or its network, had a confirmed failure within the lockout window."""
    return ADDRESS_FAILURES.attempts(client) > 0 or NETWORK_FAILURES.attempts(network_of(client)) > 0


@contextmanager
def place_in_line(rule: Rule) -> Iterator[None]:
    """Hold this login's place in the host's bcrypt line until it is answered (see bcrypt_line).

    Clients that failed recently go last. A refusal (their share of the line taken, or too
    much work ahead) is answered at once, without bcrypt, and counts in the per-address limit
    only for such clients: a hospital behind one address is never locked out by its colleagues'
    right logins.
    """
    client = client_address()
    last = failed_recently(client)
    try:
        ticket = bcrypt_line.take_place(client, last=last, network=network_of(client))
    except (bcrypt_line.LoginQueueFull, bcrypt_line.ClientShareTaken):
        if last and rule.address is not None:
            rule.address.hit_here()
        raise
    try:
        yield
    finally:
        bcrypt_line.leave_place(ticket)
