"""Forms of « Mes clés d'accès »: renaming a passkey, confirming its deletion."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .naming import NAME_LENGTH


class RenameForm(FlaskForm):
    """A new name for one passkey, to tell the agent's devices apart."""

    name = StringField(
        "Nom de la clé d'accès",
        filters=[lambda value: " ".join(value.split()) if value else value],
        validators=[
            DataRequired("Saisissez un nom pour cette clé d'accès."),
            Length(max=NAME_LENGTH, message=f"Le nom de la clé d'accès ne doit pas dépasser {NAME_LENGTH} caractères."),
        ],
        description="Par exemple : Mon téléphone.",
    )


class DeleteForm(FlaskForm):
    """« Supprimer la clé d'accès »: the button confirms."""
