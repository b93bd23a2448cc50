"""The mail-change questionnaire of the guide (1.2.2): every field required, the payslip too."""

from flask_wtf import FlaskForm
from wtforms import EmailField, FileField, HiddenField, StringField

from ..validators import Required, birth_date, email_address, numero_cgos, person_name, same_as

CITY_LABEL = "Ville de votre établissement"
ESTABLISHMENT_LABEL = "Nom de votre établissement"
PAYSLIP_LABEL = "Joindre votre dernier bulletin de paie ou de pension"


class QuestionnaireForm(FlaskForm):
    """N° C.G.O.S, date de naissance, nouvelle adresse, nom, prénom, établissement, bulletin."""

    numero = StringField(
        "Numéro C.G.O.S",
        validators=[Required("Saisissez votre numéro C.G.O.S (8 chiffres suivis d'une lettre)."), numero_cgos],
        description="8 chiffres suivis d'une lettre, par exemple 35127846 S.",
    )
    birth_date = StringField(
        "Date de naissance",
        validators=[Required("Saisissez votre date de naissance."), birth_date],
        description="Au format JJ/MM/AAAA, par exemple 14/03/1985.",
    )
    new_email = EmailField(
        "Nouvelle adresse mail",
        validators=[Required("Saisissez votre nouvelle adresse mail."), email_address],
    )
    new_email_confirmation = EmailField(
        "Confirmation de la nouvelle adresse mail",
        validators=[
            Required("Saisissez de nouveau votre nouvelle adresse mail pour la confirmer."),
            same_as("new_email", "Les deux adresses mail saisies ne sont pas identiques."),
        ],
    )
    last_name = StringField("Nom", validators=[Required("Saisissez votre nom."), person_name])
    first_name = StringField("Prénom", validators=[Required("Saisissez votre prénom."), person_name])
    commune_query = StringField(
        CITY_LABEL,
        description="Tapez les premières lettres de la ville, puis choisissez-la dans la liste proposée.",
    )
    commune = HiddenField()
    establishment_query = StringField(
        ESTABLISHMENT_LABEL,
        description="Tapez quelques lettres du nom, puis choisissez votre établissement dans la liste.",
    )
    establishment = HiddenField()
    payslip = FileField(
        PAYSLIP_LABEL,
        description="PDF, JPEG ou PNG, 5 Mo au plus. Astuce : une application de scanner sur votre téléphone convient.",
    )
