"""`flask agents import`: the CGOS file, all rows or none."""

import csv
import importlib.util
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import event

from cgos import agents_import
from cgos.credentials.hashing import nir_digest
from cgos.extensions import db
from cgos.models import Agent, PasswordState
from tests_support.factories import agent_row
from tests_support.personas import SOPHIE

HEADER = "numero,nir,civilite,nom,prenom,date_naissance,email,etablissement,position\n"
GOOD = [
    "12345678 "
    + "ABCDEFGHJKLMNPRSTUVWXYZ"[12345678 % 23]
    + ",1 80 05 35 238 001 "
    + "{key}"
    + ",M.,LEROY,Paul,1980-05-01,paul.leroy@example.org,Centre Hospitalier Universitaire de Rennes,titulaire\n",
    "29088361j,290062901908862,Mme,BERNARD,Sophie,1990-06-21,,,\n",
]


def nir_key(body: str) -> str:
    """The two-digit key of a 13-digit NIR body."""
    return f"{97 - int(body) % 97:02d}"


def write(tmp_path, lines) -> str:
    """A CSV file with the contract's header."""
    path = tmp_path / "agents.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return str(path)


def good_lines():
    """Two valid rows: a new agent and an update of Sophie."""
    return [GOOD[0].replace("{key}", nir_key("1800535238001")), GOOD[1]]


def test_a_valid_file_creates_and_updates(runner, tmp_path):
    result = runner.invoke(args=["agents", "import", write(tmp_path, good_lines())])
    assert result.exit_code == 0, result.output
    assert "1 agent(s) créé(s), 1 mis à jour." in result.output
    paul = db.session.scalar(db.select(Agent).where(Agent.last_name == "LEROY"))
    assert paul.establishment.name == "Centre Hospitalier Universitaire de Rennes" and paul.position == "titulaire"
    sophie = agent_row(SOPHIE)
    assert sophie.email is None and sophie.pin_hash, "an update never touches the password"


def test_a_bad_row_is_reported_by_line_and_nothing_is_loaded(runner, tmp_path):
    lines = good_lines() + ["99999999 A,123,Dr,X,Y,1990-13-01,pas-un-mail,Hôpital imaginaire,chef\n"]
    result = runner.invoke(args=["agents", "import", write(tmp_path, lines)])
    assert result.exit_code != 0
    output = result.output
    for problem in [
        "ligne 4 : numéro C.G.O.S invalide",
        "ligne 4 : NIR invalide",
        "ligne 4 : civilité",
        "ligne 4 : date de naissance",
        "ligne 4 : email invalide",
        "ligne 4 : établissement inconnu",
        "ligne 4 : position",
    ]:
        assert problem in output
    assert db.session.scalar(db.select(Agent).where(Agent.last_name == "LEROY")) is None


def test_a_wrong_header_is_refused(runner, tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text("numero;nir\n", encoding="utf-8")
    result = runner.invoke(args=["agents", "import", str(path)])
    assert result.exit_code != 0 and "ligne 1" in result.output


def generated_file(tmp_path, count: int, name: str = "generated.csv") -> str:
    """A file of COUNT valid rows from the benchmark's generator."""
    spec = importlib.util.spec_from_file_location("cgos_file", Path(__file__).parent.parent / "bench" / "cgos_file.py")
    cgos_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cgos_file)
    path = tmp_path / name
    cgos_file.write(path, count)
    return str(path)


def agent_count() -> int:
    """How many agents the database holds."""
    return db.session.scalar(db.select(db.func.count()).select_from(Agent))


