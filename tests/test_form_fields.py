"""The mail address typed twice: the same messages in identification and in the questionnaire."""

import pytest
from werkzeug.datastructures import MultiDict

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
