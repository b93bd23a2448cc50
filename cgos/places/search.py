"""Searching communes and establishments: the start of any word of the name, accent- and case-insensitive.

Communes are found through `CommuneWord` (each word of each name, indexed), so « brieuc » finds
Saint-Brieuc with an index range; establishments are searched within one commune (a handful of
rows), where « CH » and « CHU » also stand for « Centre Hospitalier (Universitaire) ».
"""

from sqlalchemy import and_, case, exists, or_, select

from ..extensions import db
from ..models import Commune, CommuneWord, Establishment
from ..reference_data import normalize_search_text

MAX_RESULTS = 10
# Abbreviations agents type for the names establishments are loaded under.
ABBREVIATIONS = {
    "chu": "centre hospitalier universitaire",
    "chr": "centre hospitalier regional",
    "ch": "centre hospitalier",
}


def starts_with(column, text: str):
    """`column` starts with `text`, written as a range so that the index is used."""
    return and_(column >= text, column < text + "\uffff")


def communes_with_establishments(query: str, limit: int = MAX_RESULTS) -> list[Commune]:
    """Communes whose name starts with the query and that have at least one establishment."""
    text = normalize_search_text(query or "")
    if len(text) < 2:
        return []
    # Driven by the few communes that have an establishment (index on establishment.commune_insee),
    # each typed word checked against that commune's words (index on commune_word.insee): a short,
    # common prefix (« sa ») costs no more than a rare one.
    statement = select(Commune).where(Commune.insee.in_(select(Establishment.commune_insee)))
    for word in text.split():
        statement = statement.where(
            exists().where(CommuneWord.insee == Commune.insee, starts_with(CommuneWord.word, word))
        )
    # Names that start with what was typed come first (« rennes » before « Saint-Rennes »…).
    starts = case((starts_with(Commune.search_name, text), 0), else_=1)
    return list(db.session.scalars(statement.order_by(starts, Commune.search_name, Commune.insee).limit(limit)))


def establishments_in(commune_insee: str | None, query: str = "", limit: int = 50) -> list[Establishment]:
    """Establishments of a commune, those whose name contains every typed word first."""
    if not commune_insee:
        return []
    statement = select(Establishment).where(Establishment.commune_insee == commune_insee)
    for word in normalize_search_text(query or "").split():
        spelt = [_starts_a_word(word)]
        if word in ABBREVIATIONS:
            spelt.append(and_(*(_starts_a_word(part) for part in ABBREVIATIONS[word].split())))
        statement = statement.where(or_(*spelt))
    return list(db.session.scalars(statement.order_by(Establishment.name).limit(limit)))


def _starts_a_word(word: str):
    """An establishment's search name has a word starting with `word`."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (" " + Establishment.search_name).like(f"% {escaped}%", escape="\\")


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