def test_a_few_thousand_generated_agents_are_loaded(runner, tmp_path):
    path = generated_file(tmp_path, 3000)
    before = agent_count()
    result = runner.invoke(args=["agents", "import", path])
    assert result.exit_code == 0, result.output
    assert "3000 agent(s) créé(s), 0 mis à jour." in result.output
    assert agent_count() == before + 3000
    with open(path, encoding="utf-8") as handle:
        last = list(csv.DictReader(handle))[-1]
    agent = db.session.scalar(db.select(Agent).where(Agent.numero == last["numero"].replace(" ", "")))
    assert agent.nir_digest == nir_digest(last["nir"])
    assert (agent.civility, agent.last_name, agent.first_name) == (last["civilite"], last["nom"], last["prenom"])
    assert agent.birth_date.isoformat() == last["date_naissance"]
    assert agent.email == (last["email"] or None) and agent.position == (last["position"] or None)
    assert (agent.establishment.name if agent.establishment else "") == last["etablissement"]
    assert agent.password_state == PasswordState.NONE and agent.created_at is not None and agent.pin_hash is None


def test_importing_the_same_file_again_updates_every_agent(runner, tmp_path):
    path = generated_file(tmp_path, 200)
    assert runner.invoke(args=["agents", "import", path]).exit_code == 0
    result = runner.invoke(args=["agents", "import", path])
    assert result.exit_code == 0, result.output
    assert "0 agent(s) créé(s), 200 mis à jour." in result.output


def test_an_update_changes_the_file_fields_and_keeps_secrets_and_password_state(runner, tmp_path):
    sophie = agent_row(SOPHIE)
    sophie.phone_mobile, sophie.pending_email = "0612345678", "nouvelle@example.org"
    sophie.provisional_pin_hash, sophie.provisional_reminder_day = "provisional-hash", 7
    db.session.commit()
    kept = {
        field: getattr(sophie, field)
        for field in (
            "id",
            "pin_hash",
            "legacy_password_hash",
            "provisional_pin_hash",
            "provisional_issued_at",
            "password_state",
            "phone_mobile",
            "pending_email",
            "provisional_reminder_day",
            "charter_accepted_at",
            "personal_data_confirmed_at",
            "disabled_at",
            "created_at",
        )
    }
    line = "29088361 J,290062901908862,Mme,BERNARD-LEROY,Sophie,1990-06-21,s.bl@example.org,Centre Hospitalier Universitaire de Rennes,contractuel\n"
    result = runner.invoke(args=["agents", "import", write(tmp_path, [line])])
    assert result.exit_code == 0, result.output
    assert "0 agent(s) créé(s), 1 mis à jour." in result.output
    db.session.expire_all()
    sophie = agent_row(SOPHIE)
    assert (sophie.last_name, sophie.email, sophie.position) == ("BERNARD-LEROY", "s.bl@example.org", "contractuel")
    assert sophie.establishment.name == "Centre Hospitalier Universitaire de Rennes"
    assert {field: getattr(sophie, field) for field in kept} == kept


def test_a_numero_given_twice_is_reported_with_both_lines_and_nothing_is_loaded(runner, tmp_path):
    lines = good_lines() + ["29088361 j,180053523800167,M.,DOUBLE,Jean,1980-05-01,,,\n"]
    result = runner.invoke(args=["agents", "import", write(tmp_path, lines)])
    assert result.exit_code != 0
    assert "ligne 4 : numéro 29088361 J déjà présent ligne 3" in result.output
    assert db.session.scalar(db.select(Agent).where(Agent.last_name == "LEROY")) is None


def test_a_nir_given_twice_is_reported_by_line_and_nothing_is_loaded(runner, tmp_path):
    paul = good_lines()[0]
    lines = [paul, paul.replace("12345678 " + "ABCDEFGHJKLMNPRSTUVWXYZ"[12345678 % 23], "40000000 L")]
    result = runner.invoke(args=["agents", "import", write(tmp_path, lines)])
    assert result.exit_code != 0
    assert "ligne 3 : NIR déjà présent ligne 2" in result.output
    assert "1 80 05" not in result.output, "a NIR is never shown"
    assert db.session.scalar(db.select(Agent).where(Agent.last_name == "LEROY")) is None


