"""A generated CGOS agents file of any size, every row valid: `python bench/cgos_file.py COUNT PATH`.

Numéros run from 40 000 000 upwards (no demo agent there) with their check
letter; each NIR matches the agent's sex and birth month and ends with the
row's index, so no two rows share a numéro or a NIR whatever the count
(up to a million). Establishments come from the reference list.
"""

import csv
import random
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["numero", "nir", "civilite", "nom", "prenom", "date_naissance", "email", "etablissement", "position"]
CHECK_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"
FIRST_NUMERO = 40_000_000
MAX_COUNT = 1_000_000
LAST_NAMES = [
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFÈVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MÜLLER",
    "LE GALL",
    "N'DIAYE",
    "CHÂTELAIN",
]
WOMEN = [
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Françoise",
    "Hélène",
    "Céline",
    "Léa",
    "Chloé",
    "Inès",
    "Nadia",
    "Sophie",
    "Émilie",
    "Anne-Laure",
]
MEN = [
    "Jean",
    "Philippe",
    "Michel",
    "Alain",
    "Nicolas",
    "Stéphane",
    "Christophe",
    "Jérôme",
    "Luc",
    "Hugo",
    "Théo",
    "Karim",
    "Paul",
    "Jean-François",
    "Loïc",
]
# Departments of birth; 20 (Corsica is 2A/2B) and those of the demo agents are left out.
DEPARTMENTS = [f"{d:02d}" for d in range(1, 96) if d not in (20, 22, 29, 35, 75)]
POSITIONS = ["titulaire"] * 6 + ["contractuel"] * 2 + ["stagiaire", "apprenti", "contrat aidé", "retraité", ""]


def establishment_names() -> list[str]:
    """The names of the reference establishments."""
    with (ROOT / "cgos" / "data" / "establishments.csv").open(encoding="utf-8") as handle:
        return [row["name"] for row in csv.DictReader(handle)]


def ascii_lower(text: str) -> str:
    """The text in lower case without accents, as mail addresses are written."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def numero(index: int) -> str:
    """The numéro of the row, as the CGOS writes it: `40000123 K`."""
    digits = str(FIRST_NUMERO + index)
    return f"{digits} {CHECK_ALPHABET[int(digits) % len(CHECK_ALPHABET)]}"


def nir(sex: str, year: int, month: int, department: str, index: int) -> str:
    """A valid NIR whose last six digits before the key are the row's index."""
    body = f"{sex}{year % 100:02d}{month:02d}{department}{index:06d}"
    return f"{body}{97 - int(body) % 97:02d}"


def rows(count: int, seed: int = 2026) -> Iterator[list[str]]:
    """COUNT valid rows of the CGOS file."""
    if count > MAX_COUNT:
        raise ValueError(f"at most {MAX_COUNT} rows (the index is the NIR's last six digits)")
    rng = random.Random(seed)
    establishments = establishment_names() + [""]
    for index in range(count):
        woman = rng.random() < 0.75  # most hospital staff are women
        first_name = rng.choice(WOMEN if woman else MEN)
        last_name = rng.choice(LAST_NAMES)
        year, month, day = rng.randint(1958, 2006), rng.randint(1, 12), rng.randint(1, 28)
        email = ""
        if rng.random() < 0.8:
            local = ascii_lower(f"{first_name}.{last_name}").replace(" ", "-").replace("'", "")
            email = f"{local}.{index}@example.org"
        yield [
            numero(index),
            nir("2" if woman else "1", year, month, rng.choice(DEPARTMENTS), index),
            "Mme" if woman else "M.",
            last_name,
            first_name,
            f"{year}-{month:02d}-{day:02d}",
            email,
            rng.choice(establishments),
            rng.choice(POSITIONS),
        ]


def write(path: Path, count: int, seed: int = 2026) -> None:
    """Write the file: the contract's header, then COUNT rows."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed))


if __name__ == "__main__":
    write(Path(sys.argv[2]), int(sys.argv[1]))
