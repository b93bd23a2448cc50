"""Commune and establishment search: the start of any word, abbreviations, and its speed."""

import time

import pytest
from sqlalchemy import event

from cgos.extensions import db
from cgos.places.search import communes_with_establishments, establishments_in


def names(communes):
    """The communes' names."""
    return [commune.name for commune in communes]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("brieuc", "Saint-Brieuc"), ("st bri", "Saint-Brieuc"), ("Rennes", "Rennes"), ("SAINT-BRIEUC", "Saint-Brieuc")],
)
def test_a_commune_is_found_by_the_start_of_any_word(app, query, expected):
    assert expected in names(communes_with_establishments(query))


def test_names_starting_with_the_query_come_first(app):
    assert names(communes_with_establishments("rennes"))[0] == "Rennes"


def test_the_middle_of_a_word_finds_nothing(app):
    assert "Saint-Brieuc" not in names(communes_with_establishments("rieuc"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("regnier", "Centre Hospitalier Guillaume Régnier"),
        ("guillaume", "Centre Hospitalier Guillaume Régnier"),
        ("CHU", "Centre Hospitalier Universitaire de Rennes"),
        ("chu rennes", "Centre Hospitalier Universitaire de Rennes"),
        ("CH regnier", "Centre Hospitalier Guillaume Régnier"),
    ],
)
def test_an_establishment_is_found_by_a_word_or_an_abbreviation(app, query, expected):
    assert expected in [e.name for e in establishments_in("35238", query)]


def test_chu_does_not_find_a_plain_centre_hospitalier(app):
    assert "Centre Hospitalier Guillaume Régnier" not in [e.name for e in establishments_in("35238", "chu")]


def test_a_word_search_on_every_commune_stays_fast(app):
    """The word table is indexed: a short, common prefix on the ~35 000 communes stays within a few ms."""
    communes_with_establishments("sa")  # warm the connection and the page cache
    timings = []
    for query in ("sa", "saint b", "brieuc", "mont"):
        started = time.perf_counter()
        communes_with_establishments(query)
        timings.append(time.perf_counter() - started)
    assert db.session.scalar(db.text("SELECT count(*) FROM commune")) > 30000
    assert max(timings) < 0.05, timings


def test_a_query_longer_than_any_commune_name_finds_nothing_without_a_query(app):
    """No commune name has more than 8 words: a longer query (pasted text) is not sent to the database."""
    assert names(communes_with_establishments("saint brieuc")) == ["Saint-Brieuc"]
    statements = []

    def record(conn, cursor, statement, *args):
        """Keep each statement sent."""
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert communes_with_establishments("saint " * 9) == []
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []
