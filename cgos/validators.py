"""Shared form validators, with French messages that say what to do."""

import re
from datetime import date

from babel.dates import get_month_names
from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import ValidationError
from wtforms.validators import StopValidation

from .dates import paris_today, years_before
from .identifiers import french_message
from .identifiers import numero as numero_rules

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


# Between day, month and year: a slash, a dot, a hyphen or spaces (typed, pasted or autofilled).
# Spaces may surround a separator; written so that a long run of spaces costs linear time.
DATE_SEPARATOR = r"(?:\s*[/.\-]\s*|\s+)"
DATE_SEPARATED = re.compile(rf"(\d{{1,2}}){DATE_SEPARATOR}(\d{{1,2}}){DATE_SEPARATOR}(\d{{4}})")
# Digits only, as the iPhone's digit pad types them: JJMMAAAA.
DATE_DIGITS = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_french_date(value: str):
    """`14/03/1985`, `14 03 1985`, `14-03-1985`, `14.03.1985`, `14031985` or `1985-03-14` as a date, else None."""
    value = (value or "").strip()
    if len(value) > 40:
        return None
    if match := DATE_SEPARATED.fullmatch(value) or DATE_DIGITS.fullmatch(value):
        day, month, year = (int(part) for part in match.groups())
    elif match := DATE_ISO.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_too_short(value: str) -> bool:
    """Whether a date was typed as 6 or 7 digits (a two-digit year, a digit left out), separators aside."""
    digits = re.sub(r"[/.\-\s]", "", value or "")
    return bool(re.fullmatch(r"[0-9]{6,7}", digits))


def date_problem(value: str, example: date) -> str | None:
    """The message for a date typed with too few digits, with `example` written both ways, or None."""
    if not date_too_short(value):
        return None
    return (
        "Saisissez la date en entier : 2 chiffres pour le jour, 2 pour le mois et 4 pour l'année, "
        f"par exemple {example:%d/%m/%Y} ou {example:%d%m%Y}."
    )


def birth_date_problem(born: date, today: date) -> str | None:
    """Why a date of birth cannot be right on `today`, or None."""
    if born.year < 1900 or born > years_before(today, MINIMUM_AGE):
        return "Vérifiez votre date de naissance : elle ne semble pas correcte."
    return None


def birth_date(form, field) -> None:
    """A real date of birth, written JJ/MM/AAAA; keeps the date."""
    parsed = parse_french_date(field.data)
    if parsed is None and (short := date_problem(field.data, date(1985, 3, 14))):
        raise StopValidation(short)
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
