"""The challenges of passkey ceremonies: random, single use, five minutes, bound to the browser's session.

Each challenge is a `FlowState` row (cgos/flow_state.py): the session cookie holds only a
random handle, the challenge and what it is for stay in the database, never in a process's
memory nor in the cookie, so any host can finish a ceremony another began. `take` reads and
deletes the row in one conditional DELETE (…RETURNING): of two requests presenting the same
challenge, on one host or two, one gets it and the other nothing. A new challenge for a
purpose replaces this browser's previous one.
"""

import enum
import secrets
from dataclasses import dataclass
from datetime import timedelta

from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from .. import flow_state

LIFETIME = timedelta(minutes=5)
CHALLENGE_BYTES = 32


class Purpose(enum.StrEnum):
    """What a challenge is for: creating a passkey or signing in, for an agent or a staff member."""

    AGENT_REGISTRATION = "passkey_agent_registration"
    AGENT_SIGN_IN = "passkey_agent_sign_in"
    STAFF_REGISTRATION = "passkey_staff_registration"
    STAFF_SIGN_IN = "passkey_staff_sign_in"

    @property
    def for_staff(self) -> bool:
        """True for the back office's ceremonies."""
        return self.value.startswith("passkey_staff")


@dataclass(frozen=True)
class Challenge:
    """A challenge taken from the store, with the owner it was issued for (if any)."""

    value: bytes
    owner_id: int | None
    user_handle: bytes | None


def issue(purpose: Purpose, owner_id: int | None = None, user_handle: bytes | None = None) -> bytes:
    """A new random challenge for this browser and `purpose`, stored (and committed); its bytes."""
    value = secrets.token_bytes(CHALLENGE_BYTES)
    data = {
        "challenge": bytes_to_base64url(value),
        "owner_id": owner_id,
        "user_handle": bytes_to_base64url(user_handle) if user_handle else None,
    }
    flow_state.save(purpose, data, LIFETIME)
    return value


def take(purpose: Purpose) -> Challenge | None:
    """This browser's challenge for `purpose`, deleted as it is read (committed); None if it has
    none, it expired, or another request took it first."""
    data = flow_state.take(purpose)
    if not data:
        return None
    handle = data.get("user_handle")
    return Challenge(
        value=base64url_to_bytes(data["challenge"]),
        owner_id=data.get("owner_id"),
        user_handle=base64url_to_bytes(handle) if handle else None,
    )
