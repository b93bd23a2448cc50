"""The server-shuffled keypad: 10 digits and 2 blanks in 3 rows of 4.

The browser never sends a digit: each key carries a token derived from a
secret key and the layout id, so only the server can map it back, and a
token issued for another layout maps to nothing. Every display draws a new
layout id with `secrets`; the order of the cells is a keyed hash of that id,
so the browser holds the id and only the server can tell the order.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

DIGITS = "0123456789"
BLANK = "_"
ROWS, COLUMNS = 3, 4
PIN_LENGTH = 6
CELLS = DIGITS + BLANK * (ROWS * COLUMNS - len(DIGITS))
ID_BYTES = 12
# A key's token as the server makes it: an HMAC-SHA256 in lower-case hex.
TOKEN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Cell:
    """One cell of the grid: a key (digit and token) or a blank."""

    digit: str | None
    token: str | None


@dataclass(frozen=True)
class Layout:
    """A keypad as displayed once: its id and the order of its cells."""

    id: str
    order: str

    @classmethod
    def new(cls, secret_key: bytes) -> "Layout":
        """A fresh layout: a random id, and the shuffle it stands for."""
        return cls.of(secret_key, secrets.token_urlsafe(ID_BYTES))

    @classmethod
    def of(cls, secret_key: bytes, layout_id: str) -> "Layout":
        """The layout an id stands for: the 12 cells sorted by a keyed hash of the id and their place.

        A uniform shuffle that only the holder of the key can compute, so the
        server keeps nothing but the id (in the session) and the order never
        leaves it.
        """
        places = sorted(
            range(len(CELLS)),
            key=lambda place: hmac.new(
                secret_key, f"keypad-order:{layout_id}:{place}".encode(), hashlib.sha256
            ).digest(),
        )
        return cls(id=layout_id, order="".join(CELLS[place] for place in places))


def tokens(secret_key: bytes, layout: Layout) -> dict[str, str]:
    """The opaque token of each digit in one layout: an HMAC of the layout id and the digit."""
    return {
        digit: hmac.new(secret_key, f"keypad:{layout.id}:{digit}".encode(), hashlib.sha256).hexdigest()
        for digit in DIGITS
    }


def cells(secret_key: bytes, layout: Layout) -> list[Cell]:
    """The 12 cells in display order."""
    by_digit = tokens(secret_key, layout)
    return [Cell(None, None) if char == BLANK else Cell(char, by_digit[char]) for char in layout.order]


def _digit_of(by_digit: dict[str, str], token: str) -> str | None:
    """The digit whose token this is, every candidate compared in constant time."""
    if not TOKEN.fullmatch(token):
        return None  # not a token at all (compare_digest refuses non-ASCII text)
    found = None
    for digit, candidate in by_digit.items():
        if hmac.compare_digest(candidate, token):
            found = digit
    return found


def decode(secret_key: bytes, layout: Layout, typed: list[str]) -> str | None:
    """The digits typed, or None if any token does not belong to this layout."""
    by_digit = tokens(secret_key, layout)
    digits = [_digit_of(by_digit, token) for token in typed]
    if any(digit is None for digit in digits):
        return None
    return "".join(digits)


def split_tokens(value: str | None) -> list[str]:
    """The tokens of the hidden `pressed` field, at most a PIN's length of them."""
    return (value or "").split()[: PIN_LENGTH + 1]
