"""PIN rules: the 6-digit password of the Espace Agent.

Agents sign in with their numéro C.G.O.S and a 6-digit password (PIN). A
provisional PIN is sent by post; it expires after
:data:`PROVISIONAL_PIN_LIFETIME` and must be replaced by a PIN of the agent's
choice, which :func:`weakness` checks.

Refused PINs (:func:`weakness`), in the order they are checked:

* anything other than exactly 6 ASCII digits;
* the provisional PIN itself;
* one digit repeated (000000 ... 999999);
* consecutive digits, ascending or descending, *including* the wrap from 9
  to 0 (890123, 567890, 109876 ...): the digits are treated as a ring, as on
  a rotary or keypad sequence, which also covers 567890 on the top keyboard
  row. That is 20 PINs out of 1,000,000;
* the birth date, in the 6-digit forms a person actually types:
  DDMMYY (French short date), YYMMDD (ISO order), MMDDYY (US order), MMYYYY
  and YYYYMM (month and 4-digit year). These are also the first and last
  6 digits of DDMMYYYY and YYYYMMDD, i.e. an 8-digit date cut to 6 digits.
  Day-and-year forms without the month (DDYYYY, YYYYDD) are not refused:
  nobody writes a date that way.
"""

from __future__ import annotations

import datetime
import re
import secrets
import string

__all__ = [
    "MESSAGE_BIRTH_DATE",
    "MESSAGE_FORMAT",
    "MESSAGE_PROVISIONAL",
    "MESSAGE_REPEATED",
    "MESSAGE_SEQUENCE",
    "PIN_LENGTH",
    "PROVISIONAL_PIN_LIFETIME",
    "birth_date_forms",
    "generate_provisional_pin",
    "is_provisional_pin_expired",
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
MESSAGE_BIRTH_DATE = (
    "Le mot de passe ne doit pas reprendre votre date de naissance : "
    "choisissez une combinaison sans lien avec vos informations personnelles."
)

_PIN_FORMAT = re.compile(r"[0-9]{%d}" % PIN_LENGTH)
# strftime patterns of the refused birth date forms (see the module docstring).
_BIRTH_DATE_FORMS = ("%d%m%y", "%y%m%d", "%m%d%y", "%m%Y", "%Y%m")


def generate_provisional_pin() -> str:
    """Return a random 6-digit provisional PIN (leading zeros allowed) that is not trivially weak."""
    while True:
        pin = "".join(secrets.choice(string.digits) for _ in range(PIN_LENGTH))
        # Redraw the ~30 in a million PINs that the agent could not choose either.
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
    }
    forms = set()
    for pattern in _BIRTH_DATE_FORMS:
        form = "".join(parts[pattern[i:i + 2]] for i in range(0, len(pattern), 2))
        forms.add(form)
    return forms


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
    if birth_date is not None and pin in birth_date_forms(birth_date):
        return MESSAGE_BIRTH_DATE
    return None
