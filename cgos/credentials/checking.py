"""Checking a login: one bcrypt computation, whatever the account and its state.

An unknown numéro is checked against a dummy hash, and an agent's secrets
share one salt (see passwords.hash_secret), so every attempt costs the same
time and gets the same answer when it fails.
"""

import enum
from datetime import datetime

from .. import passwords, pins
from ..models import Agent, PasswordState


def main_hash(agent: Agent) -> str | None:
    """The hash whose salt every secret of this agent shares (see passwords.hash_secret)."""
    return agent.pin_hash or agent.legacy_password_hash or agent.provisional_pin_hash


class Outcome(enum.Enum):
    """What a login attempt turned out to be."""

    FAILED = "failed"
    PERSONAL = "personal"
    PROVISIONAL = "provisional"
    PROVISIONAL_EXPIRED = "provisional_expired"
    LEGACY = "legacy"
    DISABLED = "disabled"


def check_login(agent: Agent | None, secret: str, *, pepper: str, dummy_hash: str, now: datetime) -> Outcome:
    """Compare the typed secret with the agent's secrets; `dummy_hash` stands in for a missing account."""
    reference = (main_hash(agent) if agent else None) or dummy_hash
    computed = passwords.compute_with_salt_of(secret, pepper, reference)
    if agent is None:
        return Outcome.FAILED
    provisional = agent.provisional_pin_hash if agent.provisional_used_at is None else None
    if provisional and provisional[:29] != reference[:29]:
        # Only for hashes written before salts were shared: a second computation.
        provisional_ok = passwords.verify_secret(secret, provisional, pepper)
    else:
        provisional_ok = passwords.same_hash(computed, provisional)
    if agent.disabled_at is not None and (provisional_ok or passwords.same_hash(computed, agent.pin_hash)):
        return Outcome.DISABLED
    if provisional_ok:
        if pins.is_provisional_pin_expired(agent.provisional_issued_at, now):
            return Outcome.PROVISIONAL_EXPIRED
        return Outcome.PROVISIONAL
    if agent.password_state == PasswordState.LEGACY:
        # The notice about old passwords follows only the right one: any other secret
        # gets the answer every failure gets, or legacy accounts would stand out.
        return Outcome.LEGACY if passwords.same_hash(computed, agent.legacy_password_hash) else Outcome.FAILED
    if passwords.same_hash(computed, agent.pin_hash):
        return Outcome.PERSONAL
    return Outcome.FAILED


def had_a_password(agent: Agent) -> bool:
    """True for an agent who has a personal PIN, or chose one before (first connection done)."""
    return agent.pin_hash is not None or agent.personal_data_confirmed_at is not None


def apply_success(agent: Agent, outcome: Outcome, now: datetime) -> None:
    """The first successful login with either secret discards the other one.

    A provisional PIN sent to an agent who has or had a password of their own
    (« Mot de passe oublié ») is single use: consumed by this login, and the agent
    chooses a new PIN in this session. Its hash stays, marked used, so that the new
    PIN can still be compared with it. At a first connection it works until the
    agent has chosen a PIN.
    """
    if outcome is Outcome.PROVISIONAL:
        if had_a_password(agent):
            agent.provisional_used_at = now
        agent.pin_hash = None
        agent.legacy_password_hash = None
        agent.password_state = PasswordState.PROVISIONAL
    elif outcome is Outcome.PERSONAL:
        agent.provisional_pin_hash = None
        agent.provisional_issued_at = None
        agent.provisional_used_at = None
