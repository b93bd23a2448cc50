"""« Demande de n°C.G.O.S »: the NIR, then the registration of the guide (3.1), one form per question page."""

import re
import unicodedata
from datetime import date

from babel import Locale
from flask_wtf import FlaskForm
from stdnum.exceptions import ValidationError
from wtforms import EmailField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, StopValidation

from ..form_fields import (
    FrenchDateField,
    FrenchSelectField,
    birth_date_field,
    establishment_choice_fields,
    payslip_field,
)
from ..identifiers import french_message
from ..identifiers import nir as nir_rules
from ..models import Position, Registration
from ..validators import date_problem, email_address, parse_french_date, person_name

POSITIONS = {
    Position.TITULAIRE: "Titulaire",
    Position.STAGIAIRE: "Stagiaire",
    Position.CONTRACTUEL: "Contractuel",
    Position.APPRENTI: "Apprenti",
    Position.CONTRAT_AIDE: "Contrat aidé",
    Position.RETRAITE: "Retraité",
}


def nir_number(form, field) -> None:
    """A structurally valid NIR; keeps its compact form."""
    try:
        field.data = nir_rules.validate(field.data or "")
    except ValidationError as error:
        raise StopValidation(french_message(error, "nir")) from None


def countries() -> list[SelectChoice]:
    """France first, then every country by its French name."""
    names = Locale("fr").territories
    others = sorted(
        ((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha() and code != "FR"),
        key=lambda item: item[1],
    )
    return [SelectChoice("FR", "France")] + [SelectChoice(code, name) for code, name in others]


# Pasted text brings these: folded into spaces like runs of spaces. Any other character of
# Unicode's « other » category (controls such as ESC, bidirectional overrides and isolates,
# zero-width and other format characters, unassigned code points) is refused: it can hide or
# reorder what staff read, and has no place in an address.
ORDINARY_SPACES = "\t\n\r"
HIDDEN_CHARACTER = (
    "Le champ « {label} » contient un caractère invisible ou de contrôle (par exemple un caractère qui "
    "inverse le sens du texte) : effacez-le ou retapez ce champ sans copier-coller."
)
TOO_LONG = "Le champ « {label} » ne peut pas dépasser {limit} caractères."
POSTAL_CODE = re.compile(r"[0-9A-Za-z]+(?:[ -][0-9A-Za-z]+)*")


def has_hidden_character(value: str) -> bool:
    """Whether a typed value holds a control, format (bidi, zero-width…) or unassigned character."""
    return any(unicodedata.category(character)[0] == "C" and character not in ORDINARY_SPACES for character in value)


def address_line(form, field) -> None:
    """A line of an address: spaces folded, no hidden character, no longer than its column; empty is None."""
    value = field.data or ""
    if has_hidden_character(value):
        raise StopValidation(HIDDEN_CHARACTER.format(label=field.label.text))
    value = unicodedata.normalize("NFC", " ".join(value.split()))
    limit = Registration.__table__.c[field.name].type.length
    if len(value) > limit:
        raise StopValidation(TOO_LONG.format(label=field.label.text, limit=limit))
    field.data = value or None


def postal_code_characters(form, field) -> None:
    """Digits and letters, with spaces or hyphens between (`35000`, `SW1A 2AA`, `00-950`)."""
    if not POSTAL_CODE.fullmatch(field.data):
        raise StopValidation(
            "Le code postal ne peut contenir que des chiffres, des lettres, des espaces et des tirets, "
            "par exemple 35000."
        )


def entry_date(form, field) -> None:
    """A real date, written JJ/MM/AAAA; its checks against today and the birth date come later."""
    parsed = parse_french_date(field.data)
    if parsed is None and (short := date_problem(field.data, date(2020, 9, 1))):
        raise StopValidation(short)
    if parsed is None:
        raise StopValidation("Saisissez la date d'entrée au format JJ/MM/AAAA, par exemple 01/09/2020.")
    field.data = parsed


class NirForm(FlaskForm):
    """The social security number, spaces allowed."""

    nir = StringField(
        "Numéro de sécurité sociale",
        validators=[
            DataRequired("Saisissez votre numéro de sécurité sociale (15 chiffres, clé comprise)."),
            nir_number,
        ],
        description="15 chiffres, clé comprise, par exemple 2 85 03 35 238 123 88.",
    )


class IdentityForm(FlaskForm):
    """Question page « Votre identité »."""

    civility = FrenchSelectField(
        "Civilité",
        "civilité",
        choices=[SelectChoice("", "Choisissez"), SelectChoice("Mme", "Madame"), SelectChoice("M.", "Monsieur")],
    )
    last_name = StringField("Nom", validators=[DataRequired("Saisissez votre nom."), person_name])
    first_name = StringField("Prénom", validators=[DataRequired("Saisissez votre prénom."), person_name])
    birth_date = birth_date_field()
    email = EmailField(
        "Email personnel",
        validators=[DataRequired("Saisissez votre adresse mail personnelle."), email_address],
        description="Votre numéro C.G.O.S vous sera envoyé à cette adresse.",
    )


class AddressForm(FlaskForm):
    """Question page « Votre adresse »."""

    address_flat = StringField("Appart., escalier", validators=[address_line])
    address_building = StringField("Bâtiment, entrée, résidence", validators=[address_line])
    address_street = StringField("N° et voie", validators=[address_line])
    address_locality = StringField("Lieu-dit", validators=[address_line])
    country = FrenchSelectField("Pays", "pays", default="FR")
    # Every country's: France's are then checked against the communes (services.french_city).
    postal_code = StringField(
        "Code postal", validators=[DataRequired("Saisissez votre code postal."), address_line, postal_code_characters]
    )
    city = StringField("Ville", validators=[DataRequired("Saisissez votre ville."), address_line])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = countries()


class EstablishmentForm(FlaskForm):
    """Question page « Votre établissement »."""

    commune_query, commune, establishment_query, establishment = establishment_choice_fields()
    entry_date = FrenchDateField(
        "Date d'entrée dans votre établissement",
        validators=[DataRequired("Saisissez votre date d'entrée dans votre établissement."), entry_date],
        description="Par exemple : 01/09/2020, ou 01092020.",
    )
    position = FrenchSelectField(
        "Votre position statutaire",
        "position statutaire",
        choices=[SelectChoice("", "Choisissez")]
        + [SelectChoice(value.value, label) for value, label in POSITIONS.items()],
    )


class PayslipForm(FlaskForm):
    """Question page « Votre bulletin de paie »: the file is checked in `uploads`."""

    payslip = payslip_field()
