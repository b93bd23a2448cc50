"""Fields several forms share, declared once (their labels are part of the contract)."""

from datetime import date

from wtforms import EmailField, FileField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired

from .identifiers import numero as numero_rules
from .validators import birth_date, email_address, numero_cgos, same_as


class RequiredElsewhere:
    """Marks a field required (« * », `aria-required`, `required`) whose presence its view checks, with its own message.

    It sets the flag WTForms' `DataRequired` sets, which the `field` macro reads, and checks
    nothing itself: the view, the chooser or `uploads` does.
    """

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        """Nothing to check here (see the class docstring)."""


class NumeroField(StringField):
    """A numéro C.G.O.S: kept compact once checked, shown as `35127846 S`."""

    def _value(self) -> str:
        """Written back the way the agent reads it."""
        if self.data and numero_rules.is_valid(self.data):
            return numero_rules.format(self.data)
        return super()._value()


class FrenchDateField(StringField):
    """A date typed JJ/MM/AAAA or JJMMAAAA on a digit pad: a `date` once checked, written back JJ/MM/AAAA."""

    def __init__(self, *args, **kwargs):
        # static/dates.js finds the field by `data-date-input` and adds the slashes as digits are typed.
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "data-date-input": True})
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        """Written back as the agent typed it."""
        if isinstance(self.data, date):
            return self.data.strftime("%d/%m/%Y")
        return super()._value()


class FrenchSelectField(SelectField):
    """A list to choose from, with its two French messages: nothing chosen, or a value not in the list."""

    def __init__(self, label: str, what: str, **kwargs):
        super().__init__(
            label,
            validators=[DataRequired(f"Choisissez votre {what}.")],
            invalid_choice_message=f"Choisissez votre {what} dans la liste.",
            **kwargs,
        )

    def __call__(self, **kwargs):
        """The select; HTML's `required` only above an empty first option.

        HTML requires a placeholder (an empty first option) in a required select; a
        list that starts on a real choice, such as « Pays » on « France », always has a
        value, so it is not marked `required` (the server still checks it).
        """
        first = next(iter(self.iter_choices()), None)
        if first is not None and first[0] != "":
            kwargs.setdefault("required", False)
        return super().__call__(**kwargs)


PAYSLIP_LABEL = "Joindre votre dernier bulletin de paie ou de pension"


def numero_field(description: str | None = None) -> StringField:
    """« Numéro C.G.O.S », required and checked (letter included)."""
    return NumeroField(
        "Numéro C.G.O.S",
        validators=[DataRequired("Saisissez votre numéro C.G.O.S (8 chiffres suivis d'une lettre)."), numero_cgos],
        description=description,
    )


def birth_date_field() -> FrenchDateField:
    """« Date de naissance », typed JJ/MM/AAAA or JJMMAAAA."""
    return FrenchDateField(
        "Date de naissance",
        validators=[DataRequired("Saisissez votre date de naissance."), birth_date],
        description="Par exemple : 14/03/1985, ou 14031985.",
    )


def email_pair(name: str, label: str, confirmation_label: str, what: str) -> tuple[EmailField, EmailField]:
    """A mail address (the form's field `name`) and its confirmation, typed in full twice."""
    return (
        EmailField(label, validators=[DataRequired(f"Saisissez votre {what}."), email_address]),
        EmailField(
            confirmation_label,
            validators=[
                DataRequired(f"Saisissez de nouveau votre {what} pour la confirmer."),
                same_as(name, "Les deux adresses mail saisies ne sont pas identiques."),
            ],
        ),
    )


def establishment_choice_fields() -> tuple:
    """« Ville de votre établissement » then « Nom de votre établissement », with the choices made."""
    # A choice is required: `places.chooser.choices` says which is missing.
    return (
        StringField(
            "Ville de votre établissement",
            validators=[RequiredElsewhere()],
            description="Tapez les premières lettres de la ville, puis choisissez-la dans la liste proposée.",
        ),
        HiddenField(),
        StringField(
            "Nom de votre établissement",
            validators=[RequiredElsewhere()],
            description="Tapez quelques lettres du nom, puis choisissez votre établissement dans la liste.",
        ),
        HiddenField(),
    )


def payslip_field() -> FileField:
    """The payslip (required, and checked by content, in `uploads.check_payslip`)."""
    return FileField(
        PAYSLIP_LABEL,
        validators=[RequiredElsewhere()],
        description="PDF, JPEG ou PNG, 5 Mo au plus. Astuce : une application de scanner sur votre téléphone convient.",
    )
