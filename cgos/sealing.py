"""Secrets the application must read back, kept Fernet-encrypted under a key that is not in the database.

The key is derived (HKDF-SHA256) from MAIL_SECRET_KEY, or SECRET_KEY when it
is unset; each use names its own purpose, so one key never serves two uses.
"""

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def cipher(purpose: bytes) -> Fernet:
    """The cipher for one purpose (`b"cgos outbound mail secrets"`…), keyed from the configuration only."""
    material = current_app.config.get("MAIL_SECRET_KEY") or current_app.config["SECRET_KEY"]
    if isinstance(material, str):
        material = material.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))
