"""The identification shared by « 1ère connexion » and « Mot de passe oublié »."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, StopValidation

from ..dates import paris_today
from ..form_fields import FrenchSelectField, email_pair, numero_field
from ..validators import MINIMUM_AGE, MONTHS


def birth_year(form, field) -> None:
    """Four digits, a plausible year of birth."""
    value = (field.data or "").strip()
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise StopValidation("Saisissez votre année de naissance sur 4 chiffres, par exemple 1985.")
    if not 1900 <= int(value) <= paris_today().year - MINIMUM_AGE:
        raise StopValidation("Vérifiez votre année de naissance : elle ne semble pas correcte.")
    field.data = value


class IdentityForm(FlaskForm):
    """Numéro C.G.O.S, birth year and birth month."""

    numero = numero_field("Entrez votre numéro C.G.O.S (avec la lettre), par exemple 35127846 S.")
    birth_year = StringField(
        "Année de naissance",
        validators=[DataRequired("Saisissez votre année de naissance sur 4 chiffres."), birth_year],
        description="Le format attendu est AAAA.",
    )
    birth_month = FrenchSelectField(
        "Mois de naissance",
        "mois de naissance",
        choices=[SelectChoice("", "Choisissez un mois")]
        + [SelectChoice(str(i), name) for i, name in enumerate(MONTHS, start=1)],
    )


class MailConfirmationForm(FlaskForm):
    """The mail address on file, typed in full twice."""

    email, email_confirmation = email_pair("email", "Adresse mail", "Confirmation d'adresse mail", "adresse mail")
