"""`flask agents import`: the CGOS file, all rows or none."""

from cgos.extensions import db
from cgos.models import Agent

HEADER = "numero,nir,civilite,nom,prenom,date_naissance,email,etablissement,position\n"
GOOD = [
    "12345678 " + "ABCDEFGHJKLMNPRSTUVWXYZ"[12345678 % 23]
    + ",1 80 05 35 238 001 " + "{key}" + ",M.,LEROY,Paul,1980-05-01,paul.leroy@example.org,Centre Hospitalier Universitaire de Rennes,titulaire\n",
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
    sophie = db.session.scalar(db.select(Agent).where(Agent.numero == "29088361J"))
    assert sophie.email is None and sophie.pin_hash, "an update never touches the password"


def test_a_bad_row_is_reported_by_line_and_nothing_is_loaded(runner, tmp_path):
    lines = good_lines() + ["99999999 A,123,Dr,X,Y,1990-13-01,pas-un-mail,Hôpital imaginaire,chef\n"]
    result = runner.invoke(args=["agents", "import", write(tmp_path, lines)])
    assert result.exit_code != 0
    output = result.output
    for problem in ["ligne 4 : numéro C.G.O.S invalide", "ligne 4 : NIR invalide", "ligne 4 : civilité",
                    "ligne 4 : date de naissance", "ligne 4 : email invalide", "ligne 4 : établissement inconnu",
                    "ligne 4 : position"]:
        assert problem in output
    assert db.session.scalar(db.select(Agent).where(Agent.last_name == "LEROY")) is None


def test_a_wrong_header_is_refused(runner, tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text("numero;nir\n", encoding="utf-8")
    result = runner.invoke(args=["agents", "import", str(path)])
    assert result.exit_code != 0 and "ligne 1" in result.output
