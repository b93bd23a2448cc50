"""The « Se connecter » form: numéro, then the keypad (or a plain password field)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired

from ..form_fields import NumeroField, RequiredElsewhere
from ..validators import numero_cgos

NUMERO_LABEL = "Entrez votre N° C.G.O.S (avec la lettre)"


class LoginForm(FlaskForm):
    """What the browser sends: the numéro, keypad tokens or the typed password."""

    numero = NumeroField(
        NUMERO_LABEL,
        validators=[DataRequired("Saisissez votre numéro C.G.O.S (8 chiffres suivis d'une lettre)."), numero_cgos],
    )
    layout = HiddenField()
    pressed = HiddenField()
    mode = HiddenField()
    # Typed on the keyboard (« Saisir mon mot de passe au clavier »); the view says when it is missing.
    password = PasswordField("Votre mot de passe à 6 chiffres", validators=[RequiredElsewhere()])
