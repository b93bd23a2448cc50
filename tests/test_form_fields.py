"""The mail address typed twice: the same messages in identification and in the questionnaire; « * » from the form."""

import pytest
from bs4 import BeautifulSoup
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField
from wtforms.validators import DataRequired

from cgos.form_fields import RequiredElsewhere
from cgos.provisional_password.forms import MailConfirmationForm
from cgos.questionnaire.forms import NewAddressForm

MISMATCH = "Les deux adresses mail saisies ne sont pas identiques."


def errors_for(app, form_class, data):
    """The field errors of `form_class` once validated on `data`, CSRF aside."""
    with app.test_request_context(method="POST"):
        form = form_class(formdata=MultiDict(data), meta={"csrf": False})
        form.validate()
        return form.errors


@pytest.mark.parametrize(
    ("form_class", "first", "second", "data", "expected"),
    [
        (
            MailConfirmationForm,
            "email",
            "email_confirmation",
            ("", ""),
            {
                "email": ["Saisissez votre adresse mail."],
                "email_confirmation": ["Saisissez de nouveau votre adresse mail pour la confirmer."],
            },
        ),
        (
            MailConfirmationForm,
            "email",
            "email_confirmation",
            ("a@example.org", "b@example.org"),
            {"email_confirmation": [MISMATCH]},
        ),
        (MailConfirmationForm, "email", "email_confirmation", ("A@example.org", "a@EXAMPLE.org"), {}),
        (
            NewAddressForm,
            "new_email",
            "new_email_confirmation",
            ("", " "),
            {
                "new_email": ["Saisissez votre nouvelle adresse mail."],
                "new_email_confirmation": ["Saisissez de nouveau votre nouvelle adresse mail pour la confirmer."],
            },
        ),
        (
            NewAddressForm,
            "new_email",
            "new_email_confirmation",
            ("a@example.org", "b@example.org"),
            {"new_email_confirmation": [MISMATCH]},
        ),
        (
            NewAddressForm,
            "new_email",
            "new_email_confirmation",
            ("pas une adresse", "pas une adresse"),
            {"new_email": ["Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr."]},
        ),
    ],
)
def test_the_mail_address_and_its_confirmation_keep_their_messages(app, form_class, first, second, data, expected):
    """Empty, different and well-typed pairs give the messages the pages show."""
    errors = errors_for(app, form_class, {first: data[0], second: data[1]})
    assert {name: errors.get(name) for name in (first, second) if name in errors} == expected


class Declared(Form):
    """A field of each kind of declaration."""

    checked_by_wtforms = StringField("Nom", validators=[DataRequired()])
    checked_by_the_view = StringField("Motif", validators=[RequiredElsewhere()])
    optional = StringField("Lieu-dit")


def rendered_field(app, name: str, arguments: str = "") -> BeautifulSoup:
    """The `field` macro's markup for one field of `Declared`."""
    template = app.jinja_env.from_string(
        '{% from "components/forms.html" import field %}{{ field(form[name]' + arguments + ") }}"
    )
    with app.test_request_context():
        return BeautifulSoup(template.render(form=Declared(), name=name), "html.parser")


@pytest.mark.parametrize(
    ("name", "required"), [("checked_by_wtforms", True), ("checked_by_the_view", True), ("optional", False)]
)
def test_the_field_macro_marks_required_what_the_form_declares(app, name, required):
    """« * », aria-required and required come from the field's flags, not from each page."""
    html = rendered_field(app, name)
    assert bool(html.label.find(class_="required")) is required
    assert html.input.get("aria-required") == ("true" if required else None)
    assert html.input.has_attr("required") is required


def test_a_page_that_knows_better_than_the_form_says_required_false(app):
    """A payslip already kept: the field is not asked again, in any of the three ways."""
    html = rendered_field(app, "checked_by_the_view", ", required=false")
    assert html.label.find(class_="required") is None
    assert not html.input.has_attr("aria-required") and not html.input.has_attr("required")
