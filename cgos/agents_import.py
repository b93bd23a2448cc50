"""Loading agents from the CGOS file: all rows or none."""

import csv
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import ValidationError

from .credentials.hashing import nir_digest
from .extensions import db
from .identifiers import nir as nir_rules
from .identifiers import numero as numero_rules
from .models import Agent, Establishment, Position

HEADER = ["numero", "nir", "civilite", "nom", "prenom", "date_naissance", "email", "etablissement", "position"]
CIVILITIES = {"M.", "Mme"}


class ImportFailed(Exception):
    """The file has errors: nothing was loaded."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    """What an import did."""

    created: int
    updated: int


def _row_values(row: dict, establishments: dict[str, int]) -> tuple[dict, list[str]]:
    """The agent fields of one row, or what is wrong with it."""
    problems = []
    values = {}
    try:
        values["numero"] = numero_rules.validate(row["numero"])
    except ValidationError:
        problems.append(f"numéro C.G.O.S invalide « {row['numero']} »")
    try:
        values["nir_digest"] = nir_digest(nir_rules.validate(row["nir"]))
    except ValidationError:
        problems.append("NIR invalide")
    if row["civilite"] not in CIVILITIES:
        problems.append(f"civilité « {row['civilite']} » (M. ou Mme attendu)")
    values["civility"] = row["civilite"]
    for key, field in (("nom", "last_name"), ("prenom", "first_name")):
        if not row[key].strip():
            problems.append(f"{key} vide")
        values[field] = row[key].strip()
    try:
        values["birth_date"] = date.fromisoformat(row["date_naissance"])
    except ValueError:
        problems.append(f"date de naissance « {row['date_naissance']} » (AAAA-MM-JJ attendu)")
    email = row["email"].strip()
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(f"email invalide « {email} »")
    values["email"] = email or None
    name = row["etablissement"].strip()
    if name and name not in establishments:
        problems.append(f"établissement inconnu « {name} »")
    values["establishment_id"] = establishments.get(name)
    position = row["position"].strip()
    if position and position not in {p.value for p in Position}:
        problems.append(f"position « {position} » inconnue")
    values["position"] = position or None
    return values, problems


def import_agents(path: str) -> ImportResult:
    """Create or update the agents of a CGOS CSV file, in one transaction."""
    establishments = {e.name: e.id for e in db.session.scalars(db.select(Establishment))}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != HEADER:
            raise ImportFailed([f"ligne 1 : en-tête attendu « {','.join(HEADER)} »"])
        rows = []
        errors = []
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                errors.append(f"ligne {reader.line_num} : nombre de colonnes incorrect")
                continue
            values, problems = _row_values(row, establishments)
            errors.extend(f"ligne {reader.line_num} : {problem}" for problem in problems)
            rows.append(values)
    numeros = [row.get("numero") for row in rows]
    for duplicate in {n for n in numeros if n and numeros.count(n) > 1}:
        errors.append(f"numéro {numero_rules.format(duplicate)} présent plusieurs fois")
    if errors:
        raise ImportFailed(errors)
    existing = {a.numero: a for a in db.session.scalars(db.select(Agent).where(Agent.numero.in_(numeros)))}
    created = updated = 0
    for values in rows:
        agent = existing.get(values["numero"])
        if agent is None:
            db.session.add(Agent(**values))
            created += 1
        else:
            for field, value in values.items():
                setattr(agent, field, value)
            updated += 1
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return ImportResult(created, updated)
