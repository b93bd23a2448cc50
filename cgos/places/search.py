"""Searching communes and establishments: the start of any word of the name, accent- and case-insensitive.

Communes are found through `CommuneWord` (each word of each name, indexed), so « brieuc » finds
Saint-Brieuc with an index range; establishments are searched within one commune (a handful of
rows), where « CH » and « CHU » also stand for « Centre Hospitalier (Universitaire) ».
"""

from functools import lru_cache

from sqlalchemy import Integer, Row, and_, bindparam, case, exists, or_, select

from ..extensions import db
from ..models import Commune, CommuneWord, Establishment
from ..reference_data import normalize_search_text

MAX_RESULTS = 10
# The longest commune name has 8 words (« Saint-Remy-en-Bouzemont-Saint-Genest-et-Isson »).
MAX_WORDS = 8
# Sorts after any character a folded name holds: `text <= x < text + PAST_PREFIX` is « x starts with text ».
PAST_PREFIX = "\uffff"
# Abbreviations agents type for the names establishments are loaded under.
ABBREVIATIONS = {
    "chu": "centre hospitalier universitaire",
    "chr": "centre hospitalier regional",
    "ch": "centre hospitalier",
}


def starts_with(column, text: str):
    """`column` starts with `text`, written as a range so that the index is used."""
    return and_(column >= text, column < text + PAST_PREFIX)


def communes_for_postal_code(postal_code: str) -> list[Commune]:
    """The communes that have this postal code."""
    code = (postal_code or "").strip()
    if not (len(code) == 5 and code.isdigit()):
        return []
    statement = db.select(Commune).where(Commune.postal_codes.contains(code)).order_by(Commune.name)
    return [c for c in db.session.scalars(statement) if code in c.postal_codes.split()]


def communes_with_establishments(query: str, limit: int = MAX_RESULTS) -> list[Row]:
    """Communes whose name starts with the query and that have at least one establishment: insee, name, postal_codes."""
    text = normalize_search_text(query or "")
    if len(text) < 2:
        return []
    words = text.split()
    if len(words) > MAX_WORDS:
        return []
    values = {"name": text, "name_end": text + PAST_PREFIX, "limit": limit}
    for number, word in enumerate(words):
        values |= {f"word{number}": word, f"word{number}_end": word + PAST_PREFIX}
    return list(db.session.execute(_commune_search(len(words)), values))


@lru_cache(maxsize=MAX_WORDS)
def _commune_search(words: int):
    """The commune search for a query of `words` words, its values bound at execution.

    It starts from the communes that have an establishment (a hundred or so, computed first:
    MATERIALIZED keeps the planner from starting instead from the thousands of communes a
    short, common word like « le » or « sa » matches), each typed word then checked among
    that commune's words (index on commune_word.insee). Built once per number of words:
    building it was a third of the search's time.
    """
    places = select(Establishment.commune_insee.label("insee")).distinct().cte("places").prefix_with("MATERIALIZED")
    statement = select(Commune.insee, Commune.name, Commune.postal_codes).join(places, places.c.insee == Commune.insee)
    for number in range(words):
        statement = statement.where(
            exists().where(CommuneWord.insee == Commune.insee, _between(CommuneWord.word, f"word{number}"))
        )
    # Names that start with what was typed come first (« rennes » before « Saint-Rennes »…).
    starts = case((_between(Commune.search_name, "name"), 0), else_=1)
    return statement.order_by(starts, Commune.search_name, Commune.insee).limit(
        bindparam("limit", type_=Integer, literal_execute=True)
    )


def _between(column, name: str):
    """`column` starts with the value bound as `name` (`name_end` is that value followed by PAST_PREFIX)."""
    return and_(column >= bindparam(name), column < bindparam(f"{name}_end"))


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
