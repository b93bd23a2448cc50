"""Loading public establishments from the official FINESS extract (data.gouv.fr, etalab-cs1100507).

The file has no header: a first line `finess;etalab;…`, then `structureet` rows
of 32 `;`-separated columns (and `geolocalisation` rows, ignored). It comes in
UTF-8 or ISO-8859-1.
"""

import csv
import io
from dataclasses import dataclass, field

from .extensions import db
from .models import Commune, Establishment
from .reference_data import normalize_search_text

COLUMNS = [
    "structureet",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "datemaj",
    "numuai",
]
# Public hospital categories: CHR, CH (ex hôpital local), centre hospitalier, CHS.
PUBLIC_HOSPITAL_CATEGORIES = {"101", "106", "355", "292"}
EHPAD = "500"
# FINESS department codes of the overseas departments and their INSEE prefix.
OVERSEAS = {"9A": "971", "9B": "972", "9C": "973", "9D": "974", "9F": "976"}


@dataclass
class FinessReport:
    """What an import loaded and skipped."""

    created: int = 0
    updated: int = 0
    skipped_private: int = 0
    skipped_unknown_commune: int = 0
    rejected_lines: list[int] = field(default_factory=list)


def decode(raw: bytes) -> str:
    """UTF-8 if it is, else ISO-8859-1 (which decodes anything)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def insee_code(departement: str, commune: str) -> str:
    """The INSEE code of a FINESS (department, commune) pair: `35`,`238` -> `35238`."""
    if departement in OVERSEAS:
        return OVERSEAS[departement][:2] + commune
    return departement.zfill(2) + commune.zfill(3)


def is_public(row: dict) -> bool:
    """A public health or medico-social establishment the C.G.O.S serves."""
    if row["codesph"] == "1":
        return True
    if row["categetab"] in PUBLIC_HOSPITAL_CATEGORIES:
        return True
    return row["categetab"] == EHPAD and "public" in row["libsph"].lower()


def category(row: dict) -> str:
    """Our short category for a FINESS category."""
    return {"101": "CHR", "355": "CH", "106": "CH", "292": "CHS", EHPAD: "EHPAD"}.get(row["categetab"], "Autre")


def import_finess(raw: bytes) -> FinessReport:
    """Create or update establishments by FINESS number, in one transaction."""
    report = FinessReport()
    communes = set(db.session.scalars(db.select(Commune.insee)))
    existing = {
        e.finess: e for e in db.session.scalars(db.select(Establishment).where(Establishment.finess.is_not(None)))
    }
    by_name = {(e.name, e.commune_insee): e for e in db.session.scalars(db.select(Establishment))}
    reader = csv.reader(io.StringIO(decode(raw)), delimiter=";")
    for line_number, cells in enumerate(reader, start=1):
        if not cells or cells[0] != "structureet":
            continue
        if len(cells) != len(COLUMNS):
            report.rejected_lines.append(line_number)
            continue
        row = dict(zip(COLUMNS, (cell.strip() for cell in cells)))
        if not is_public(row):
            report.skipped_private += 1
            continue
        insee = insee_code(row["departement"], row["commune"])
        if insee not in communes:
            report.skipped_unknown_commune += 1
            continue
        name = row["rslongue"] or row["rs"]
        establishment = existing.get(row["nofinesset"]) or by_name.get((name, insee))
        if establishment is None:
            establishment = Establishment(finess=row["nofinesset"])
            db.session.add(establishment)
            report.created += 1
        else:
            report.updated += 1
        establishment.finess = row["nofinesset"]
        establishment.name = name
        establishment.search_name = normalize_search_text(name)
        establishment.category = category(row)
        establishment.commune_insee = insee
        existing[row["nofinesset"]] = by_name[(name, insee)] = establishment
    db.session.commit()
    return report
