"""The mails that tell an agent a passkey was added to or deleted from their account."""

from ..mail import external_url, send_mail
from ..models import Agent, Passkey, utcnow


def send_passkey_notice(agent: Agent, passkey: Passkey, added: bool) -> None:
    """Queue the notice of a passkey added (`added`) or deleted, with where to review them."""
    if not agent.email:
        return
    send_mail(
        agent.email,
        "Espace Agent C.G.O.S : " + ("nouvelle clé d'accès" if added else "clé d'accès supprimée"),
        "passkey_added" if added else "passkey_deleted",
        agent=agent,
        passkey_name=passkey.name,
        when=utcnow(),
        passkeys_url=external_url("passkeys.index"),
        forgotten_url=external_url("forgotten_password.identify"),
    )
