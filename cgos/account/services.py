"""What happens to an agent's secrets: PINs, provisional passwords, mail changes."""

from flask import current_app, url_for

from .. import events, passwords, pins
from ..extensions import db
from ..identifiers import nir as nir_rules
from ..identifiers import numero as numero_rules
from ..mail import send_mail
from ..models import Agent, PasswordState, utcnow


def pepper() -> str:
    """The key of the HMAC applied to every secret before bcrypt."""
    return current_app.config["PASSWORD_PEPPER"]


def hash_secret(secret: str, *, salt_of: str | None = None) -> str:
    """bcrypt (configured cost) over the peppered secret."""
    return passwords.hash_secret(secret, pepper(), current_app.config["BCRYPT_COST"], salt_of=salt_of)


def nir_digest(nir: str) -> str:
    """The keyed digest under which an agent's NIR is stored."""
    return passwords.keyed_digest(nir_rules.compact(nir), pepper(), "nir")


def find_agent(numero: str) -> Agent | None:
    """The agent with this numéro C.G.O.S (any accepted spelling), if any."""
    if not numero_rules.is_valid(numero):
        return None
    return db.session.scalar(db.select(Agent).where(Agent.numero == numero_rules.compact(numero)))


def main_hash(agent: Agent) -> str | None:
    """The hash whose salt every secret of this agent shares (see passwords.hash_secret)."""
    return agent.pin_hash or agent.legacy_password_hash or agent.provisional_pin_hash


def set_personal_pin(agent: Agent, pin: str) -> None:
    """Make `pin` the agent's only secret: provisional and legacy passwords stop working."""
    agent.pin_hash = hash_secret(pin)
    agent.password_state = PasswordState.PERSONAL
    agent.provisional_pin_hash = None
    agent.provisional_issued_at = None
    agent.legacy_password_hash = None
    events.record(events.PASSWORD_CHANGE, agent)


def issue_provisional_password(agent: Agent) -> None:
    """Give the agent a new provisional PIN, valid 30 days, and queue the mail that carries it.

    The current personal PIN keeps working until the provisional one is used.
    """
    pin = pins.generate_provisional_pin()
    now = utcnow()
    existing = agent.pin_hash or agent.legacy_password_hash
    agent.provisional_pin_hash = hash_secret(pin, salt_of=existing)
    agent.provisional_issued_at = now
    agent.provisional_reminder_day = None
    if agent.password_state == PasswordState.NONE:
        agent.password_state = PasswordState.PROVISIONAL
    events.record(events.PROVISIONAL_PASSWORD_ISSUED, agent)
    send_mail(
        agent.email,
        "Espace Agent C.G.O.S : votre mot de passe provisoire",
        "provisional_password",
        agent=agent,
        pin=pin,
        expires_at=pins.provisional_pin_expires_at(now),
        login_url=external_url("login.login"),
    )


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, on PUBLIC_BASE_URL when it is set."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def delegation_for(agent: Agent):
    """The regional delegation of the agent's establishment, if it is known."""
    from ..models import Delegation

    if agent.establishment is None:
        return None
    region = agent.establishment.commune.region_code
    return db.session.scalar(db.select(Delegation).where(Delegation.region_code == region))
