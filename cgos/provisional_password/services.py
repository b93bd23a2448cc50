"""Finding an agent from what they know: numéro, birth year and month."""

from ..credentials.accounts import find_agent
from ..models import Agent


def find_by_identity(numero: str, birth_year: str, birth_month: str) -> Agent | None:
    """The agent whose numéro and birth year and month all match, else None."""
    agent = find_agent(numero)
    if agent is None:
        return None
    if agent.birth_date.year != int(birth_year) or agent.birth_date.month != int(birth_month):
        return None
    return agent


def same_address(typed: str, on_file: str | None) -> bool:
    """True when the typed mail address is the one on file (case of the domain ignored)."""
    if not on_file:
        return False
    return typed.strip().lower() == on_file.strip().lower()
