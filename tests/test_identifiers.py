"""Tests for cgos.identifiers (numéro C.G.O.S and NIR)."""

from __future__ import annotations

import datetime
import random
import re
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from cgos.identifiers import french_message, nir, numero
from tests_support.personas import DEMO_AGENTS

DEMO_NUMEROS = [person.numero for person in DEMO_AGENTS]
DEMO_NIRS = [person.spaced_nir for person in DEMO_AGENTS]

eight_digits = st.integers(min_value=0, max_value=99_999_999).map(lambda n: f"{n:08d}")


def with_key(body: str) -> str:
    """Return the 13-character NIR body followed by its computed key."""
    return body + nir.calc_check_digits(body)


@st.composite
def nir_bodies(draw, departments=None):
    """Draw a 13-character NIR body with an accepted sex digit and month."""
    sex_digit = draw(st.sampled_from("1278"))
    year = draw(st.integers(0, 99))
    month = draw(st.one_of(st.integers(1, 12), st.integers(20, 42), st.integers(50, 99)))
    if departments is None:
        departments = st.integers(1, 99).map(lambda d: f"{d:02d}")
    department = draw(departments)
    rest = draw(st.integers(0, 999_999).map(lambda n: f"{n:06d}"))
    return f"{sex_digit}{year:02d}{month:02d}{department}{rest}"


# --- numéro C.G.O.S -------------------------------------------------------


@pytest.mark.parametrize("number", DEMO_NUMEROS)
def test_numero_demo_numbers_are_valid(number):
    """The demo numéros used in fixtures and docs are valid."""
    assert numero.is_valid(number)
    assert numero.format(numero.validate(number)) == number


def test_numero_compact_examples():
    """compact() removes separators and uppercases."""
    assert numero.compact("35127846s") == "35127846S"
    assert numero.compact(" 35.127-846 s ") == "35127846S"
    assert numero.compact("35127846\u00a0S") == "35127846S"


@given(eight_digits)
def test_numero_computed_letter_validates(digits):
    """For any 8 digits, the computed letter gives a valid numéro."""
    letter = numero.calc_check_letter(digits)
    assert letter in numero.CHECK_ALPHABET
    assert numero.validate(digits + letter) == digits + letter


@given(eight_digits, st.sampled_from(string.ascii_uppercase))
def test_numero_other_letter_is_checksum_error(digits, letter):
    """Any other letter (A-Z) is refused with InvalidChecksum."""
    assume(letter != numero.calc_check_letter(digits))
    with pytest.raises(InvalidChecksum):
        numero.validate(digits + letter)


@given(eight_digits, st.sampled_from(["", " ", "  ", "-", "."]), st.booleans())
def test_numero_accepts_lowercase_and_separators(digits, separator, lower):
    """Lowercase letters and glued or separated letters are accepted."""
    letter = numero.calc_check_letter(digits)
    typed = digits + separator + (letter.lower() if lower else letter)
    assert numero.validate(typed) == digits + letter


@given(eight_digits)
def test_numero_format_compact_round_trip(digits):
    """format() and compact() are inverse of each other on valid numbers."""
    compact = digits + numero.calc_check_letter(digits)
    formatted = numero.format(compact)
    assert re.fullmatch(r"[0-9]{8} [A-Z]", formatted)
    assert numero.compact(formatted) == compact
    assert numero.validate(formatted) == compact


@pytest.mark.parametrize(
    "number, error",
    [
        ("", InvalidLength),
        ("3512784 S", InvalidLength),
        ("35127846", InvalidLength),
        ("351278461 S", InvalidLength),
        ("3512784X S", InvalidFormat),
        ("351278466", InvalidFormat),
        ("35127846 É", InvalidFormat),
        ("３５１２７８４６S", InvalidFormat),  # full-width digits
        ("35127846 O", InvalidChecksum),
    ],
)
def test_numero_errors(number, error):
    """Malformed numéros raise the matching stdnum exception."""
    with pytest.raises(error):
        numero.validate(number)
    assert not numero.is_valid(number)


@given(st.randoms(use_true_random=False))
def test_numero_generate_is_valid(rng):
    """generate() returns a valid compact numéro with a non-zero first digit."""
    generated = numero.generate(rng)
    assert numero.validate(generated) == generated
    assert generated[0] != "0"


def test_numero_generate_with_system_random():
    """generate() works with secrets.SystemRandom."""
    import secrets

    assert numero.is_valid(numero.generate(secrets.SystemRandom()))


def test_numero_generate_covers_range():
    """generate() reaches both ends of the 8-digit range."""

    class Fixed(random.Random):
        """Random source whose randint() always returns the same value."""

        def __init__(self, value):
            """Remember the value to return."""
            super().__init__()
            self.value = value

        def randint(self, a, b):
            """Check the requested range and return the fixed value."""
            assert (a, b) == (10_000_000, 99_999_999)
            return self.value

    assert numero.generate(Fixed(10_000_000)).startswith("10000000")
    assert numero.generate(Fixed(99_999_999)).startswith("99999999")


