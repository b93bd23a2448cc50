"""Tests for cgos.pins (6-digit password rules)."""

from __future__ import annotations

import datetime

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
        "012345", "123456", "234567", "345678", "456789",
        "543210", "654321", "765432", "876543", "987654",
        # Wrap-around between 9 and 0 is refused too (see the module docstring).
        "567890", "678901", "789012", "890123", "901234",
        "098765", "109876", "210987", "321098", "432109",
    ],
)
def test_weakness_sequences(pin):
    """Ascending and descending runs of consecutive digits are refused."""
    assert pins.weakness(pin) == pins.MESSAGE_SEQUENCE


@pytest.mark.parametrize("pin", ["135790", "123457", "124356", "121212", "827391", "013579"])
def test_weakness_accepts_non_trivial(pin):
    """Non-trivial PINs are accepted."""
    assert pins.weakness(pin) is None


def test_only_thirty_trivial_pins():
    """Without personal data, exactly the 10 repeated and 20 sequential PINs are refused."""
    refused = [p for p in (f"{n:06d}" for n in range(1_000_000)) if pins.weakness(p)]
    assert len(refused) == 30


def test_weakness_birth_date_examples():
    """The typical 6-digit forms of the birth date are refused."""
    birth_date = datetime.date(1985, 3, 14)
    for pin in ["140385", "850314", "031485", "031985", "198503"]:
        assert pins.weakness(pin, birth_date=birth_date) == pins.MESSAGE_BIRTH_DATE
    for pin in ["141985", "198514", "851403"]:  # forms nobody types: accepted
        assert pins.weakness(pin, birth_date=birth_date) is None
    assert pins.weakness("140385") is None


@given(st.dates(), st.sampled_from(["%d%m%y", "%y%m%d", "%m%d%y", "%m%Y", "%Y%m"]))
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
