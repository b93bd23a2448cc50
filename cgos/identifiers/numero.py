"""Numéro C.G.O.S (C.G.O.S member number).

A numéro C.G.O.S is made of 8 digits followed by a check letter, and is
written ``35127846 S``. The check letter is taken from a 23-letter alphabet
(the Latin alphabet without I, O and Q, which are too easy to confuse with
1 and 0) at the position given by the 8-digit number modulo 23.

The API follows the shape of the python-stdnum modules (``compact``,
``validate``, ``is_valid``, ``format``) and raises the stdnum exceptions, so
that the web layer can map them to French messages with
``cgos.identifiers.french_message``.

>>> validate('35127846 s')
'35127846S'
>>> format('35127846S')
'35127846 S'
"""

from __future__ import annotations

import re
from typing import Protocol

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.util import isdigits

__all__ = [
    "CHECK_ALPHABET",
    "InvalidChecksum",
    "InvalidFormat",
    "InvalidLength",
    "ValidationError",
    "calc_check_letter",
    "compact",
    "format",
    "generate",
    "is_valid",
    "validate",
]

CHECK_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS_LENGTH = 8
LENGTH = DIGITS_LENGTH + 1

# Separators people type or paste: any whitespace (including the non-breaking
# spaces used in French typography), dots and hyphens (ASCII and Unicode).
_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212]+")
_ASCII_UPPER = re.compile(r"[A-Z]")


class RandomLike(Protocol):
    """Subset of the ``random.Random`` API used by :func:`generate`."""

    def randint(self, a: int, b: int) -> int:
        """Return a random integer N such that a <= N <= b."""


def compact(number: str) -> str:
    """Return the number without separators (spaces, dots, hyphens), uppercased."""
    return _SEPARATORS.sub("", number).upper()


def calc_check_letter(digits: str) -> str:
    """Return the check letter for the 8 digits of a numéro C.G.O.S."""
    if not isdigits(digits):
        raise InvalidFormat()
    return CHECK_ALPHABET[int(digits) % len(CHECK_ALPHABET)]


def validate(number: str) -> str:
    """Return the compact numéro if valid, else raise a stdnum ValidationError."""
    number = compact(number)
    if len(number) != LENGTH:
        raise InvalidLength()
    digits, letter = number[:DIGITS_LENGTH], number[DIGITS_LENGTH:]
    if not isdigits(digits) or not _ASCII_UPPER.fullmatch(letter):
        raise InvalidFormat()
    # Any other letter, including I, O and Q which never appear, is a wrong key.
    if calc_check_letter(digits) != letter:
        raise InvalidChecksum()
    return number


def is_valid(number: str) -> bool:
    """Return True if the number is a valid numéro C.G.O.S."""
    try:
        return bool(validate(number))
    except ValidationError:
        return False


def format(number: str) -> str:  # noqa: A001 - stdnum API name
    """Return the numéro in its display form, e.g. ``35127846 S``."""
    number = compact(number)
    return f"{number[:DIGITS_LENGTH]} {number[DIGITS_LENGTH:]}"


def generate(rng: RandomLike) -> str:
    """Return a new valid random numéro in compact form, e.g. ``35127846S``."""
    # The first digit is never 0 so that the numéro survives any integer round trip.
    digits = str(rng.randint(10 ** (DIGITS_LENGTH - 1), 10**DIGITS_LENGTH - 1))
    return digits + calc_check_letter(digits)
