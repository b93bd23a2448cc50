"""PIN rules: the 6-digit password of the Espace Agent.

Agents sign in with their numéro C.G.O.S and a 6-digit password (PIN). A
provisional PIN is e-mailed to the agent; it expires after
:data:`PROVISIONAL_PIN_LIFETIME` and must be replaced by a PIN of the agent's
choice, which :func:`weakness` checks.

Refused PINs (:func:`weakness`), in the order they are checked:

* anything other than exactly 6 ASCII digits;
* the provisional PIN itself;
* one digit repeated (000000 ... 999999);
* consecutive digits, ascending or descending, *including* the wrap from 9
  to 0 (890123, 567890, 109876 ...): the digits are treated as a ring;
* a repeated group: a pair three times (121212, 696969, 101010), a triple
  twice (123123, 147147), each digit doubled (112233) or tripled (111222);
* mirrored halves, the second half the first one backwards (123321, 147741);
* two strokes on a phone keypad (1 2 3 / 4 5 6 / 7 8 9 / _ 0 _): each half
  is a row, a column (0 continues the middle one: 580) or a diagonal, either
  way (147258, 159753, 123789, 963852);
* the birth date, in any order of day, month and year: the six orders of
  DD, MM and YY (DDMMYY, MMDDYY, YYMMDD, YYDDMM, DDYYMM, MMYYDD), the month
  and the 4-digit year (MMYYYY, YYYYMM), and the unpadded D M YYYY forms when
  day and month are single digits (1/5/1980: 151980, 198051...). Day and year
  without the month (DDYYYY, YYYYDD) are not a date anybody writes: accepted.

Sources:

* Nick Berry, DataGenetics, « PIN number analysis » (2012): repeated pairs,
  keypad patterns and dates fill the top of 3.4 million leaked PINs;
* Ding Wang, Qianchen Gu, Xinyi Huang, Ping Wang, « Understanding Human-Chosen
  PINs: Characteristics, Distribution and Security », ASIA CCS 2017: in the
  6-digit PIN leaks, repetitions (aabbcc, abcabc), palindromes, keypad
  patterns and birth dates in every order are the most common structures;
* Joseph Bonneau, Sören Preibusch, Ross Anderson, « A birthday present every
  eleven wallets? The security of customer-chosen banking PINs », FC 2012:
  dates in all orders;
* NIST SP 800-63B, § 5.1.1.2: check chosen secrets against a blocklist of
  commonly used, expected or compromised values, and give the reason.
"""

from __future__ import annotations

import datetime
import re
import secrets
import string

__all__ = [
    "MESSAGE_BIRTH_DATE",
    "MESSAGE_KEYPAD",
    "MESSAGE_MIRRORED",
    "MESSAGE_REPEATED_GROUP",
    "MESSAGE_FORMAT",
    "MESSAGE_PROVISIONAL",
    "MESSAGE_REPEATED",
    "MESSAGE_SEQUENCE",
    "PIN_LENGTH",
    "PROVISIONAL_PIN_LIFETIME",
    "birth_date_forms",
    "generate_provisional_pin",
    "is_provisional_pin_expired",
    "is_keypad_pattern",
    "is_mirrored",
    "is_repeated_group",
    "is_sequence",
    "provisional_pin_expires_at",
    "weakness",
]

PIN_LENGTH = 6
PROVISIONAL_PIN_LIFETIME = datetime.timedelta(days=30)

MESSAGE_FORMAT = "Le mot de passe doit comporter exactement 6 chiffres."
MESSAGE_PROVISIONAL = "Choisissez un mot de passe différent du mot de passe provisoire."
MESSAGE_REPEATED = (
    "Le mot de passe ne peut pas être composé d'un seul chiffre répété : "
    "choisissez une combinaison plus difficile à deviner."
)
MESSAGE_SEQUENCE = (
    "Le mot de passe ne peut pas être une suite de chiffres qui se suivent, "
    "comme 123456 ou 654321 : choisissez une combinaison plus difficile à deviner."
)
MESSAGE_REPEATED_GROUP = (
    "Le mot de passe ne peut pas répéter un même groupe de chiffres, "
    "comme 121212, 123123, 112233 ou 111222 : choisissez une combinaison plus difficile à deviner."
)
MESSAGE_MIRRORED = (
    "Le mot de passe ne peut pas être symétrique, comme 123321 : choisissez une combinaison plus difficile à deviner."
)
MESSAGE_KEYPAD = (
    "Le mot de passe ne peut pas suivre des lignes, des colonnes ou des diagonales du clavier, "
    "comme 147258 ou 159753 : choisissez une combinaison plus difficile à deviner."
)
MESSAGE_BIRTH_DATE = (
    "Le mot de passe ne doit pas reprendre votre date de naissance : "
    "choisissez une combinaison sans lien avec vos informations personnelles."
)

