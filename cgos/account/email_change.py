"""A new mail address takes effect only once the link sent to it is followed."""

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .. import events
from ..extensions import db
from ..mail import external_url, send_mail
from ..models import Agent

LINK_LIFETIME = timedelta(hours=48)


def _serializer() -> URLSafeTimedSerializer:
    """Signs the links: the token names the agent, the new and the current address."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-change")


def request_email_change(agent: Agent, new_email: str) -> None:
    """Keep the new address pending, mail it a link and tell the old address."""
    agent.pending_email = new_email
    token = _serializer().dumps({"agent": agent.id, "email": new_email, "current": agent.email})
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
    events.record(events.EMAIL_CHANGE_REQUESTED, agent)


def confirm_email_change(token: str) -> tuple[Agent | None, str]:
    """Apply the change a link asks for: (agent, outcome) with outcome done/expired/invalid/used."""
    try:
        data = _serializer().loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
    except SignatureExpired:
        return None, "expired"
    except BadSignature:
        return None, "invalid"
    agent = db.session.get(Agent, data.get("agent"))
    if agent is None:
        return None, "invalid"
    if agent.pending_email != data.get("email") or agent.email != data.get("current"):
        return agent, "used"
    agent.email = agent.pending_email
    agent.pending_email = None
    events.record(events.EMAIL_CHANGED, agent)
    return agent, "done"
