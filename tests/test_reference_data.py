"""Tests for the shipped reference data and its reader (no Flask needed)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from cgos import reference_data as rd
from cgos.reference_data import (
    METROPOLITAN_REGION_CODES,
    Commune,
    iter_communes,
    iter_delegations,
    iter_departments,
    iter_establishments,
    iter_regions,
    normalize_search_text,
)

DATA_DIR = Path(rd.__file__).resolve().parent / "data"

# University and regional hospital centres of metropolitan France, by city,
# with the INSEE code of the commune holding the main site.
EXPECTED_CHU_CHR = {
    "Amiens": "80021",
    "Angers": "49007",
    "Besançon": "25056",
    "Bordeaux": "33063",
    "Brest": "29019",
    "Caen": "14118",
    "Clermont-Ferrand": "63113",
    "Dijon": "21231",
    "Grenoble": "38516",  # La Tronche (Hôpital Michallon)
    "Lille": "59350",
    "Limoges": "87085",
    "Lyon": "69123",
    "Marseille": "13055",
    "Metz-Thionville": "57031",  # Ars-Laquenexy (Hôpital de Mercy)
    "Montpellier": "34172",
    "Nancy": "54395",
    "Nantes": "44109",
    "Nice": "06088",
    "Nîmes": "30189",
    "Orléans": "45234",
    "Paris": "75056",
    "Poitiers": "86194",
    "Reims": "51454",
    "Rennes": "35238",
    "Rouen": "76540",
    "Saint-Étienne": "42275",  # Saint-Priest-en-Jarez (Hôpital Nord)
    "Strasbourg": "67482",
    "Toulouse": "31555",
    "Tours": "37261",
}


@pytest.fixture(scope="module")
def communes() -> dict[str, Commune]:
    """Load all communes once, keyed by INSEE code."""
    return {commune.insee: commune for commune in iter_communes()}


@pytest.fixture(scope="module")
def establishments() -> list[rd.Establishment]:
    """Load the curated establishments once."""
    return list(iter_establishments())


def test_communes_count_and_uniqueness(communes):
    """All current communes are there, each INSEE code once."""
    assert len(communes) > 34_000
    assert len(communes) == sum(1 for _ in iter_communes())


def test_communes_are_sorted_by_insee():
    """Rows come out sorted by INSEE code (deterministic build)."""
    codes = [commune.insee for commune in iter_communes()]
    assert codes == sorted(codes)


def test_rennes(communes):
    """Rennes has its main postal code and belongs to Brittany."""
    rennes = communes["35238"]
    assert rennes.name == "Rennes"
    assert "35000" in rennes.postal_codes
    assert rennes.department == "35"
    assert rennes.region == "53"


def test_corsica_and_overseas(communes):
    """Corsican and overseas communes are included with their codes."""
    assert communes["2A004"].name == "Ajaccio"
    assert communes["2A004"].department == "2A"
    assert communes["97411"].department == "974"


def test_communes_reference_known_departments_and_regions(communes):
    """Every commune points to an existing department and region."""
    departments = {department.code: department for department in iter_departments()}
    regions = {region.code for region in iter_regions()}
    for commune in communes.values():
        assert commune.department in departments, commune
        assert commune.region in regions, commune
        assert departments[commune.department].region == commune.region, commune


def test_postal_codes_format(communes):
    """Postal codes are five digits; metropolitan communes all have one."""
    for commune in communes.values():
        assert all(re.fullmatch(r"\d{5}", code) for code in commune.postal_codes), commune
        if commune.region in METROPOLITAN_REGION_CODES:
            assert commune.postal_codes, commune


def test_regions_and_departments():
    """The 13 metropolitan regions and the 101 departments are present."""
    regions = {region.code: region.name for region in iter_regions()}
    assert METROPOLITAN_REGION_CODES <= regions.keys()
    assert regions["53"] == "Bretagne"
    assert regions["11"] == "Île-de-France"
    departments = {department.code: department for department in iter_departments()}
    assert departments["35"].name == "Ille-et-Vilaine"
    assert departments["35"].region == "53"
    assert departments["2A"].region == "94"
    assert departments["971"].region == "01"
    assert {"01", "2A", "2B", "95", "971", "972", "973", "974", "976"} <= departments.keys()
    overseas_region_codes = {"01", "02", "03", "04", "06"}
    counted = METROPOLITAN_REGION_CODES | overseas_region_codes
    assert sum(1 for department in departments.values() if department.region in counted) == 101


def test_communes_file_is_small_and_reproducible():
    """The gzip is small and carries no timestamp, so rebuilds are byte-identical."""
    path = DATA_DIR / "communes.csv.gz"
    assert path.stat().st_size < 1_000_000
    header = path.read_bytes()[:10]
    assert header[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME field
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert handle.readline().strip() == "insee,name,postal_codes,department,region"


def test_delegations_cover_each_metropolitan_region_once():
    """One delegation per metropolitan region, nothing overseas."""
    delegations = list(iter_delegations())
    regions = [delegation.region for delegation in delegations]
    assert sorted(regions) == sorted(METROPOLITAN_REGION_CODES)
    assert len({delegation.code for delegation in delegations}) == len(delegations)


def test_delegation_fields():
    """Codes are ASCII slugs, phones French-formatted, emails well formed."""
    for delegation in iter_delegations():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", delegation.code), delegation
        assert delegation.name.startswith("Délégation régionale "), delegation
        assert re.fullmatch(r"0[1-9]( \d\d){4}", delegation.phone), delegation
        assert re.fullmatch(r"[a-z.]+@example\.org", delegation.email), delegation


def test_known_delegations():
    """Brittany and Île-de-France delegations have their expected details."""
    delegations = {delegation.code: delegation for delegation in iter_delegations()}
    bretagne = delegations["bretagne"]
    assert bretagne.region == "53"
    assert bretagne.name == "Délégation régionale Bretagne"
    assert bretagne.email == "delegation.bretagne@example.org"
    idf = delegations["ile-de-france"]
    assert idf.region == "11"
    assert idf.phone == "01 45 70 82 20"
    assert {"auvergne-rhone-alpes", "provence-alpes-cote-d-azur", "corse"} <= delegations.keys()


def test_establishments_are_metropolitan(establishments, communes):
    """Every establishment sits in an existing metropolitan commune."""
    for establishment in establishments:
        assert establishment.insee in communes, establishment
        assert communes[establishment.insee].region in METROPOLITAN_REGION_CODES, establishment


def test_establishment_fields(establishments):
    """Categories are known, FINESS numbers well formed and names unique."""
    for establishment in establishments:
        assert establishment.category in rd.ESTABLISHMENT_CATEGORIES, establishment
        assert establishment.name == establishment.name.strip() and establishment.name
        if establishment.finess is not None:
            assert re.fullmatch(r"\d{9}", establishment.finess), establishment
    names = [establishment.name for establishment in establishments]
    assert len(names) == len(set(names))
    finess = [establishment.finess for establishment in establishments if establishment.finess]
    assert len(finess) == len(set(finess))


def _luhn_ok(number: str) -> bool:
    """Return True when ``number`` passes the Luhn check used by FINESS numbers."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_finess_check_digit(establishments):
    """Numeric FINESS numbers carry a valid Luhn key."""
    for establishment in establishments:
        if establishment.finess:
            assert _luhn_ok(establishment.finess), establishment


