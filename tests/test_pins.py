"""Tests for cgos.pins (6-digit password rules)."""

from __future__ import annotations

import datetime
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cgos import pins

pin_strings = st.integers(0, 999_999).map(lambda n: f"{n:06d}")


def test_constants():
    """The PIN length and provisional lifetime are as specified."""
    assert pins.PIN_LENGTH == 6
    assert pins.PROVISIONAL_PIN_LIFETIME == datetime.timedelta(days=30)


@pytest.mark.parametrize("_", range(200))
def test_generated_provisional_pin_has_six_digits(_):
    """Every provisional PIN is 6 ASCII digits and passes the weakness rules."""
    pin = pins.generate_provisional_pin()
    assert len(pin) == 6 and pin.isascii() and pin.isdigit()
    assert pins.weakness(pin) is None


def test_generated_provisional_pins_vary():
    """Provisional PINs are random (and leading zeros can occur)."""
    generated = {pins.generate_provisional_pin() for _ in range(2000)}
    assert len(generated) > 1900
    assert any(pin.startswith("0") for pin in generated)


@given(st.datetimes(max_value=datetime.datetime(9000, 1, 1)))
def test_provisional_pin_expiry(issued_at):
    """A provisional PIN works for 30 days, then expires."""
    expires_at = pins.provisional_pin_expires_at(issued_at)
    assert expires_at == issued_at + datetime.timedelta(days=30)
    assert not pins.is_provisional_pin_expired(issued_at, issued_at)
    assert not pins.is_provisional_pin_expired(issued_at, expires_at - datetime.timedelta(seconds=1))
    assert pins.is_provisional_pin_expired(issued_at, expires_at)
    assert pins.is_provisional_pin_expired(issued_at, expires_at + datetime.timedelta(days=1))


@pytest.mark.parametrize(
    "pin",
    ["", "12345", "1234567", "12a456", "12 456", "123456\n", "١٢٣٤٥٦", "８２７３９１", None, 827391],
)
def test_weakness_format(pin):
    """Anything but exactly 6 ASCII digits is refused."""
    assert pins.weakness(pin) == pins.MESSAGE_FORMAT


@given(st.text(max_size=10))
def test_weakness_format_any_text(text):
    """Random text is refused unless it is exactly 6 ASCII digits."""
    if len(text) == 6 and all(c in "0123456789" for c in text):
        assert pins.weakness(text) != pins.MESSAGE_FORMAT
    else:
        assert pins.weakness(text) == pins.MESSAGE_FORMAT


@pytest.mark.parametrize("digit", "0123456789")
def test_weakness_repeated_digit(digit):
    """Every all-same-digit PIN is refused."""
    assert pins.weakness(digit * 6) == pins.MESSAGE_REPEATED


@pytest.mark.parametrize(
    "pin",
    [
        "012345",
        "123456",
        "234567",
        "345678",
        "456789",
        "543210",
        "654321",
        "765432",
        "876543",
        "987654",
        # Wrap-around between 9 and 0 is refused too (see the module docstring).
        "567890",
        "678901",
        "789012",
        "890123",
        "901234",
        "098765",
        "109876",
        "210987",
        "321098",
        "432109",
    ],
)
def test_weakness_sequences(pin):
    """Ascending and descending runs of consecutive digits are refused."""
    assert pins.weakness(pin) == pins.MESSAGE_SEQUENCE


@pytest.mark.parametrize("pin", ["135790", "123457", "124356", "482915", "827391", "013579"])
def test_weakness_accepts_non_trivial(pin):
    """Non-trivial PINs are accepted."""
    assert pins.weakness(pin) is None


def refused_structures() -> set[str]:
    """Every PIN of a refused structure, built from the structures rather than checked."""
    digits = "0123456789"
    strokes = ["123", "456", "789", "147", "258", "369", "580", "159", "357"]
    strokes += [stroke[::-1] for stroke in strokes]
    built = {digit * 6 for digit in digits}
    built |= {"".join(str((start + i * step) % 10) for i in range(6)) for start in range(10) for step in (1, 9)}
    built |= {"".join(pair) * 3 for pair in product(digits, repeat=2)}
    built |= {"".join(triple) * 2 for triple in product(digits, repeat=3)}
    built |= {a * 2 + b * 2 + c * 2 for a, b, c in product(digits, repeat=3)}
    built |= {a * 3 + b * 3 for a, b in product(digits, repeat=2)}
    built |= {"".join(half) + "".join(half)[::-1] for half in product(digits, repeat=3)}
    built |= {first + second for first in strokes for second in strokes}
    return built


