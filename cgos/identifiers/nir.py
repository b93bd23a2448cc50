"""NIR (numéro de sécurité sociale), on top of ``stdnum.fr.nir``.

``stdnum.fr.nir`` checks the length, the format (including the Corsican
departments 2A and 2B) and the 2-digit key. This module adds the checks
stdnum does not make, each with its own exception so that the web layer can
tell the agent exactly which part of the number is wrong:

* the first digit (sex) must be 1 (man) or 2 (woman), or 7 (man) or 8
  (woman). 7 and 8 are the provisional numbers (NIA, numéro d'immatriculation
  d'attente) given to people born abroad while their registration is being
  certified; hospital payroll declares staff under these numbers, so such
  agents must be able to sign in. 3 and 4 belong to an old registration
  scheme for foreign nationals that is no longer issued; accepting them (or
  0, 5, 6, 9) would mostly let typing mistakes through.
* the birth month (4th and 5th digits) must be 01 to 12, or one of the
  INSEE ranges used when the month of birth is unknown or the civil status
  documents were incomplete: 20 to 42 and 50 to 99.

The API follows the shape of the python-stdnum modules (``compact``,
``validate``, ``is_valid``, ``format``) and raises stdnum exceptions.

>>> validate('2 85 03 35 238 123 88')
'285033523812388'
>>> mask('2 85 03 35 238 123 88')
'2 •• •• •• ••• ••• 88'
"""

from __future__ import annotations

import datetime
import re

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import nir as _stdnum_nir

__all__ = [
    "InvalidChecksum",
    "InvalidFormat",
    "InvalidLength",
    "InvalidMonth",
    "InvalidSex",
    "ValidationError",
    "birth_month",
    "birth_year_suffix",
    "calc_check_digits",
    "compact",
    "format",
    "is_valid",
    "mask",
    "matches_identity",
    "sex",
    "validate",
]

LENGTH = 15

# Sex digit -> sex (1 = man, 2 = woman). 7 and 8 are provisional numbers (NIA).
SEX_BY_DIGIT = {"1": 1, "2": 2, "7": 1, "8": 2}

REAL_MONTHS = range(1, 13)
# INSEE "fictitious" months: month of birth unknown or civil status incomplete.
SPECIAL_MONTHS = (range(20, 43), range(50, 100))

MASK_CHAR = "\u2022"  # bullet

# Separators people type or paste: any whitespace (including the non-breaking
# spaces used in French typography), dots and hyphens (ASCII and Unicode).
_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212]+")
_NIR_FORMAT = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{8}")

# Mismatch codes returned by matches_identity().
MISMATCH_SEX = "sex"
MISMATCH_YEAR = "year"
MISMATCH_MONTH = "month"


class InvalidSex(ValidationError):  # noqa: N818 - stdnum naming
    """The first digit of the NIR is not an accepted sex code."""

    message = "The first digit (sex) of the number is invalid."


class InvalidMonth(ValidationError):  # noqa: N818 - stdnum naming
    """The birth month of the NIR (4th and 5th digits) does not exist."""

    message = "The birth month of the number is invalid."


def compact(number: str) -> str:
    """Return the NIR without separators (spaces, dots, hyphens), uppercased."""
    return _SEPARATORS.sub("", number).upper()


def calc_check_digits(number: str) -> str:
    """Return the 2-digit key of the first 13 characters of the NIR."""
    return _stdnum_nir.calc_check_digits(compact(number))


def _is_accepted_month(month: int) -> bool:
    """Return True if the month is a real month or an INSEE special month."""
    return month in REAL_MONTHS or any(month in r for r in SPECIAL_MONTHS)


def validate(number: str) -> str:
    """Return the compact NIR if valid, else raise a stdnum ValidationError."""
    number = compact(number)
    if len(number) != LENGTH:
        raise InvalidLength()
    if not _NIR_FORMAT.fullmatch(number):
        raise InvalidFormat()
    # Structural checks come before the key: they point at the faulty digits.
    if number[0] not in SEX_BY_DIGIT:
        raise InvalidSex()
    if not _is_accepted_month(int(number[3:5])):
        raise InvalidMonth()
    # Key check (including the 2A -> 19 / 2B -> 18 substitution) by stdnum.
    return _stdnum_nir.validate(number)


def is_valid(number: str) -> bool:
    """Return True if the number is a valid NIR."""
    try:
        return bool(validate(number))
    except ValidationError:
        return False


def format(number: str, separator: str = " ") -> str:  # noqa: A001 - stdnum API name
    """Return the NIR in its display form, e.g. ``2 85 03 35 238 123 88``."""
    return _stdnum_nir.format(compact(number), separator)


def mask(number: str) -> str:
    """Return the NIR with only the sex digit and the key shown: ``2 •• •• •• ••• ••• 88``."""
    number = compact(number)
    if len(number) != LENGTH:
        raise InvalidLength()
    hidden = " ".join(MASK_CHAR * size for size in (2, 2, 2, 3, 3))
    return f"{number[0]} {hidden} {number[13:]}"


def sex(number: str) -> int:
    """Return 1 (man) or 2 (woman) for a valid NIR."""
    return SEX_BY_DIGIT[validate(number)[0]]


def birth_year_suffix(number: str) -> int:
    """Return the 2-digit birth year (0-99) of a valid NIR."""
    return int(validate(number)[1:3])


def birth_month(number: str) -> int | None:
    """Return the birth month (1-12) of a valid NIR, or None for a special month."""
    month = int(validate(number)[3:5])
    return month if month in REAL_MONTHS else None


def matches_identity(number: str, *, sex: int, birth_date: datetime.date) -> list[str]:
    """Return the mismatch codes ("sex", "year", "month") between a valid NIR and an identity."""
    if sex not in (1, 2):
        raise ValueError(f"sex must be 1 or 2, not {sex!r}")
    number = validate(number)
    mismatches = []
    if SEX_BY_DIGIT[number[0]] != sex:
        mismatches.append(MISMATCH_SEX)
    if int(number[1:3]) != birth_date.year % 100:
        mismatches.append(MISMATCH_YEAR)
    month = birth_month(number)
    if month is not None and month != birth_date.month:
        mismatches.append(MISMATCH_MONTH)
    return mismatches