def test_the_nir_of_another_agent_is_reported_by_line_and_nothing_is_loaded(runner, tmp_path):
    maries_nir = "40000000 L,285033523812388,Mme,AUTRE,Marie,1985-03-14,,,\n"
    result = runner.invoke(args=["agents", "import", write(tmp_path, good_lines() + [maries_nir])])
    assert result.exit_code != 0
    assert "ligne 4 : NIR déjà attribué à un autre agent" in result.output
    assert db.session.scalar(db.select(Agent).where(Agent.last_name == "LEROY")) is None


def test_a_row_with_missing_columns_is_reported_by_line(runner, tmp_path):
    result = runner.invoke(args=["agents", "import", write(tmp_path, good_lines() + ["40000000 L,1\n"])])
    assert result.exit_code != 0 and "ligne 4 : nombre de colonnes incorrect" in result.output


def test_errors_beyond_the_first_hundred_are_counted_not_listed(runner, tmp_path):
    bad = ["99999999 A,123,Dr,X,Y,1990-13-01,,,\n"] * 150
    result = runner.invoke(args=["agents", "import", write(tmp_path, good_lines() + bad)])
    assert result.exit_code != 0
    # 150 rows of 4 problems each from line 4: the first 100 are those of lines 4 to 28.
    assert "ligne 28 : " in result.output and "ligne 29 : " not in result.output
    assert "… et 500 autres erreurs" in result.output


def test_no_statement_binds_more_values_than_one_row(app, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(agents_import, "BATCH_SIZE", 7)
    widest = []

    def record(conn, cursor, statement, parameters, context, executemany):
        """The number of values bound by one row of the statement."""
        rows = parameters if executemany else [parameters]
        widest.append(max((len(row) for row in rows), default=0))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = runner.invoke(args=["agents", "import", generated_file(tmp_path, 500)])
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert result.exit_code == 0, result.output
    assert "500 agent(s) créé(s)" in result.output
    assert max(widest) <= 12, "the look-up of existing agents binds no list of numéros"


def test_batches_cut_an_iterable_into_lists_of_at_most_the_size():
    assert list(agents_import.batches(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(agents_import.batches(iter(range(6)), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(agents_import.batches(iter([]), 3)) == []


@pytest.mark.parametrize(
    "email",
    [
        "paul.leroy@example.org",
        "Paul.Leroy@EXAMPLE.ORG",
        "a+b@chu-rennes.fr",
        "o'neil@example.org",
        "x@domaine-éèà.fr",
        "jean..dupont@example.org",
        ".jean@example.org",
        "jean.@example.org",
        "jean@",
        "@example.org",
        "jean",
        "jean@@example.org",
        "jean@localhost",
        "jean@exa mple.org",
        "jean@-example.org",
        "jean@example",
        "jean@123.456",
        "é@example.org",
        '"jean dupont"@example.org',
        "a" * 65 + "@example.org",
        "jean@" + "a" * 250 + ".fr",
        "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".fr",
    ],
)
def test_the_quick_email_check_agrees_with_email_validator(email):
    try:
        expected = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        quick = agents_import.normalized_email(email)
    except EmailNotValidError:
        quick = None
    assert quick == expected


def test_an_import_fills_the_folded_name_the_back_office_searches(runner, tmp_path):
    lines = [GOOD[0].replace("{key}", nir_key("1800535238001")).replace("LEROY,Paul", "LE BRIS-ÉON,Zoé")]
    lines.append("29088361j,290062901908862,Mme,BERNARD-HÉLIAS,Sophie,1990-06-21,,,\n")
    assert runner.invoke(args=["agents", "import", write(tmp_path, lines)]).exit_code == 0
    names = dict(db.session.execute(db.select(Agent.first_name, Agent.search_name).where(Agent.numero != "")).all())
    assert names["Zoé"] == "le bris eon zoe"
    assert names["Sophie"] == "bernard helias sophie", "an update refolds the name"
