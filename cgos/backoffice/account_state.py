"""An agent's account state in words, for the delegation answering the phone.

No Flask here: the view reads the attempt counters and gives them, and `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import pins
from ..models import Agent, PasswordState
from ..templating import french_date, french_datetime, french_time


@dataclass(frozen=True)
class Counters:
    """The agent's failed logins as the limits count them."""

    locked_until: datetime | None
    daily_failures: int
    daily_cap: int


def describe(agent: Agent, counters: Counters, now: datetime) -> list[str]:
    """The sentences that say where the account stands, the most blocking first."""
    lines = []
    if agent.disabled_at is not None:
        lines.append(f"Compte désactivé le {french_date(agent.disabled_at)} : l'agent ne peut pas se connecter.")
    if counters.locked_until is not None and counters.locked_until > now:
        lines.append(
            f"Connexion bloquée jusqu'à {french_time(counters.locked_until)} après plusieurs tentatives erronées."
        )
    if agent.pin_blocked_at is not None:
        lines.append(
            f"Mot de passe bloqué depuis le {french_datetime(agent.pin_blocked_at)} : plus de "
            f"{counters.daily_cap} tentatives erronées dans la journée."
        )
    elif counters.daily_failures:
        lines.append(
            f"{counters.daily_failures} tentative{'s' if counters.daily_failures > 1 else ''} erronée"
            f"{'s' if counters.daily_failures > 1 else ''} aujourd'hui (blocage au-delà de {counters.daily_cap})."
        )
    lines.append(password_in_words(agent, now))
    return lines


def password_in_words(agent: Agent, now: datetime) -> str:
    """Which secret the agent logs in with: never connected, provisional, personal or legacy."""
    provisional = provisional_in_words(agent, now)
    if agent.password_state == PasswordState.PERSONAL:
        return "Mot de passe personnel." + (f" {provisional}" if provisional else "")
    if agent.password_state == PasswordState.LEGACY:
        return (
            "Ancien mot de passe (lettres et chiffres) : il n'est plus accepté, l'agent doit demander "
            "un nouveau mot de passe." + (f" {provisional}" if provisional else "")
        )
    if provisional:
        return f"Jamais connecté avec un mot de passe personnel. {provisional}"
    return "Jamais connecté : aucun mot de passe n'a été demandé."


def provisional_in_words(agent: Agent, now: datetime) -> str | None:
    """`Mot de passe provisoire envoyé le … (expire le …).`, or None if none is pending."""
    if agent.provisional_issued_at is None or agent.provisional_used_at is not None:
        return None
    expires = pins.provisional_pin_expires_at(agent.provisional_issued_at)
    verb = "a expiré" if expires <= now else "expire"
    return f"Mot de passe provisoire envoyé le {french_date(agent.provisional_issued_at)} ({verb} le {french_date(expires)})."
