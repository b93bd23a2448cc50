"""Forms of the agent's own space: charter, PIN change, personal data."""

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, TelField
from wtforms.validators import DataRequired, StopValidation

from ..validators import email_address, same_as


class CharterForm(FlaskForm):
    """« Accepter » or « Refuser » the charter (the buttons carry the decision)."""


class NewPinForm(FlaskForm):
    """A new 6-digit personal password, typed twice."""

    new_pin = PasswordField(
        "Nouveau mot de passe",
        validators=[DataRequired("Saisissez votre nouveau mot de passe à 6 chiffres.")],
        description="6 chiffres.",
    )
    confirmation = PasswordField(
        "Confirmation du mot de passe",
        validators=[
            DataRequired("Saisissez de nouveau votre mot de passe pour le confirmer."),
            same_as("new_pin", "Les deux mots de passe saisis ne sont pas identiques."),
        ],
    )
    show = BooleanField("Afficher le mot de passe")


class ChangePinForm(NewPinForm):
    """From the agent's home: the current password first."""

    current_pin = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired("Saisissez votre mot de passe actuel.")],
    )


def phone_number(form, field) -> None:
    """An optional phone number, French by default, kept in international format."""
    value = (field.data or "").strip()
    if not value:
        field.data = None
        return
    try:
        parsed = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise StopValidation(
            "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
        )
    field.data = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class PersonalDataForm(FlaskForm):
    """« Données personnelles »: the personal mail address and three optional phones."""

    email = EmailField(
        "Email personnel",
        validators=[DataRequired("Saisissez votre adresse mail personnelle."), email_address],
        description="Un email sera nécessaire pour vos échanges avec le C.G.O.S.",
    )
    phone_mobile = TelField("Portable", validators=[phone_number])
    phone_home = TelField("Personnel", validators=[phone_number])
    phone_work = TelField("Professionnel", validators=[phone_number])


class EditPersonalDataForm(PersonalDataForm):
    """The same, from home: a new mail address needs the current password (checked by the view)."""

    current_pin = PasswordField(
        "Mot de passe actuel",
        description="Nécessaire seulement pour changer d'adresse mail : votre mot de passe à 6 chiffres.",
    )
