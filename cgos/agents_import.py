"""Loading agents from the CGOS file: all rows or none, a million in minutes.

The file is read once, row by row: each row is checked and its values go to a
temporary staging table (PostgreSQL `COPY`, elsewhere batched inserts), so
memory does not grow with the file. Duplicates and NIRs held by another agent
are then found by SQL in the staging table. Only if no row is wrong do the
agents get created or updated, by one `INSERT … SELECT … ON CONFLICT`, in the
same transaction: a refused file loads nothing.
"""

import csv
import functools
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, text
from stdnum.exceptions import ValidationError

from .credentials.hashing import nir_digest
from .extensions import UTCDateTime, db
from .identifiers import nir as nir_rules
from .identifiers import numero as numero_rules
from .models import Establishment, PasswordState, Position, agent_search_name, utcnow

HEADER = ["numero", "nir", "civilite", "nom", "prenom", "date_naissance", "email", "etablissement", "position"]
CIVILITIES = {"M.", "Mme"}
POSITIONS = {p.value for p in Position}
# The fields the file decides: an update never touches anything else (secrets,
# password state, phones, pending mail change, reminders, dates of consent).
FIELDS = [
    "numero",
    "nir_digest",
    "civility",
    "last_name",
    "first_name",
    "birth_date",
    "email",
    "establishment_id",
    "position",
    "search_name",
]
# A plain ASCII local part (dot-atom, RFC 5322): most addresses, checked without email_validator's full pass.
PLAIN_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
STAGING = "agent_import"
BATCH_SIZE = 5000
MAX_REPORTED_ERRORS = 100


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


class Errors:
    """The problems found: those of the first lines kept, the others only counted."""

    def __init__(self, limit: int = MAX_REPORTED_ERRORS):
        self.limit = limit
        self.kept: list[tuple[int, int, str]] = []  # a heap whose top is the last line kept
        self.total = 0

    def add(self, line: int, problem: str) -> None:
        """Note a problem of one line."""
        self.total += 1
        heapq.heappush(self.kept, (-line, -self.total, problem))
        if len(self.kept) > self.limit:
            heapq.heappop(self.kept)

    def messages(self) -> list[str]:
        """The problems kept in line order, then how many more there are."""
        messages = [f"ligne {-line} : {problem}" for line, _, problem in sorted(self.kept, reverse=True)]
        if self.total > len(self.kept):
            messages.append(f"… et {self.total - len(self.kept)} autres erreurs")
        return messages


