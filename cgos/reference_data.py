"""Read-only access to the reference data shipped in ``cgos/data``.

Plain module with no Flask import: it only reads the CSV files that live next
to it, so it can be used from setup commands, migrations and tests alike.

* ``regions.csv``, ``departments.csv`` and ``communes.csv.gz`` come from the
  npm package ``@etalab/decoupage-administratif`` (Licence Ouverte) and are
  rebuilt with ``scripts/build_reference_data.py``;
* ``delegations.csv`` and ``establishments.csv`` are curated by hand.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# INSEE codes of the 13 regions of metropolitan France (mainland and Corsica).
METROPOLITAN_REGION_CODES = frozenset({"11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"})

# Allowed values of ``Establishment.category``.
ESTABLISHMENT_CATEGORIES = ("CHU", "CHR", "CH", "CHS")


@dataclass(frozen=True, slots=True)
class Region:
    """A French region (INSEE code and name)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Department:
    """A French department with the INSEE code of its region."""

    code: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class Commune:
    """A current French commune with its postal codes."""

    insee: str
    name: str
    postal_codes: tuple[str, ...]
    department: str
    region: str


@dataclass(frozen=True, slots=True)
class Delegation:
    """A C.G.O.S regional delegation serving one metropolitan region."""

    code: str
    name: str
    region: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class Establishment:
    """A public hospital; ``finess`` is the legal-entity number or None if unknown."""

    finess: str | None
    name: str
    insee: str
    category: str


def _read_rows(filename: str) -> Iterator[dict[str, str]]:
    """Yield the rows of a data file as dicts keyed by the header row."""
    path = DATA_DIR / filename
    if filename.endswith(".gz"):
        raw = gzip.open(path, "rb")
    else:
        raw = open(path, "rb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        yield from csv.DictReader(text)


def iter_regions() -> Iterator[Region]:
    """Yield every region, metropolitan and overseas, sorted by code."""
    for row in _read_rows("regions.csv"):
        yield Region(code=row["code"], name=row["name"])


def iter_departments() -> Iterator[Department]:
    """Yield every department, metropolitan and overseas."""
    for row in _read_rows("departments.csv"):
        yield Department(code=row["code"], name=row["name"], region=row["region"])


def iter_communes() -> Iterator[Commune]:
    """Yield every current commune, sorted by INSEE code."""
    for row in _read_rows("communes.csv.gz"):
        yield Commune(
            insee=row["insee"],
            name=row["name"],
            postal_codes=tuple(row["postal_codes"].split()),
            department=row["department"],
            region=row["region"],
        )


def iter_delegations() -> Iterator[Delegation]:
    """Yield the C.G.O.S regional delegations, one per metropolitan region."""
    for row in _read_rows("delegations.csv"):
        yield Delegation(
            code=row["code"],
            name=row["name"],
            region=row["region"],
            phone=row["phone"],
            email=row["email"],
        )


def iter_establishments() -> Iterator[Establishment]:
    """Yield the curated public hospitals of metropolitan France."""
    for row in _read_rows("establishments.csv"):
        yield Establishment(
            finess=row["finess"].strip() or None,
            name=row["name"],
            insee=row["insee"],
            category=row["category"],
        )


# Letters that NFKD does not decompose into a base letter plus accents.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SAINT_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def normalize_search_text(text: str) -> str:
    """Fold text for prefix search: lowercase ASCII words, ``st``/``ste`` as ``saint``/``sainte``.

    Accents are stripped (NFKD), ligatures spelt out, and hyphens, apostrophes
    and any other punctuation become single spaces. A ``st``/``ste`` word is
    expanded when another word follows it (so ``St-Étienne``, ``st etienne``
    and ``Villeneuve-St-Georges`` match the full spelling), but not when it is
    the last word: a user still typing ``st`` may mean ``Strasbourg``.
    """
    folded = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    ascii_text = "".join(char for char in folded if not unicodedata.combining(char))
    words = _NON_ALNUM.sub(" ", ascii_text.lower()).split()
    return " ".join(
        _SAINT_ABBREVIATIONS.get(word, word) if index < len(words) - 1 else word for index, word in enumerate(words)
    )
