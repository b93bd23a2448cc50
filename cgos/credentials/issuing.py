"""New secrets for an agent: a provisional PIN by mail, a personal PIN of their choice."""

from .. import events, pins
from ..events import Event
from ..mail import external_url, send_mail
from ..models import Agent, PasswordState, utcnow
from .hashing import hash_secret


def set_personal_pin(agent: Agent, pin: str) -> None:
    """Make `pin` the agent's only secret: provisional and legacy passwords stop working."""
    agent.pin_hash = hash_secret(pin)
    agent.password_state = PasswordState.PERSONAL
    agent.provisional_pin_hash = None
    agent.provisional_issued_at = None
    agent.provisional_used_at = None
    agent.legacy_password_hash = None
    events.record(Event.PASSWORD_CHANGE, agent)


def issue_provisional_password(agent: Agent) -> None:
    """Give the agent a new provisional PIN, valid 30 days, and queue the mail that carries it.

    The current personal PIN keeps working until the provisional one is used; the
    previous provisional PIN, if any, stops working.
    """
    pin = pins.generate_provisional_pin()
    now = utcnow()
    existing = agent.pin_hash or agent.legacy_password_hash
    agent.provisional_pin_hash = hash_secret(pin, salt_of=existing)
    agent.provisional_issued_at = now
    agent.provisional_used_at = None
    agent.provisional_reminder_day = None
    if agent.password_state == PasswordState.NONE:
        agent.password_state = PasswordState.PROVISIONAL
    events.record(Event.PROVISIONAL_PASSWORD_ISSUED, agent)
    send_mail(
        agent.email,
        "Espace Agent C.G.O.S : votre mot de passe provisoire",
        "provisional_password",
        secrets={"pin": pin},
        agent=agent,
        expires_at=pins.provisional_pin_expires_at(now),
        login_url=external_url("login.login"),
    )