# --- NIR ------------------------------------------------------------------


@pytest.mark.parametrize("number", DEMO_NIRS)
def test_nir_demo_numbers_are_valid(number):
    """The demo NIRs used in fixtures and docs are valid (key checked by stdnum)."""
    assert nir.is_valid(number)
    assert nir.format(nir.validate(number)) == number


@given(nir_bodies())
def test_nir_body_with_computed_key_validates(body):
    """Any accepted 13-digit body followed by its key is valid."""
    number = with_key(body)
    assert nir.validate(number) == number
    assert nir.validate(nir.format(number)) == number


@given(nir_bodies(), st.integers(0, 12), st.integers(1, 9))
def test_nir_changing_one_body_digit_breaks_the_key(body, position, delta):
    """Changing any single digit of the body is always detected."""
    number = with_key(body)
    changed_digit = str((int(number[position]) + delta) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]
    with pytest.raises(ValidationError):
        nir.validate(changed)
    if position >= 5:  # sex and month unchanged: only the key can catch it
        with pytest.raises(InvalidChecksum):
            nir.validate(changed)


@given(nir_bodies(), st.integers(0, 99))
def test_nir_wrong_key_is_checksum_error(body, key):
    """Any key other than the computed one raises InvalidChecksum."""
    assume(f"{key:02d}" != nir.calc_check_digits(body))
    with pytest.raises(InvalidChecksum):
        nir.validate(f"{body}{key:02d}")


@given(nir_bodies(departments=st.sampled_from(["2A", "2B", "2a", "2b"])))
def test_nir_corsica(body):
    """Corsican departments 2A/2B are accepted, with the 19/18 key substitution."""
    number = with_key(body)
    assert nir.validate(number) == number.upper()
    substituted = body[:5] + {"2A": "19", "2B": "18"}[body[5:7].upper()] + body[7:]
    assert number[13:] == f"{97 - int(substituted) % 97:02d}"


def test_nir_corsica_stdnum_examples():
    """stdnum's own Corsican examples still validate; 2C does not."""
    assert nir.validate("253072B07300470") == "253072B07300470"
    assert nir.validate("253072A07300443") == "253072A07300443"
    with pytest.raises(InvalidFormat):
        nir.validate("253072C07300443")


@given(nir_bodies(), st.sampled_from("034569"))
def test_nir_sex_digit_rule(body, sex_digit):
    """A first digit other than 1, 2, 7, 8 raises InvalidSex, even with a correct key."""
    number = with_key(sex_digit + body[1:])
    with pytest.raises(nir.InvalidSex):
        nir.validate(number)


@given(nir_bodies(), st.one_of(st.just(0), st.integers(13, 19), st.integers(43, 49)))
def test_nir_month_rule(body, month):
    """Months 00, 13-19 and 43-49 raise InvalidMonth, even with a correct key."""
    number = with_key(body[:3] + f"{month:02d}" + body[5:])
    with pytest.raises(nir.InvalidMonth):
        nir.validate(number)


@given(nir_bodies())
def test_nir_sex_and_birth_helpers(body):
    """sex(), birth_year_suffix() and birth_month() read the number."""
    number = with_key(body)
    assert nir.sex(number) == {"1": 1, "2": 2, "7": 1, "8": 2}[body[0]]
    assert nir.birth_year_suffix(number) == int(body[1:3])
    month = int(body[3:5])
    assert nir.birth_month(number) == (month if month <= 12 else None)


@pytest.mark.parametrize(
    "number, error",
    [
        ("", InvalidLength),
        ("2 85 03 35 238 123 8", InvalidLength),
        ("2 85 03 35 238 123 888", InvalidLength),
        ("2 85 03 35 238 12X 88", InvalidFormat),
        ("2 85 03 2C 238 123 88", InvalidFormat),
        ("2 85 03 35 238 123 89", InvalidChecksum),
    ],
)
def test_nir_errors(number, error):
    """Malformed NIRs raise the matching stdnum exception."""
    with pytest.raises(error):
        nir.validate(number)
    assert not nir.is_valid(number)


def test_nir_compact_and_format():
    """compact() removes spaces, dots, hyphens; format() groups the digits."""
    assert nir.compact("2.85.03-35 238\u00a0123 88") == "285033523812388"
    assert nir.format("285033523812388") == "2 85 03 35 238 123 88"


def test_nir_mask_example():
    """mask() shows only the sex digit and the key."""
    assert nir.mask("2 85 03 35 238 123 88") == "2 •• •• •• ••• ••• 88"
    with pytest.raises(InvalidLength):
        nir.mask("2 85 03")


