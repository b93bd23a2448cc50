"""Back-office forms: staff login and the decision on a request."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, TextAreaField

from ..validators import Required


class StaffLoginForm(FlaskForm):
    """A delegation staff member's mail address and password."""

    email = EmailField("Adresse mail", validators=[Required("Saisissez votre adresse mail.")])
    password = PasswordField("Mot de passe", validators=[Required("Saisissez votre mot de passe.")])


class DecisionForm(FlaskForm):
    """« Demande prise en compte » or « Demande non prise en compte » with its reason."""

    reason = TextAreaField(
        "Motif",
        description="Obligatoire si la demande n'est pas prise en compte : il est envoyé à l'agent.",
    )
