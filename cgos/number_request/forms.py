"""« Demande de n°C.G.O.S »: the NIR, then the registration of the guide (3.1), one form per question page."""

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
from ..models import Position
from ..validators import email_address, parse_french_date, person_name

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


def optional_text(form, field) -> None:
    """An optional line of an address: trimmed, at most 100 characters."""
    field.data = " ".join((field.data or "").split()) or None
    if field.data and len(field.data) > 100:
        raise StopValidation("Ce champ ne peut pas dépasser 100 caractères.")


def entry_date(form, field) -> None:
    """A real date, written JJ/MM/AAAA; its checks against today and the birth date come later."""
    parsed = parse_french_date(field.data)
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

    address_flat = StringField("Appart., escalier", validators=[optional_text])
    address_building = StringField("Bâtiment, entrée, résidence", validators=[optional_text])
    address_street = StringField("N° et voie", validators=[optional_text])
    address_locality = StringField("Lieu-dit", validators=[optional_text])
    country = FrenchSelectField("Pays", "pays", default="FR")
    postal_code = StringField("Code postal", validators=[DataRequired("Saisissez votre code postal.")])
    city = StringField("Ville", validators=[DataRequired("Saisissez votre ville.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = countries()


class EstablishmentForm(FlaskForm):
    """Question page « Votre établissement »."""

    commune_query, commune, establishment_query, establishment = establishment_choice_fields()
    entry_date = FrenchDateField(
        "Date d'entrée dans votre établissement",
        validators=[DataRequired("Saisissez votre date d'entrée dans votre établissement."), entry_date],
        description="Au format JJ/MM/AAAA.",
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
