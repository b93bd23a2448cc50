"""The mail-change questionnaire of the guide (1.2.2), one form per question page; every field required."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from ..form_fields import birth_date_field, email_pair, establishment_choice_fields, numero_field
from ..validators import person_name


class IdentityForm(FlaskForm):
    """Question page « Votre identité »: checked for its form only, never against the agents' file."""

    numero = numero_field("8 chiffres suivis d'une lettre, par exemple 35127846 S.")
    birth_date = birth_date_field()
    last_name = StringField("Nom", validators=[DataRequired("Saisissez votre nom."), person_name])
    first_name = StringField("Prénom", validators=[DataRequired("Saisissez votre prénom."), person_name])


class NewAddressForm(FlaskForm):
    """Question page « Votre nouvelle adresse mail », typed twice."""

    new_email, new_email_confirmation = email_pair(
        "new_email", "Nouvelle adresse mail", "Confirmation de la nouvelle adresse mail", "nouvelle adresse mail"
    )


class EstablishmentForm(FlaskForm):
    """Question page « Votre établissement »: its city, then the establishment."""

    commune_query, commune, establishment_query, establishment = establishment_choice_fields()
