"""Secrets the application must read back, kept Fernet-encrypted under keys that are not in the database.

Each use has its own key setting, a list newest first so keys can rotate
(`flask --app app keys rotate` re-seals with the newest): TOTP_SECRET_KEYS
for the staff's TOTP secrets, MAIL_SECRET_KEY for the secrets of queued mails.
Unset, TOTP_SECRET_KEYS is MAIL_SECRET_KEY's list, and MAIL_SECRET_KEY is
SECRET_KEY: what sealed everything before the settings existed. Every key is
derived (HKDF-SHA256) from its material and the use's purpose, so one key
never serves two uses; a secret is sealed with the newest key and read with
any key of the list (MultiFernet).
"""

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

TOTP_PURPOSE = b"cgos staff totp secrets"
MAIL_PURPOSE = b"cgos outbound mail secrets"


def _as_list(value) -> list:
    """A key setting as a list newest first: one string is one key."""
    return list(value) if isinstance(value, list | tuple) else [value]


def materials(purpose: bytes, config: Mapping) -> list:
    """The key materials of a purpose, newest first, from its setting or the settings it falls back on."""
    totp = config.get("TOTP_SECRET_KEYS") if purpose == TOTP_PURPOSE else None
    return _as_list(totp or config.get("MAIL_SECRET_KEY") or config["SECRET_KEY"])


def setting_problems(config: Mapping) -> list[str]:
    """What is wrong with the key settings (empty when they are fine)."""
    problems = []
    for setting in ("TOTP_SECRET_KEYS", "MAIL_SECRET_KEY"):
        value = config.get(setting)
        if value and not all(isinstance(key, str) and key for key in _as_list(value)):
            problems.append(f"{setting} must be a JSON list of strings, newest first (FLASK_{setting}='[\"…\"]').")
    return problems


def _fernet(material, purpose: bytes) -> Fernet:
    """The Fernet key derived from one key material for one purpose."""
    if isinstance(material, str):
        material = material.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def cipher(purpose: bytes) -> MultiFernet:
    """The cipher for one purpose, keyed from the configuration only: seals with the newest key, reads with any."""
    return MultiFernet([_fernet(material, purpose) for material in materials(purpose, current_app.config)])


@dataclass
class Resealing:
    """What `keys rotate` did to one kind of stored secret: ids, never secrets."""

    resealed: int = 0
    unreadable: list[int] = field(default_factory=list)
    dropped: int = 0


def readable(keys: MultiFernet, sealed: str) -> bool:
    """Whether a key of the cipher reads the sealed value."""
    try:
        keys.decrypt(sealed.encode())
    except InvalidToken:
        return False
    return True