def test_without_personal_data_exactly_the_listed_structures_are_refused():
    """Repeated digits, sequences, repeated groups, mirrored halves and keypad strokes: nothing else."""
    refused = {p for p in (f"{n:06d}" for n in range(1_000_000)) if pins.weakness(p)}
    assert refused == refused_structures()


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("123123", pins.MESSAGE_REPEATED_GROUP),
        ("121212", pins.MESSAGE_REPEATED_GROUP),
        ("112233", pins.MESSAGE_REPEATED_GROUP),
        ("111222", pins.MESSAGE_REPEATED_GROUP),
        ("696969", pins.MESSAGE_REPEATED_GROUP),
        ("101010", pins.MESSAGE_REPEATED_GROUP),
        ("123321", pins.MESSAGE_MIRRORED),
        ("159753", pins.MESSAGE_KEYPAD),
        ("147258", pins.MESSAGE_KEYPAD),
        ("258580", pins.MESSAGE_KEYPAD),
    ],
)
def test_the_weak_pins_of_the_issue_are_refused_with_their_reason(pin, reason):
    """The PINs the review found accepted, each with the reason the agent reads."""
    assert pins.weakness(pin) == reason


@given(pin_strings)
def test_a_provisional_pin_is_never_of_a_refused_structure(_):
    """The provisional PIN the agent receives is one they could have chosen."""
    assert pins.weakness(pins.generate_provisional_pin()) is None


def test_weakness_birth_date_examples():
    """The typical 6-digit forms of the birth date are refused."""
    birth_date = datetime.date(1985, 3, 14)
    for pin in ["140385", "850314", "031485", "031985", "198503"]:
        assert pins.weakness(pin, birth_date=birth_date) == pins.MESSAGE_BIRTH_DATE
    for pin in ["851403", "148503", "038514", "031485"]:  # the other orders of day, month and year
        assert pins.weakness(pin, birth_date=birth_date) == pins.MESSAGE_BIRTH_DATE
    for pin in ["141985", "198514"]:  # day and year without the month: accepted
        assert pins.weakness(pin, birth_date=birth_date) is None
    assert pins.weakness("140385") is None


@given(st.dates(), st.sampled_from(["%d%m%y", "%m%d%y", "%y%m%d", "%y%d%m", "%d%y%m", "%m%y%d", "%m%Y", "%Y%m"]))
def test_weakness_birth_date_forms(birth_date, form):
    """Every supported form of any birth date is refused."""
    year = f"{birth_date.year:04d}"
    pin = (
        form.replace("%d", f"{birth_date.day:02d}")
        .replace("%m", f"{birth_date.month:02d}")
        .replace("%y", year[2:])
        .replace("%Y", year)
    )
    reason = pins.weakness(pin, birth_date=birth_date)
    assert reason is not None
    if pins.weakness(pin) is None:  # not already refused as repeated/sequence
        assert reason == pins.MESSAGE_BIRTH_DATE


@given(pin_strings, st.dates())
def test_weakness_birth_date_only_refuses_its_forms(pin, birth_date):
    """The birth date rule only refuses the listed forms of that date."""
    reason = pins.weakness(pin, birth_date=birth_date)
    if pin in pins.birth_date_forms(birth_date):
        assert reason is not None
    else:
        assert reason == pins.weakness(pin)


@given(pin_strings)
def test_weakness_provisional(pin):
    """The new PIN may not be the provisional PIN."""
    assert pins.weakness(pin, provisional_pin=pin) == pins.MESSAGE_PROVISIONAL


def test_weakness_other_than_provisional_is_accepted():
    """A different good PIN is accepted even when a provisional PIN is given."""
    assert pins.weakness("827391", provisional_pin="827392") is None


@given(pin_strings, st.one_of(st.none(), st.dates()), st.one_of(st.none(), pin_strings))
def test_weakness_messages_are_french_sentences(pin, birth_date, provisional):
    """Every reason is one of the French messages, ending with a full stop."""
    reason = pins.weakness(pin, birth_date=birth_date, provisional_pin=provisional)
    assert reason is None or reason in {
        pins.MESSAGE_FORMAT,
        pins.MESSAGE_PROVISIONAL,
        pins.MESSAGE_REPEATED,
        pins.MESSAGE_SEQUENCE,
        pins.MESSAGE_REPEATED_GROUP,
        pins.MESSAGE_MIRRORED,
        pins.MESSAGE_KEYPAD,
        pins.MESSAGE_BIRTH_DATE,
    }
    assert reason is None or reason.endswith(".")


def test_modules_do_not_import_flask():
    """Domain modules never import Flask themselves (the cgos package itself may)."""
    import ast
    from pathlib import Path

    import cgos.identifiers

    package_dir = Path(cgos.identifiers.__file__).parent
    for path in [Path(pins.__file__), *package_dir.glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0].lower().startswith("flask") for n in names), path
