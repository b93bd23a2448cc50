"""Which regional delegation handles whom: the one of the establishment's region."""

from .extensions import db
from .models import Agent, Delegation, Establishment


def delegation_of(establishment: Establishment | None) -> Delegation | None:
    """The delegation of the establishment's region, if the establishment is known."""
    if establishment is None:
        return None
    region = establishment.commune.region_code
    return db.session.scalar(db.select(Delegation).where(Delegation.region_code == region))


def delegation_for(agent: Agent) -> Delegation | None:
    """The regional delegation of the agent's establishment on file, if it is known."""
    return delegation_of(agent.establishment)
