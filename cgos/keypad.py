"""The server-shuffled keypad: 10 digits and 2 blanks in 3 rows of 4.

The browser never sends a digit: each key carries a token derived from a
secret key and the layout id, so only the server can map it back, and a
token issued for another layout maps to nothing. The order of the cells is
drawn with `secrets` for every new layout.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

DIGITS = "0123456789"
BLANK = "_"
ROWS, COLUMNS = 3, 4
PIN_LENGTH = 6
_shuffler = secrets.SystemRandom()


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
    def new(cls) -> "Layout":
        """A fresh layout with a random id and a random order of the 12 cells."""
        cells = list(DIGITS + BLANK * (ROWS * COLUMNS - len(DIGITS)))
        _shuffler.shuffle(cells)
        return cls(id=secrets.token_urlsafe(12), order="".join(cells))

    @classmethod
    def from_dict(cls, data: object) -> "Layout | None":
        """Rebuild a layout kept in the session; None when missing or malformed."""
        if not isinstance(data, dict):
            return None
        layout_id, order = data.get("id"), data.get("order")
        if not isinstance(layout_id, str) or not isinstance(order, str):
            return None
        if sorted(order) != sorted(DIGITS + BLANK * 2):
            return None
        return cls(id=layout_id, order=order)

    def to_dict(self) -> dict:
        """What the session keeps of the layout."""
        return {"id": self.id, "order": self.order}


def token_for(secret_key: bytes, layout: Layout, digit: str) -> str:
    """The opaque token of one digit in one layout."""
    mac = hmac.new(secret_key, f"keypad:{layout.id}:{digit}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:9]).decode()


def cells(secret_key: bytes, layout: Layout) -> list[Cell]:
    """The 12 cells in display order."""
    return [
        Cell(None, None) if char == BLANK else Cell(char, token_for(secret_key, layout, char))
        for char in layout.order
    ]


def digit_for(secret_key: bytes, layout: Layout, token: str) -> str | None:
    """The digit a token stands for in this layout, or None for a foreign token."""
    for digit in DIGITS:
        if hmac.compare_digest(token_for(secret_key, layout, digit), token):
            return digit
    return None


def decode(secret_key: bytes, layout: Layout, tokens: list[str]) -> str | None:
    """The digits typed, or None if any token does not belong to this layout."""
    digits = [digit_for(secret_key, layout, token) for token in tokens]
    if any(digit is None for digit in digits):
        return None
    return "".join(digits)


def split_tokens(value: str | None) -> list[str]:
    """The tokens of the hidden `pressed` field, at most a PIN's length of them."""
    return (value or "").split()[: PIN_LENGTH + 1]
