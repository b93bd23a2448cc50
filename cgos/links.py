"""What following a mailed single-use link did, and the status and title each outcome gets.

The mail-change link (`account/email_change.py`) and the registration link
(`number_request/services.py`) both end in one of these outcomes; their pages
(`templates/account/email_confirmed.html`, `templates/number_request/confirmed.html`)
branch on it. Both links last LINK_LIFETIME (« sous 48 heures », says the guide).
"""

import enum
from datetime import datetime, timedelta

LINK_LIFETIME = timedelta(hours=48)


class LinkOutcome(enum.StrEnum):
    """The result of following a confirmation link."""

    DONE = "done"  # the new mail address took effect
    CREATED = "created"  # the registration created the agent and its numéro
    EXISTS = "exists"  # the registration's NIR already had a numéro
    USED = "used"
    EXPIRED = "expired"
    INVALID = "invalid"

    @property
    def status(self) -> int:
        """200 when the link did its job, 410 when it did once or too late, 404 when it never could."""
        return _STATUSES[self]

    @property
    def title(self) -> str:
        """The page's title and heading."""
        return _TITLES[self]


def link_expires_at(sent_at: datetime) -> datetime:
    """The moment a link mailed at `sent_at` stops working: 48 hours later, to the microsecond."""
    return sent_at + LINK_LIFETIME


def is_link_expired(expires_at: datetime, now: datetime) -> bool:
    """True once `now` has reached the link's end: it works at 47 h 59 min 59 s, not at 48 h."""
    return now >= expires_at


_STATUSES = {
    LinkOutcome.DONE: 200,
    LinkOutcome.CREATED: 200,
    LinkOutcome.EXISTS: 200,
    LinkOutcome.USED: 410,
    LinkOutcome.EXPIRED: 410,
    LinkOutcome.INVALID: 404,
}
_TITLES = {
    LinkOutcome.DONE: "Adresse mail confirmée",
    LinkOutcome.CREATED: "Votre numéro C.G.O.S",
    LinkOutcome.EXISTS: "Numéro déjà attribué",
    LinkOutcome.USED: "Lien déjà utilisé",
    LinkOutcome.EXPIRED: "Lien expiré",
    LinkOutcome.INVALID: "Lien invalide",
}
