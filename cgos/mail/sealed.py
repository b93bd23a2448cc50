"""A mail's secrets (a provisional PIN, a link with a token): sealed in the row, put in place only to send."""

import json
import re
from dataclasses import dataclass

from cryptography.fernet import InvalidToken, MultiFernet
from markupsafe import escape

from .. import sealing
from ..models import OutboundMail

# Where a secret goes in a stored body: its name and a random tag of this mail.
MARKER = re.compile(r"\[secret:\w+:[0-9a-f]{16}\]")
# What the dev mailbox shows of a secret erased after sending.
ERASED = "[effacé après l'envoi]"


class SecretUnavailable(Exception):
    """The sealed secrets of a mail cannot be opened (the key changed): it is not sent."""


def _fernet() -> MultiFernet:
    """The mail-secret cipher, keyed from MAIL_SECRET_KEY or SECRET_KEY, never from the database."""
    return sealing.cipher(sealing.MAIL_PURPOSE)


def seal(values: dict[str, str]) -> str:
    """Encrypt marker -> secret pairs for storage."""
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def unseal(sealed: str | None) -> dict[str, str]:
    """The marker -> secret pairs of a mail; empty when it has none left."""
    if not sealed:
        return {}
    try:
        return json.loads(_fernet().decrypt(sealed.encode()))
    except InvalidToken as error:
        raise SecretUnavailable from error


@dataclass(frozen=True)
class OpenedMail:
    """A mail's bodies as its recipient reads them, secrets in place."""

    text_body: str
    html_body: str | None


def fill(body: str | None, values: dict[str, str], html: bool) -> str | None:
    """Put each secret where its marker is; a marker with no secret left reads as erased."""
    if body is None:
        return None
    for marker, value in values.items():
        body = body.replace(marker, str(escape(value)) if html else value)
    return MARKER.sub(ERASED, body)


def open_mail(row: OutboundMail) -> OpenedMail:
    """The bodies with their secrets (for SMTP and the dev mailbox); erased ones show as such."""
    try:
        values = unseal(row.sealed_secrets)
    except SecretUnavailable:
        values = {}
    return OpenedMail(fill(row.text_body, values, html=False), fill(row.html_body, values, html=True))
