"""`flask establishments import-finess`: the official FINESS extract, public establishments only."""

from pathlib import Path

from cgos.extensions import db
from cgos.finess import insee_code
from cgos.models import Establishment

FIXTURE = Path(__file__).parent / "fixtures" / "etalab-cs1100507-stock-sample.csv"


def by_finess(finess: str) -> Establishment | None:
    """The establishment with this FINESS number."""
    return db.session.scalar(db.select(Establishment).where(Establishment.finess == finess))


def test_insee_codes_from_finess_departments():
    assert insee_code("35", "238") == "35238"
    assert insee_code("2A", "004") == "2A004"
    assert insee_code("9A", "120") == "97120"
    assert insee_code("9F", "611") == "97611"


def test_import_keeps_public_establishments_and_reports(runner):
    before = db.session.scalar(db.select(db.func.count(Establishment.id)))
    result = runner.invoke(args=["establishments", "import-finess", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "3 établissement(s) créé(s), 2 mis à jour." in result.output
    assert "Ignorés : 1 non publics, 1 de commune inconnue." in result.output
    assert "Lignes rejetées (nombre de colonnes incorrect) : 10" in result.output
    assert db.session.scalar(db.select(db.func.count(Establishment.id))) == before + 3
    assert by_finess("350002812").commune_insee == "35189"
    assert by_finess("2A0000011").commune_insee == "2A004"
    assert by_finess("9A0000012").commune_insee == "97120"
    assert by_finess("350045678").category == "EHPAD"
    assert by_finess("350099999") is None


def test_an_existing_establishment_is_updated_by_its_name_then_its_finess(runner):
    runner.invoke(args=["establishments", "import-finess", str(FIXTURE)])
    chu = db.session.scalar(
        db.select(Establishment).where(Establishment.name == "Centre Hospitalier Universitaire de Rennes")
    )
    assert chu.finess == "350000741"
    result = runner.invoke(args=["establishments", "import-finess", str(FIXTURE)])
    assert "0 établissement(s) créé(s), 5 mis à jour." in result.output


def test_utf8_files_are_read_too(runner, tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_bytes(FIXTURE.read_bytes().decode("iso-8859-1").encode("utf-8"))
    result = runner.invoke(args=["establishments", "import-finess", str(path)])
    assert "3 établissement(s) créé(s)" in result.output
    assert by_finess("350000741").name == "Centre Hospitalier Universitaire de Rennes"
