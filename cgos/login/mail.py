"""The mail that tells an agent their account was locked after wrong passwords."""

from datetime import datetime

from ..mail import external_url, send_mail
from ..models import Agent


def send_lockout_notice(agent: Agent, retry_at: datetime | None) -> None:
    """Queue the lockout notice: when to retry (None: only with a new provisional password)."""
    if not agent.email:
        return
    send_mail(
        agent.email,
        "Espace Agent C.G.O.S : tentatives de connexion à votre compte",
        "lockout",
        agent=agent,
        retry_at=retry_at,
        forgotten_url=external_url("forgotten_password.identify"),
    )
