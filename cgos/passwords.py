"""Secret hashing: bcrypt over an HMAC keyed by a pepper kept out of the database.

A six-digit PIN has only a million values: bcrypt alone would not protect it
once the database leaks. The HMAC with a pepper held outside the database
(instance file or environment) makes the stolen hashes useless on their own.
"""

import base64
import hashlib
import hmac

import bcrypt

from . import bcrypt_line


def _peppered(secret: str, pepper: str) -> bytes:
    """HMAC-SHA256 of the secret, base64 so bcrypt sees no NUL byte and stays under 72 bytes."""
    digest = hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest)


def _bcrypt(material: bytes, salt: bytes) -> str:
    """One bcrypt computation, in one of the process's slots (see bcrypt_line)."""
    return bcrypt_line.compute(bcrypt.hashpw, material, salt).decode()


def hash_secret(secret: str, pepper: str, cost: int, *, salt_of: str | None = None) -> str:
    """Hash a secret; `salt_of` reuses the salt of another hash of the same agent.

    Sharing the salt between an agent's personal and provisional PINs lets a
    login check both with one bcrypt computation, so every login costs the same.
    """
    salt = salt_of.encode()[:29] if salt_of else bcrypt.gensalt(rounds=cost)
    return _bcrypt(_peppered(secret, pepper), salt)


def compute_with_salt_of(secret: str, pepper: str, reference_hash: str) -> str:
    """Hash a typed secret with the salt and cost of a stored hash (one bcrypt run)."""
    return _bcrypt(_peppered(secret, pepper), reference_hash.encode()[:29])


def verify_secret(secret: str, hashed: str, pepper: str) -> bool:
    """True when the secret matches the stored hash."""
    return hmac.compare_digest(compute_with_salt_of(secret, pepper, hashed), hashed)


def same_hash(left: str | None, right: str | None) -> bool:
    """Constant-time comparison of two hashes, false when either is missing."""
    return bool(left and right) and hmac.compare_digest(left, right)


def keyed_digest(value: str, pepper: str, purpose: str) -> str:
    """A stable keyed digest (for look-ups of values never stored in clear, like the NIR)."""
    return hmac.new(pepper.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
