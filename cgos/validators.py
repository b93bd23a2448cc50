"""Shared form validators, with French messages that say what to do."""

import re
from datetime import date, datetime

from babel.dates import get_month_names
from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import ValidationError
from wtforms.validators import StopValidation

from .identifiers import french_message
from .identifiers import numero as numero_rules
from .templating import PARIS

# Agents are at least this old: a younger birth date is a typing mistake.
MINIMUM_AGE = 14

# « janvier » … « décembre », in the order of the calendar.
MONTHS = [get_month_names("wide", locale="fr")[month] for month in range(1, 13)]


def numero_cgos(form, field) -> None:
    """A well-formed numéro C.G.O.S with the right letter; keeps its compact form."""
    try:
        field.data = numero_rules.validate(field.data or "")
    except ValidationError as error:
        raise StopValidation(french_message(error, "numero")) from None


def email_address(form, field) -> None:
    """A syntactically valid mail address (no DNS look-up), normalised."""
    try:
        field.data = validate_email(field.data.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise StopValidation("Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr.") from None


def same_as(other_name: str, message: str):
    """The field must repeat another one (confirmation of a mail or a password)."""

    def check(form, field) -> None:
        """Compare with the other field, ignoring case for mail addresses."""
        other = form[other_name].data or ""
        if (field.data or "").strip().lower() != other.strip().lower():
            raise StopValidation(message)

    return check


def parse_french_date(value: str):
    """`14/03/1985`, `14-03-1985` or `1985-03-14` as a date, else None."""
    value = (value or "").strip()
    match = re.fullmatch(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})", value)
    if match:
        day, month, year = (int(part) for part in match.groups())
    else:
        match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
        if not match:
            return None
        year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def paris_today() -> date:
    """Today's date in Paris, where the agents are."""
    return datetime.now(PARIS).date()


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February becomes the 28th in a year without it."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: date, years: int) -> date:
    """The same day `years` later, by the same rule for 29 February."""
    return years_before(day, -years)


def birth_date_problem(born: date, today: date) -> str | None:
    """Why a date of birth cannot be right on `today`, or None."""
    if born.year < 1900 or born > years_before(today, MINIMUM_AGE):
        return "Vérifiez votre date de naissance : elle ne semble pas correcte."
    return None


def birth_date(form, field) -> None:
    """A real date of birth, written JJ/MM/AAAA; keeps the date."""
    parsed = parse_french_date(field.data)
    if parsed is None:
        raise StopValidation("Saisissez votre date de naissance au format JJ/MM/AAAA, par exemple 14/03/1985.")
    problem = birth_date_problem(parsed, paris_today())
    if problem:
        raise StopValidation(problem)
    field.data = parsed


def person_name(form, field) -> None:
    """A name of letters, spaces, hyphens and apostrophes."""
    value = " ".join((field.data or "").split())
    if not re.fullmatch(r"[^\W\d_]+(?:[ '’\-][^\W\d_]+)*", value) or len(value) > 100:
        raise StopValidation(
            f"Le champ « {field.label.text} » ne peut contenir que des lettres, des espaces, des tirets et des apostrophes."
        )
    field.data = value
