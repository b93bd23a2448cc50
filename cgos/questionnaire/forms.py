"""The mail-change questionnaire of the guide (1.2.2): every field required, the payslip too."""

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired

from ..form_fields import birth_date_field, establishment_choice_fields, numero_field, payslip_field
from ..validators import email_address, person_name, same_as


class QuestionnaireForm(FlaskForm):
    """N° C.G.O.S, date de naissance, nouvelle adresse, nom, prénom, établissement, bulletin."""

    numero = numero_field("8 chiffres suivis d'une lettre, par exemple 35127846 S.")
    birth_date = birth_date_field()
    new_email = EmailField(
        "Nouvelle adresse mail",
        validators=[DataRequired("Saisissez votre nouvelle adresse mail."), email_address],
    )
    new_email_confirmation = EmailField(
        "Confirmation de la nouvelle adresse mail",
        validators=[
            DataRequired("Saisissez de nouveau votre nouvelle adresse mail pour la confirmer."),
            same_as("new_email", "Les deux adresses mail saisies ne sont pas identiques."),
        ],
    )
    last_name = StringField("Nom", validators=[DataRequired("Saisissez votre nom."), person_name])
    first_name = StringField("Prénom", validators=[DataRequired("Saisissez votre prénom."), person_name])
    commune_query, commune, establishment_query, establishment = establishment_choice_fields()
    payslip = payslip_field()