_PIN_FORMAT = re.compile(r"[0-9]{%d}" % PIN_LENGTH)
# The refused birth date forms (see the module docstring): D and M are unpadded.
_BIRTH_DATE_FORMS = (
    "%d%m%y",
    "%m%d%y",
    "%y%m%d",
    "%y%d%m",
    "%d%y%m",
    "%m%y%d",
    "%m%Y",
    "%Y%m",
    "DM%Y",
    "MD%Y",
    "%YDM",
    "%YMD",
)
# Three keys in a line on a phone keypad (1 2 3 / 4 5 6 / 7 8 9 / _ 0 _), one way.
_KEYPAD_LINES = ("123", "456", "789", "147", "258", "369", "580", "159", "357")
KEYPAD_STROKES = frozenset(_KEYPAD_LINES) | frozenset(line[::-1] for line in _KEYPAD_LINES)


def generate_provisional_pin() -> str:
    """Return a random 6-digit provisional PIN (leading zeros allowed) that is not trivially weak."""
    while True:
        pin = "".join(secrets.choice(string.digits) for _ in range(PIN_LENGTH))
        # Redraw the few thousand in a million PINs that the agent could not choose either.
        if weakness(pin) is None:
            return pin


def provisional_pin_expires_at(issued_at: datetime.datetime) -> datetime.datetime:
    """Return the moment a provisional PIN issued at ``issued_at`` stops working."""
    return issued_at + PROVISIONAL_PIN_LIFETIME


def is_provisional_pin_expired(issued_at: datetime.datetime, now: datetime.datetime) -> bool:
    """Return True if a provisional PIN issued at ``issued_at`` has expired at ``now``."""
    return now >= provisional_pin_expires_at(issued_at)


def is_sequence(pin: str) -> bool:
    """Return True if the digits go up or down by one each time, wrapping 9 <-> 0."""
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    return steps in ({1}, {9})


def birth_date_forms(birth_date: datetime.date) -> set[str]:
    """Return the 6-digit forms of a birth date that are refused as a PIN."""
    # Built by hand rather than strftime("%Y") so years < 1000 stay 4 digits.
    parts = {
        "%d": f"{birth_date.day:02d}",
        "%m": f"{birth_date.month:02d}",
        "%y": f"{birth_date.year % 100:02d}",
        "%Y": f"{birth_date.year:04d}",
        "D": str(birth_date.day),
        "M": str(birth_date.month),
    }
    forms = set()
    for pattern in _BIRTH_DATE_FORMS:
        form = "".join(parts[piece] for piece in re.findall(r"%.|[DM]", pattern))
        if len(form) == PIN_LENGTH:
            forms.add(form)
    return forms


def is_repeated_group(pin: str) -> bool:
    """Return True for a pair repeated (121212), a triple repeated (123123), doubled or tripled digits."""
    pairs, triples = pin[0::2], pin[0::3]
    return (
        pin == pin[:2] * 3
        or pin == pin[:3] * 2
        or pin == "".join(digit * 2 for digit in pairs[:3])
        or pin == "".join(digit * 3 for digit in triples[:2])
    )


def is_mirrored(pin: str) -> bool:
    """Return True when the second half is the first one backwards (123321)."""
    half = len(pin) // 2
    return pin[half:] == pin[:half][::-1]


def is_keypad_pattern(pin: str) -> bool:
    """Return True when each half is a row, column or diagonal of a phone keypad."""
    half = len(pin) // 2
    return pin[:half] in KEYPAD_STROKES and pin[half:] in KEYPAD_STROKES


def weakness(
    pin: str,
    *,
    birth_date: datetime.date | None = None,
    provisional_pin: str | None = None,
) -> str | None:
    """Return the French reason why the PIN is refused, or None if it is acceptable."""
    if not isinstance(pin, str) or not _PIN_FORMAT.fullmatch(pin):
        return MESSAGE_FORMAT
    if provisional_pin is not None and pin == provisional_pin:
        return MESSAGE_PROVISIONAL
    if len(set(pin)) == 1:
        return MESSAGE_REPEATED
    if is_sequence(pin):
        return MESSAGE_SEQUENCE
    if is_repeated_group(pin):
        return MESSAGE_REPEATED_GROUP
    if is_mirrored(pin):
        return MESSAGE_MIRRORED
    if is_keypad_pattern(pin):
        return MESSAGE_KEYPAD
    if birth_date is not None and pin in birth_date_forms(birth_date):
        return MESSAGE_BIRTH_DATE
    return None