@pytest.mark.parametrize(("city", "insee"), sorted(EXPECTED_CHU_CHR.items()))
def test_every_chu_and_chr_is_listed(establishments, city, insee):
    """Each university or regional hospital centre has one CHU/CHR row."""
    matches = [
        establishment
        for establishment in establishments
        if establishment.insee == insee and establishment.category in {"CHU", "CHR"}
    ]
    assert len(matches) == 1, city


def test_chr_metz_thionville_and_chu_orleans(establishments):
    """Metz-Thionville is still a CHR; Orléans has been a CHU since 2023."""
    by_name = {establishment.name: establishment for establishment in establishments}
    assert by_name["Centre Hospitalier Régional Metz-Thionville"].category == "CHR"
    assert by_name["Centre Hospitalier Universitaire d'Orléans"].category == "CHU"


def test_rennes_establishments(establishments):
    """The two Rennes hospitals are listed with their exact names."""
    in_rennes = {(e.name, e.category) for e in establishments if e.insee == "35238"}
    assert ("Centre Hospitalier Universitaire de Rennes", "CHU") in in_rennes
    assert ("Centre Hospitalier Guillaume Régnier", "CHS") in in_rennes


def test_each_metropolitan_region_has_several_establishments(establishments, communes):
    """Every metropolitan region has at least three establishments."""
    per_region: dict[str, int] = {}
    for establishment in establishments:
        region = communes[establishment.insee].region
        per_region[region] = per_region.get(region, 0) + 1
    for region in METROPOLITAN_REGION_CODES:
        assert per_region.get(region, 0) >= 3, region


def test_dataclasses_are_frozen():
    """Records are immutable."""
    commune = next(iter_communes())
    with pytest.raises(AttributeError):
        commune.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saint-Étienne", "saint etienne"),
        ("st etienne", "saint etienne"),
        ("St-Étienne", "saint etienne"),
        ("ST.  ETIENNE", "saint etienne"),
        ("ste foy", "sainte foy"),
        ("Sainte-Foy-lès-Lyon", "sainte foy les lyon"),
        ("Villeneuve-St-Georges", "villeneuve saint georges"),
        ("L'Abergement-Clémenciat", "l abergement clemenciat"),
        ("l’haÿ-les-roses", "l hay les roses"),
        ("Vandœuvre-lès-Nancy", "vandoeuvre les nancy"),
        ("  Île-de-France  ", "ile de france"),
        ("Provence-Alpes-Côte d'Azur", "provence alpes cote d azur"),
        ("GHU Paris Psychiatrie & Neurosciences", "ghu paris psychiatrie neurosciences"),
        ("Paris 15e", "paris 15e"),
        ("st", "st"),
        ("str", "str"),
        ("", ""),
        ("---", ""),
    ],
)
def test_normalize_search_text(text, expected):
    """Search text is folded to lowercase ASCII words with saint expanded."""
    assert normalize_search_text(text) == expected


def test_normalize_search_text_is_idempotent(communes):
    """Normalizing twice changes nothing, and every commune name folds to ASCII."""
    for commune in communes.values():
        once = normalize_search_text(commune.name)
        assert once.isascii(), commune
        assert normalize_search_text(once) == once, commune
