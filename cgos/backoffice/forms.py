"""Back-office forms: staff login, its second factor, and the decision on a request."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SearchField, StringField, TextAreaField
from wtforms.validators import DataRequired

from ..form_fields import RequiredElsewhere


class StaffLoginForm(FlaskForm):
    """A delegation staff member's mail address and password."""

    email = EmailField("Adresse mail", validators=[DataRequired("Saisissez votre adresse mail.")])
    password = PasswordField("Mot de passe", validators=[DataRequired("Saisissez votre mot de passe.")])


class SecondFactorForm(FlaskForm):
    """« Code de vérification »: the authenticator's code, or one of the recovery codes."""

    code = StringField(
        "Code de vérification",
        validators=[DataRequired("Saisissez le code de vérification.")],
    )


class DecisionForm(FlaskForm):
    """« Demande prise en compte » or « Demande non prise en compte » with its reason."""

    reason = TextAreaField(
        "Motif",
        description="Obligatoire si la demande n'est pas prise en compte : il est envoyé à l'agent.",
    )


class AgentSearchForm(FlaskForm):
    """« Rechercher un agent »: a numéro C.G.O.S, a name or a mail address (a GET form, no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField("Rechercher un agent", description="N° C.G.O.S, nom et prénom, ou adresse mail.")


class ReasonForm(FlaskForm):
    """The confirmation of an action on an agent's account, with its reason where one is asked."""

    # Shown only where a reason is asked, and then required: the view says when it is missing.
    reason = TextAreaField("Motif", validators=[RequiredElsewhere()], description="Il est envoyé à l'agent.")
