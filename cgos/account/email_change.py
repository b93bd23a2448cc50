"""A new mail address takes effect only once the link sent to it is followed."""

import hashlib
import secrets

from .. import events
from ..events import Event
from ..extensions import db
from ..links import LINK_LIFETIME, LinkOutcome, is_link_expired, link_expires_at
from ..mail import external_url, send_mail
from ..models import Agent, utcnow


def _token_digest(token: str) -> str:
    """What is stored of a link's token: a database leak yields no working link."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_email_change(agent: Agent, new_email: str) -> None:
    """Keep the new address pending, mail it a link and tell the old address."""
    # An opaque random token: the link names neither the agent nor any address.
    token = secrets.token_urlsafe(32)
    agent.pending_email = new_email
    agent.email_change_token_digest = _token_digest(token)
    agent.email_change_expires_at = link_expires_at(utcnow())
    send_mail(
        new_email,
        "Espace Agent C.G.O.S : confirmez votre nouvelle adresse mail",
        "email_change_confirm",
        secrets={"link": external_url("account.confirm_email", token=token)},
        agent=agent,
        hours=int(LINK_LIFETIME.total_seconds() // 3600),
    )
    if agent.email:
        send_mail(
            agent.email,
            "Espace Agent C.G.O.S : changement de votre adresse mail",
            "email_change_notice",
            agent=agent,
            new_email=new_email,
        )
    events.record(Event.EMAIL_CHANGE_REQUESTED, agent)


def confirm_email_change(token: str) -> tuple[Agent | None, LinkOutcome]:
    """Apply the change a link asks for: (agent, outcome), DONE, USED, EXPIRED or INVALID."""
    agent = db.session.scalar(db.select(Agent).where(Agent.email_change_token_digest == _token_digest(token)))
    if agent is None:
        return None, LinkOutcome.INVALID
    if agent.pending_email is None:
        return agent, LinkOutcome.USED
    if is_link_expired(agent.email_change_expires_at, utcnow()):
        return None, LinkOutcome.EXPIRED
    agent.email = agent.pending_email
    agent.pending_email = None
    # The digest stays, so that the same link followed again is told it was used.
    events.record(Event.EMAIL_CHANGED, agent)
    return agent, LinkOutcome.DONE