@given(st.one_of(nir_bodies(), nir_bodies(departments=st.sampled_from(["2A", "2B"]))))
def test_nir_mask_reveals_at_most_three_digits(body):
    """mask() never reveals more than 3 characters of the number."""
    number = with_key(body)
    masked = nir.mask(number)
    revealed = [c for c in masked if c.isalnum()]
    assert len(revealed) <= 3
    assert "".join(revealed) == number[0] + number[13:]
    assert nir.mask(nir.format(number)) == masked


@pytest.mark.parametrize(
    "number, sex, birth_date, expected",
    [
        ("2 85 03 35 238 123 88", 2, datetime.date(1985, 3, 14), []),
        ("2 85 03 35 238 123 88", 1, datetime.date(1985, 3, 14), ["sex"]),
        ("2 85 03 35 238 123 88", 2, datetime.date(1986, 3, 14), ["year"]),
        ("2 85 03 35 238 123 88", 2, datetime.date(1985, 4, 14), ["month"]),
        ("2 85 03 35 238 123 88", 1, datetime.date(2086, 12, 1), ["sex", "year", "month"]),
        # The 2-digit year cannot tell 1985 from 2085 (or 1885).
        ("2 85 03 35 238 123 88", 2, datetime.date(2085, 3, 1), []),
        ("1 68 01 35 238 077 15", 1, datetime.date(1968, 1, 31), []),
    ],
)
def test_nir_matches_identity(number, sex, birth_date, expected):
    """matches_identity() lists the fields that disagree with the identity."""
    assert nir.matches_identity(number, sex=sex, birth_date=birth_date) == expected


@given(nir_bodies(), st.dates())
def test_nir_matches_identity_special_month_ignores_month(body, birth_date):
    """For special months (unknown month of birth) the month is never compared."""
    assume(int(body[3:5]) > 12)
    number = with_key(body)
    assert "month" not in nir.matches_identity(number, sex=nir.sex(number), birth_date=birth_date)


@given(nir_bodies())
def test_nir_matches_identity_own_data(body):
    """A NIR always matches the identity it was built from."""
    number = with_key(body)
    month = nir.birth_month(number) or 1
    birth_date = datetime.date(1900 + nir.birth_year_suffix(number), month, 1)
    assert nir.matches_identity(number, sex=nir.sex(number), birth_date=birth_date) == []


def test_nir_matches_identity_rejects_bad_input():
    """matches_identity() raises on an invalid NIR or sex value."""
    with pytest.raises(InvalidChecksum):
        nir.matches_identity("2 85 03 35 238 123 89", sex=2, birth_date=datetime.date(1985, 3, 1))
    with pytest.raises(ValueError):
        nir.matches_identity("2 85 03 35 238 123 88", sex=3, birth_date=datetime.date(1985, 3, 1))


# --- French messages ------------------------------------------------------


def test_french_message_numero():
    """Each numéro exception maps to its French message."""
    fmt = "Le numéro C.G.O.S comporte 8 chiffres suivis d'une lettre, par exemple 35127846 S."
    assert french_message(InvalidLength(), "numero") == fmt
    assert french_message(InvalidFormat(), "numero") == fmt
    assert french_message(InvalidChecksum(), "numero") == (
        "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre."
    )


def test_french_message_nir():
    """Each NIR exception maps to its French message."""
    fmt = "Le numéro de sécurité sociale comporte 15 chiffres (13 chiffres et la clé de 2 chiffres)."
    assert french_message(InvalidLength(), "nir") == fmt
    assert french_message(InvalidFormat, "nir") == fmt
    assert french_message(InvalidChecksum(), "nir") == (
        "La clé ne correspond pas au numéro de sécurité sociale : vérifiez les 13 premiers chiffres et la clé."
    )
    assert french_message(nir.InvalidSex(), "nir") == (
        "Le premier chiffre du numéro de sécurité sociale doit être 1 ou 2."
    )
    assert french_message(nir.InvalidMonth(), "nir") == (
        "Le mois de naissance indiqué dans le numéro de sécurité sociale (4e et 5e chiffres) n'existe pas."
    )


@given(st.text(max_size=20))
def test_french_message_for_any_input(text):
    """Whatever is typed, validation errors always map to a French sentence."""
    for kind, module in (("numero", numero), ("nir", nir)):
        try:
            module.validate(text)
        except ValidationError as exc:
            message = french_message(exc, kind)
            assert message and message.endswith(".")


def test_french_message_fallback_and_unknown_kind():
    """Unmapped stdnum errors get a generic message; unknown kinds are a bug."""
    from stdnum.exceptions import InvalidComponent

    assert "n'est pas valide" in french_message(InvalidComponent(), "nir")
    with pytest.raises(ValueError):
        french_message(InvalidChecksum(), "iban")
