"""The mail-change questionnaire of the guide (1.2.2): every field required, the payslip too."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired

from ..form_fields import birth_date_field, email_pair, establishment_choice_fields, numero_field, payslip_field
from ..validators import person_name


class QuestionnaireForm(FlaskForm):
    """N° C.G.O.S, date de naissance, nouvelle adresse, nom, prénom, établissement, bulletin."""

    numero = numero_field("8 chiffres suivis d'une lettre, par exemple 35127846 S.")
    birth_date = birth_date_field()
    new_email, new_email_confirmation = email_pair(
        "new_email", "Nouvelle adresse mail", "Confirmation de la nouvelle adresse mail", "nouvelle adresse mail"
    )
    last_name = StringField("Nom", validators=[DataRequired("Saisissez votre nom."), person_name])
    first_name = StringField("Prénom", validators=[DataRequired("Saisissez votre prénom."), person_name])
    commune_query, commune, establishment_query, establishment = establishment_choice_fields()
    payslip = payslip_field()
    # A token per questionnaire shown: « Envoyer » sends it once, however many times it is clicked.
    submission = HiddenField()
