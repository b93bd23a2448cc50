"""Searching communes and establishments: indexed prefix search, accent- and case-insensitive."""

from sqlalchemy import and_, exists, select

from ..extensions import db
from ..models import Commune, Establishment
from ..reference_data import normalize_search_text

MAX_RESULTS = 10


def starts_with(column, text: str):
    """`column` starts with `text`, written as a range so that the index is used."""
    return and_(column >= text, column < text + "\uffff")


def communes_with_establishments(query: str, limit: int = MAX_RESULTS) -> list[Commune]:
    """Communes whose name starts with the query and that have at least one establishment."""
    text = normalize_search_text(query or "")
    if len(text) < 2:
        return []
    has_establishment = exists().where(Establishment.commune_insee == Commune.insee)
    statement = (
        select(Commune)
        .where(starts_with(Commune.search_name, text), has_establishment)
        .order_by(Commune.search_name, Commune.insee)
        .limit(limit)
    )
    return list(db.session.scalars(statement))


def establishments_in(commune_insee: str | None, query: str = "", limit: int = 50) -> list[Establishment]:
    """Establishments of a commune, those whose name contains every typed word first."""
    if not commune_insee:
        return []
    statement = select(Establishment).where(Establishment.commune_insee == commune_insee)
    words = normalize_search_text(query or "").split()
    for word in words:
        statement = statement.where(Establishment.search_name.contains(word))
    return list(db.session.scalars(statement.order_by(Establishment.name).limit(limit)))


def establishment_in(commune_insee: str | None, establishment_id) -> Establishment | None:
    """The chosen establishment, if it is really in the chosen commune."""
    # An id is what the radio buttons send: ASCII digits that fit PostgreSQL's integer. Anything
    # else (« 1e9 », « ٣ », a 30-digit number that overflows the database's integers) is no choice.
    if not (
        isinstance(establishment_id, str)
        and establishment_id.isascii()
        and establishment_id.isdigit()
        and len(establishment_id) <= 9
    ):
        return None
    establishment = db.session.get(Establishment, int(establishment_id))
    if establishment is None or establishment.commune_insee != commune_insee:
        return None
    return establishment
