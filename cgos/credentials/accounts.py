"""Finding the agent a credential belongs to."""

from ..extensions import db
from ..identifiers import numero as numero_rules
from ..models import Agent


def find_agent(numero: str) -> Agent | None:
    """The agent with this numéro C.G.O.S (any accepted spelling), if any."""
    if not numero_rules.is_valid(numero):
        return None
    return db.session.scalar(db.select(Agent).where(Agent.numero == numero_rules.compact(numero)))


def find_agent_by_nir_digest(digest: str) -> Agent | None:
    """The agent whose NIR has this keyed digest (see hashing.nir_digest), if any."""
    return db.session.scalar(db.select(Agent).where(Agent.nir_digest == digest))