def batches(items: Iterable, size: int) -> Iterator[list]:
    """The items in lists of at most `size`."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@functools.lru_cache(maxsize=4096)
def _mail_domain(domain: str) -> str:
    """The normalized domain of an address, checked once per domain (a file has few)."""
    return validate_email(f"postmaster@{domain}", check_deliverability=False).domain


def normalized_email(email: str) -> str:
    """The address as email_validator normalizes it; raises EmailNotValidError if invalid."""
    local, _, domain = email.rpartition("@")
    if len(local) <= 64 and len(email) <= 254 and PLAIN_LOCAL_PART.fullmatch(local):
        return f"{local}@{_mail_domain(domain)}"
    return validate_email(email, check_deliverability=False).normalized


def _row_values(row: dict, establishments: dict[str, int]) -> tuple[tuple, list[str]]:
    """The staged values of one row (None where invalid), and what is wrong with it."""
    problems = []
    numero = nir = birth_date = None
    try:
        numero = numero_rules.validate(row["numero"])
    except ValidationError:
        problems.append(f"numéro C.G.O.S invalide « {row['numero']} »")
    try:
        nir = nir_digest(nir_rules.validate(row["nir"]))
    except ValidationError:
        problems.append("NIR invalide")
    if row["civilite"] not in CIVILITIES:
        problems.append(f"civilité « {row['civilite']} » (M. ou Mme attendu)")
    last_name, first_name = row["nom"].strip(), row["prenom"].strip()
    for key, value in (("nom", last_name), ("prenom", first_name)):
        if not value:
            problems.append(f"{key} vide")
    try:
        birth_date = date.fromisoformat(row["date_naissance"]).isoformat()
    except ValueError:
        problems.append(f"date de naissance « {row['date_naissance']} » (AAAA-MM-JJ attendu)")
    email = row["email"].strip()
    if email:
        try:
            email = normalized_email(email)
        except EmailNotValidError:
            problems.append(f"email invalide « {email} »")
    name = row["etablissement"].strip()
    if name and name not in establishments:
        problems.append(f"établissement inconnu « {name} »")
    position = row["position"].strip()
    if position and position not in POSITIONS:
        problems.append(f"position « {position} » inconnue")
    values = (
        numero,
        nir,
        row["civilite"],
        last_name,
        first_name,
        birth_date,
        email or None,
        establishments.get(name),
        position or None,
        agent_search_name(last_name, first_name),
    )
    return values, problems


def _checked_rows(reader: csv.DictReader, establishments: dict[str, int], errors: Errors) -> Iterator[tuple]:
    """Each row with its line number first, its problems noted in `errors`."""
    for row in reader:
        if None in row or any(value is None for value in row.values()):
            errors.add(reader.line_num, "nombre de colonnes incorrect")
            continue
        values, problems = _row_values(row, establishments)
        for problem in problems:
            errors.add(reader.line_num, problem)
        yield (reader.line_num, *values)


def _create_staging(connection) -> None:
    """The temporary table the rows go through (PostgreSQL drops it at commit, SQLite at the end of the import)."""
    postgres = connection.dialect.name == "postgresql"
    connection.execute(text(f"DROP TABLE IF EXISTS {STAGING}"))
    connection.execute(
        text(
            f"CREATE TEMPORARY TABLE {STAGING} (line integer NOT NULL, numero varchar(9), nir_digest varchar(64), "
            "civility varchar(3), last_name varchar(100), first_name varchar(100), birth_date date, "
            "email varchar(254), establishment_id integer, position varchar(20), search_name varchar(201))"
            + (" ON COMMIT DROP" if postgres else "")
        )
    )


def _stage(connection, rows: Iterator[tuple]) -> None:
    """Write the rows into the staging table: one COPY on PostgreSQL, batched inserts elsewhere."""
    columns = ["line", *FIELDS]
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {STAGING} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    insert = text(f"INSERT INTO {STAGING} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")
    for batch in batches(rows, BATCH_SIZE):
        connection.execute(insert, [dict(zip(columns, row)) for row in batch])


def _check_staged(connection, errors: Errors) -> None:
    """Note numéros and NIRs given twice, and NIRs that belong to another agent."""
    limit = {"limit": MAX_REPORTED_ERRORS + 1}
    for column, label in (("numero", "numéro"), ("nir_digest", "NIR")):
        repeated = connection.execute(
            text(
                f"SELECT line, {column}, first FROM (SELECT line, {column}, min(line) OVER (PARTITION BY {column}) AS first "
                f"FROM {STAGING} WHERE {column} IS NOT NULL) AS lines WHERE line > first ORDER BY line LIMIT :limit"
            ),
            limit,
        )
        for line, value, first in repeated:
            shown = f"{label} {numero_rules.format(value)}" if column == "numero" else label
            errors.add(line, f"{shown} déjà présent ligne {first}")
    taken = connection.execute(
        text(
            f"SELECT s.line FROM {STAGING} s JOIN agent a ON a.nir_digest = s.nir_digest "
            "WHERE a.numero <> s.numero ORDER BY s.line LIMIT :limit"
        ),
        limit,
    )
    for (line,) in taken:
        errors.add(line, "NIR déjà attribué à un autre agent")


def _load_staged(connection) -> ImportResult:
    """Create the new agents and update the known ones from the staging table."""
    staged = connection.scalar(text(f"SELECT count(*) FROM {STAGING}"))
    updated = connection.scalar(text(f"SELECT count(*) FROM {STAGING} s JOIN agent a ON a.numero = s.numero"))
    columns = ", ".join(FIELDS)
    changes = ", ".join(f"{field} = excluded.{field}" for field in FIELDS if field != "numero")
    # Unchanged agents are left as they are: a monthly file rewrites only what moved.
    differs = " OR ".join(f"agent.{field} IS DISTINCT FROM excluded.{field}" for field in FIELDS if field != "numero")
    upsert = text(
        f"INSERT INTO agent ({columns}, password_state, created_at, updated_at) "
        f"SELECT {columns}, :state, :now, :now FROM {STAGING} WHERE true "
        f"ON CONFLICT (numero) DO UPDATE SET {changes}, updated_at = excluded.updated_at WHERE {differs}"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    connection.execute(upsert, {"state": PasswordState.NONE.value, "now": utcnow()})
    return ImportResult(staged - updated, updated)


def import_agents(path: str) -> ImportResult:
    """Create or update the agents of a CGOS CSV file, in one transaction."""
    establishments = {e.name: e.id for e in db.session.scalars(db.select(Establishment))}
    errors = Errors()
    connection = db.session.connection()
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != HEADER:
                raise ImportFailed([f"ligne 1 : en-tête attendu « {','.join(HEADER)} »"])
            _create_staging(connection)
            _stage(connection, _checked_rows(reader, establishments, errors))
        _check_staged(connection, errors)
        if errors.total:
            raise ImportFailed(errors.messages())
        result = _load_staged(connection)
        if connection.dialect.name != "postgresql":
            connection.execute(text(f"DROP TABLE {STAGING}"))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
