"""Secrets as the application stores them: bcrypt over an HMAC keyed by the pepper."""

from flask import current_app

from .. import passwords
from ..identifiers import nir as nir_rules
from ..models import Agent, utcnow
from .checking import Outcome, check_login


def pepper() -> str:
    """The key of the HMAC applied to every secret before bcrypt (kept out of the database)."""
    return current_app.config["PASSWORD_PEPPER"]


def hash_secret(secret: str, *, salt_of: str | None = None) -> str:
    """bcrypt (configured cost) over the peppered secret."""
    return passwords.hash_secret(secret, pepper(), current_app.config["BCRYPT_COST"], salt_of=salt_of)


def verify_secret(secret: str, hashed: str) -> bool:
    """True when the secret matches a stored hash (one bcrypt computation)."""
    return passwords.verify_secret(secret, hashed, pepper())


def nir_digest(nir: str) -> str:
    """The keyed digest under which an agent's NIR is stored."""
    return passwords.keyed_digest(nir_rules.compact(nir), pepper(), "nir")


def dummy_hash() -> str:
    """A hash of nothing in particular, at the configured cost (computed once per app).

    Checked in place of a missing account, so that an unknown numéro or staff
    address costs the same bcrypt computation as a wrong secret.
    """
    cost = current_app.config["BCRYPT_COST"]
    cache = current_app.extensions.setdefault("cgos_dummy_hashes", {})
    if cost not in cache:
        cache[cost] = passwords.hash_secret("dummy-secret", pepper(), cost)
    return cache[cost]


def check_typed_secret(agent: Agent | None, secret: str) -> Outcome:
    """`check_login` with this app's pepper and dummy hash, at the clock's time."""
    return check_login(agent, secret, pepper=pepper(), dummy_hash=dummy_hash(), now=utcnow())
