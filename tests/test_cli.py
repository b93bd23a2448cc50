"""The `flask` commands: setup is idempotent, demo data as the contract says."""

from cgos.credentials.hashing import nir_digest
from cgos.extensions import db
from cgos.models import Agent, Commune, Delegation, DelegationStaff, Establishment, PasswordState
from tests_support.personas import BRETAGNE_STAFF, DEMO_AGENTS, JEAN, LUC, MARIE, NADIA, SOPHIE


def test_setup_twice_changes_nothing(runner):
    result = runner.invoke(args=["setup", "--demo"])
    assert result.exit_code == 0, result.output
    counts = [line for line in result.output.splitlines() if "ajout(s)" in line]
    assert len(counts) == 6
    assert all(line.endswith(" : 0 ajout(s) ou mise(s) à jour") for line in counts)


def test_setup_leaves_the_planner_statistics_of_what_it_loaded(runner, app):
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    if db.engine.dialect.name == "postgresql":
        analyzed = "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
    else:
        analyzed = "SELECT DISTINCT tbl FROM sqlite_stat1"
    assert {"commune", "commune_word", "establishment", "agent"} <= set(db.session.scalars(db.text(analyzed)))


def test_reference_data_is_loaded(app):
    assert db.session.scalar(db.select(db.func.count(Commune.insee))) > 34000
    rennes = db.session.get(Commune, "35238")
    assert rennes.name == "Rennes" and "35000" in rennes.postal_codes and rennes.region_code == "53"
    assert db.session.scalar(db.select(db.func.count(Delegation.id))) == 13
    names = set(db.session.scalars(db.select(Establishment.name).where(Establishment.commune_insee == "35238")))
    assert {"Centre Hospitalier Universitaire de Rennes", "Centre Hospitalier Guillaume Régnier"} <= names


def test_demo_agents_are_as_the_contract_says(app):
    agents = {a.numero: a for a in db.session.scalars(db.select(Agent))}
    assert set(agents) == {person.compact_numero for person in DEMO_AGENTS}
    assert agents[MARIE.compact_numero].password_state == PasswordState.NONE
    assert agents[JEAN.compact_numero].email is None
    assert agents[SOPHIE.compact_numero].password_state == PasswordState.PERSONAL
    assert agents[LUC.compact_numero].password_state == PasswordState.LEGACY
    assert agents[NADIA.compact_numero].password_state == PasswordState.PROVISIONAL
    assert agents[MARIE.compact_numero].nir_digest == nir_digest(MARIE.spaced_nir)
    staff = db.session.scalar(db.select(DelegationStaff))
    assert staff.email == BRETAGNE_STAFF.email and staff.delegation.code == "bretagne"


def test_the_test_personas_are_the_demo_data(app):
    """tests_support.personas types the demo data once for every test: it must be what `setup --demo` loads."""
    for person in DEMO_AGENTS:
        row = db.session.scalar(db.select(Agent).where(Agent.numero == person.compact_numero))
        assert (row.civility, row.first_name, row.last_name, row.birth_date, row.email) == (
            person.civility,
            person.first_name,
            person.last_name,
            person.birth_date,
            person.email,
        ), person.numero
        assert row.nir_digest == nir_digest(person.nir) and row.establishment.name == person.establishment


def test_no_nir_is_stored_in_clear(app):
    for agent in db.session.scalars(db.select(Agent)):
        assert agent.nir_digest and len(agent.nir_digest) == 64
