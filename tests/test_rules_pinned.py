"""Rules pinned by `make mutation`: each test here stops a mutant of the plain rule modules that the other tests let live.

The form validators (cgos/validators.py) are driven without a form or a client; the PIN rules,
the keypad and the identifiers get the cases their own test files did not state.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from wtforms.validators import StopValidation

from cgos import keypad, pins, validators
from cgos.dates import paris_today, years_before
from cgos.identifiers import french_message, nir

BORN = date(1985, 3, 14)


def field(data, label: str = "Nom de naissance"):
    """A form field as the validators see it: its data and its label."""
    return SimpleNamespace(data=data, label=SimpleNamespace(text=label))


def refusal(validator, the_field, form=None) -> str:
    """The message a validator stops the field with."""
    with pytest.raises(StopValidation) as stopped:
        validator(form, the_field)
    return str(stopped.value)


# --- validators.py ---


@pytest.mark.parametrize("typed", ["35127846 S", " 35127846s ", "35127846-S"])
def test_a_numero_is_kept_in_its_compact_form(typed):
    the_field = field(typed)
    validators.numero_cgos(None, the_field)
    assert the_field.data == "35127846S"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("35127846 T", "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre."),
        ("3512784 S", "Le numéro C.G.O.S comporte 8 chiffres suivis d'une lettre, par exemple 35127846 S."),
        (None, "Le numéro C.G.O.S comporte 8 chiffres suivis d'une lettre, par exemple 35127846 S."),
    ],
)
def test_a_wrong_numero_stops_with_what_to_do(typed, message):
    assert refusal(validators.numero_cgos, field(typed)) == message


def test_a_mail_address_is_kept_normalised():
    the_field = field("  Prenom.Nom@Exemple.FR ")
    validators.email_address(None, the_field)
    assert the_field.data == "Prenom.Nom@exemple.fr"


@pytest.mark.parametrize("typed", ["prenom.nom", "prenom nom@exemple.fr", "@exemple.fr", ""])
def test_a_wrong_mail_address_stops_with_an_example(typed):
    message = refusal(validators.email_address, field(typed))
    assert message == "Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr."


def test_a_confirmation_ignores_case_and_surrounding_spaces():
    form = {"email": field("Prenom.Nom@exemple.fr")}
    validators.same_as("email", "Les adresses ne correspondent pas.")(form, field(" prenom.nom@EXEMPLE.fr "))


@pytest.mark.parametrize("first, second", [("a@exemple.fr", "b@exemple.fr"), ("a@exemple.fr", None), (None, "a")])
def test_a_confirmation_that_differs_stops_with_the_callers_message(first, second):
    form = {"email": field(first)}
    check = validators.same_as("email", "Les adresses ne correspondent pas.")
    assert refusal(check, field(second), form) == "Les adresses ne correspondent pas."


def test_two_empty_fields_confirm_each_other():
    validators.same_as("email", "Les adresses ne correspondent pas.")({"email": field(None)}, field(None))


@pytest.mark.parametrize(
    "typed, day",
    [
        ("14/03/1985", BORN),
        ("4/3/1985", date(1985, 3, 4)),
        ("14 - 03 - 1985", BORN),
        ("14.03.1985", BORN),
        ("14031985", BORN),
        ("1985-03-14", BORN),
        ("1985-3-4", date(1985, 3, 4)),
        ("  14/03/1985  ", BORN),
        (None, None),
        ("", None),
        ("14/03", None),
        ("1985/03/14", None),
        ("14/03/1985/", None),
        ("31/04/1985", None),
        ("1985-02-30", None),
    ],
)
def test_a_date_is_read_in_the_ways_agents_type_it(typed, day):
    assert validators.parse_french_date(typed) == day


def test_a_date_padded_with_spaces_is_read_up_to_forty_characters():
    """Past 40 characters a value is refused before any regular expression looks at it."""
    forty = "14" + " " * 15 + "/03" + " " * 15 + "/1985"
    assert len(forty) == 40
    assert validators.parse_french_date(forty) == BORN
    assert validators.parse_french_date(forty.replace("/03", "/ 03")) is None


@pytest.mark.parametrize(
    "typed, short",
    [
        ("140385", True),
        ("1403198", True),
        ("14 03 85", True),
        ("14/3/198", True),
        ("14.03-85", True),
        ("14031985", False),
        ("14/03/1985", False),
        ("14035", False),
        ("14 mars 85", False),
        ("", False),
        (None, False),
    ],
)
def test_a_date_is_short_when_it_has_six_or_seven_digits(typed, short):
    assert validators.date_too_short(typed) is short


def test_a_short_date_gets_the_example_written_both_ways():
    assert validators.date_problem("140385", date(2024, 9, 2)) == (
        "Saisissez la date en entier : 2 chiffres pour le jour, 2 pour le mois et 4 pour l'année, "
        "par exemple 02/09/2024 ou 02092024."
    )
    assert validators.date_problem("14031985", date(2024, 9, 2)) is None


@pytest.mark.parametrize(
    "born, right",
    [
        (date(1899, 12, 31), False),
        (date(1900, 1, 1), True),
        (date(2012, 12, 1), True),
        (date(2012, 12, 2), False),
        (date(2026, 12, 1), False),
    ],
)
def test_a_birth_date_is_from_1900_to_fourteen_years_ago(born, right):
    problem = validators.birth_date_problem(born, date(2026, 12, 1))
    assert problem == (None if right else "Vérifiez votre date de naissance : elle ne semble pas correcte.")


def test_a_birth_date_is_kept_as_a_date():
    the_field = field("14/03/1985")
    validators.birth_date(None, the_field)
    assert the_field.data == BORN


@pytest.mark.parametrize(
    "typed, message",
    [
        (
            "140385",
            "Saisissez la date en entier : 2 chiffres pour le jour, 2 pour le mois et 4 pour l'année, "
            "par exemple 14/03/1985 ou 14031985.",
        ),
        ("le 14 mars", "Saisissez votre date de naissance au format JJ/MM/AAAA, par exemple 14/03/1985."),
        ("31/02/1985", "Saisissez votre date de naissance au format JJ/MM/AAAA, par exemple 14/03/1985."),
        ("14/03/1885", "Vérifiez votre date de naissance : elle ne semble pas correcte."),
    ],
)
def test_a_wrong_birth_date_stops_with_what_to_do(typed, message):
    the_field = field(typed)
    assert refusal(validators.birth_date, the_field) == message
    assert the_field.data == typed


def test_a_birth_date_is_judged_on_todays_date_in_paris():
    youngest = years_before(paris_today(), validators.MINIMUM_AGE)
    validators.birth_date(None, field(f"{youngest:%d/%m/%Y}"))
    message = refusal(validators.birth_date, field(f"{youngest + timedelta(days=1):%d/%m/%Y}"))
    assert message == "Vérifiez votre date de naissance : elle ne semble pas correcte."


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("  Le   Gall ", "Le Gall"),
        ("N'Diaye", "N'Diaye"),
        ("Saint-Exupéry", "Saint-Exupéry"),
        ("D’Alembert", "D’Alembert"),
        ("Ø", "Ø"),
        ("a" * 100, "a" * 100),
    ],
)
def test_a_name_is_kept_with_its_spaces_collapsed(typed, kept):
    the_field = field(typed)
    validators.person_name(None, the_field)
    assert the_field.data == kept


@pytest.mark.parametrize("typed", ["a" * 101, "Martin2", "Martin_", "-Martin", "Martin-", "Le--Gall", "", None, "   "])
def test_a_name_of_anything_but_letters_and_joiners_stops_naming_its_field(typed):
    the_field = field(typed, label="Prénom")
    message = refusal(validators.person_name, the_field)
    assert message == (
        "Le champ « Prénom » ne peut contenir que des lettres, des espaces, des tirets et des apostrophes."
    )
    assert the_field.data == typed


# --- pins.py, keypad.py, identifiers/ ---


def test_a_birth_date_with_one_digit_day_and_month_is_refused_unpadded_too():
    """1 May 1980: the padded forms (010580, 198005 …) and the unpadded D M YYYY ones."""
    assert pins.birth_date_forms(date(1980, 5, 1)) == {
        "010580",
        "050180",
        "800501",
        "800105",
        "018005",
        "058001",
        "051980",
        "198005",
        "151980",
        "511980",
        "198015",
        "198051",
    }


def test_unpadded_forms_exist_only_when_they_make_six_digits():
    assert "1121985" not in pins.birth_date_forms(date(1985, 12, 1))
    assert pins.weakness("198512", birth_date=date(1985, 12, 1)) == pins.MESSAGE_BIRTH_DATE


def test_a_layout_id_is_twelve_random_bytes():
    """The id the session keeps: 12 bytes of `secrets`, 16 characters, never the same twice."""
    ids = {keypad.Layout.new(b"key").id for _ in range(50)}
    assert len(ids) == 50
    assert {len(layout_id) for layout_id in ids} == {16}


def test_each_key_of_the_grid_carries_the_token_of_its_digit():
    layout = keypad.Layout.new(b"key")
    by_digit = keypad.tokens(b"key", layout)
    grid = keypad.cells(b"key", layout)
    assert [cell.digit or keypad.BLANK for cell in grid] == list(layout.order)
    assert {cell.digit: cell.token for cell in grid if cell.digit} == by_digit
    assert [cell for cell in grid if cell.digit is None] == [keypad.Cell(None, None)] * 2


def test_an_unknown_identifier_kind_is_a_programming_error_that_names_it():
    with pytest.raises(ValueError, match="^unknown identifier kind: 'passport'$"):
        french_message(nir.InvalidFormat(), "passport")


@pytest.mark.parametrize("sex", [0, 3, "1"])
def test_matching_an_identity_needs_a_sex_of_1_or_2(sex):
    with pytest.raises(ValueError, match=f"^sex must be 1 or 2, not {sex!r}$"):
        nir.matches_identity("285033523812388", sex=sex, birth_date=BORN)


@pytest.mark.parametrize(
    "separator, shown", [(" ", "2 85 03 35 238 123 88"), ("", "285033523812388"), (".", "2.85.03.35.238.123.88")]
)
def test_a_nir_is_shown_with_the_separator_asked(separator, shown):
    assert nir.format("2 85 03 35 238 123 88", separator=separator) == shown
