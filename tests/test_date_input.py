"""Dates typed on any phone (issue 22, item 1): the iPhone's digit pad has no separator, so
« Date de naissance » and « Date d'entrée dans votre établissement » read digits alone too."""

from datetime import date

import pytest

from cgos.extensions import db
from cgos.models import MailChangeRequest, Registration
from cgos.validators import parse_french_date
from tests_support.flows import QUESTIONNAIRE_URL, REGISTRATION_URL, nir_step, register, send_questionnaire
from tests_support.personas import ANNE

# Every way a phone's keypad, a paste or an autofill writes 14 March 1985.
WAYS_OF_TYPING = ["14031985", "14 03 1985", "14/03/1985", "14-03-1985", "14.03.1985", " 14 / 03 / 1985 ", "1985-03-14"]
SHORT_BIRTH_DATE = (
    "Saisissez la date en entier : 2 chiffres pour le jour, 2 pour le mois et 4 pour l'année, "
    "par exemple 14/03/1985 ou 14031985."
)
SHORT_ENTRY_DATE = (
    "Saisissez la date en entier : 2 chiffres pour le jour, 2 pour le mois et 4 pour l'année, "
    "par exemple 01/09/2020 ou 01092020."
)
NOT_A_BIRTH_DATE = "Saisissez votre date de naissance au format JJ/MM/AAAA, par exemple 14/03/1985."


@pytest.mark.parametrize("typed", WAYS_OF_TYPING)
def test_each_way_of_typing_reads_as_14_march_1985(typed):
    assert parse_french_date(typed) == date(1985, 3, 14)


@pytest.mark.parametrize("typed", ["31021985", "31/02/1985", "14131985", "1403198", "140385", "140319851", "14/03/85"])
def test_impossible_or_incomplete_dates_read_as_nothing(typed):
    assert parse_french_date(typed) is None


@pytest.mark.parametrize("typed", WAYS_OF_TYPING)
def test_the_questionnaire_takes_a_birth_date_typed_on_a_digit_pad(either, typed):
    page = send_questionnaire(either, birth_date=typed)
    assert page.status == 200, page.text
    assert db.session.scalar(db.select(MailChangeRequest.birth_date)) == date(1985, 3, 14)


@pytest.mark.parametrize("typed", ["140385", "1403198", "14 03 85", "14/3/198"])
def test_a_birth_date_short_of_digits_gets_the_message_with_an_example(either, typed):
    page = send_questionnaire(either, birth_date=typed)
    assert page.status == 422
    assert page.field_error("birth_date") == SHORT_BIRTH_DATE
    assert page.soup.find(id="birth_date")["value"] == typed, "kept as typed, to be corrected"
    assert db.session.scalar(db.select(db.func.count(MailChangeRequest.id))) == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31021979", NOT_A_BIRTH_DATE),
        ("31/02/1979", NOT_A_BIRTH_DATE),
        ("140319851", NOT_A_BIRTH_DATE),
        ("02111879", "Vérifiez votre date de naissance : elle ne semble pas correcte."),
    ],
)
def test_impossible_birth_dates_keep_their_messages(either, typed, message):
    page = send_questionnaire(either, birth_date=typed)
    assert page.status == 422
    assert page.field_error("birth_date") == message


@pytest.mark.parametrize("typed", ["12031991", "12 03 1991", "12/03/1991", "12-03-1991", "12.03.1991"])
def test_the_registration_takes_birth_and_entry_dates_typed_on_a_digit_pad(either, typed):
    entry = typed.replace("1203", "0109").replace("12 03", "01 09").replace("12/03", "01/09")
    entry = entry.replace("12-03", "01-09").replace("12.03", "01.09").replace("1991", "2015")
    page = register(either, birth_date=typed, entry_date=entry)
    assert page.status == 200, page.text
    registration = db.session.scalar(db.select(Registration))
    assert (registration.birth_date, registration.entry_date) == (date(1991, 3, 12), date(2015, 9, 1))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"birth_date": "120391"}, "birth_date", SHORT_BIRTH_DATE),
        ({"birth_date": "1203199"}, "birth_date", SHORT_BIRTH_DATE),
        ({"entry_date": "010915"}, "entry_date", SHORT_ENTRY_DATE),
        ({"entry_date": "0109201"}, "entry_date", SHORT_ENTRY_DATE),
        ({"entry_date": "31022015"}, "entry_date", "Saisissez la date d'entrée au format JJ/MM/AAAA"),
    ],
)
def test_registration_dates_short_of_digits_get_the_message_with_an_example(either, overrides, field, message):
    page = register(either, **overrides)
    assert page.status == 422
    assert page.field_error(field).startswith(message)
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_digits_alone_come_back_with_their_slashes(agent):
    """The check page shows the date the server read, as the person reads a date."""
    nir_step(agent, ANNE.nir)
    page = agent.submit(
        REGISTRATION_URL + "/inscription",
        {
            "civility": "Mme",
            "last_name": "Le Goff",
            "first_name": "Anne",
            "birth_date": "12031991",
            "email": "anne.legoff@example.org",
        },
    )
    assert page.status == 200
    page = agent.get(REGISTRATION_URL + "/inscription")
    assert page.soup.find(id="birth_date")["value"] == "12/03/1991"


@pytest.mark.parametrize(
    ("url", "field", "hint"),
    [
        (QUESTIONNAIRE_URL, "birth_date", "Par exemple : 14/03/1985, ou 14031985."),
        ("/inscription", "birth_date", "Par exemple : 14/03/1985, ou 14031985."),
        ("/inscription/etablissement", "entry_date", "Par exemple : 01/09/2020, ou 01092020."),
    ],
)
def test_each_date_is_one_numeric_text_field_whose_hint_says_both_ways(agent, url, field, hint):
    if url != QUESTIONNAIRE_URL:
        nir_step(agent, ANNE.nir)
        url = REGISTRATION_URL + url
    page = agent.get(url)
    control = page.soup.find(id=field)
    assert (control.name, control["type"], control["inputmode"]) == ("input", "text", "numeric")
    assert control.has_attr("data-date-input"), "static/dates.js adds the slashes"
    assert len(page.soup.select(f"[name={field}]")) == 1
    assert page.soup.find(id=f"{field}-hint").get_text(strip=True) == hint
    assert f"{field}-hint" in control["aria-describedby"].split()


def test_a_long_run_of_spaces_is_refused_in_linear_time():
    """Spaces around separators are allowed, so the pattern must not backtrack over a pasted flood of them."""
    from cgos.validators import DATE_SEPARATED

    assert parse_french_date("14" + " " * 100_000 + "03 1985") is None
    assert DATE_SEPARATED.fullmatch("14 03" + " " * 200_000) is None
