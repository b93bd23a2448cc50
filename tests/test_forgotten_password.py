"""« Mot de passe oublié ? »: identification, mail confirmation, provisional password."""

import re

import pytest

from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import Agent, OutboundMail, SecurityEvent

MARIE = {"numero": "35127846 S", "birth_year": "1985", "birth_month": "3"}
NO_MATCH = (
    "Les informations saisies ne correspondent à aucun agent connu du C.G.O.S. Vérifiez votre "
    "numéro C.G.O.S, votre année et votre mois de naissance."
)


def identify(agent, **fields):
    """Fill the first step."""
    agent.get("/mot-de-passe-oublie")
    return agent.submit("/mot-de-passe-oublie", {**MARIE, **fields})


def test_first_step_as_page_and_fragment(either):
    page = either.get("/mot-de-passe-oublie")
    assert page.status == 200
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    labels = [label.find(string=True, recursive=False).strip() for label in page.main.select("label")]
    assert labels == ["Numéro C.G.O.S", "Année de naissance", "Mois de naissance"]
    months = [o.get_text() for o in page.soup.select("#birth_month option")][1:]
    assert months[0] == "janvier" and months[11] == "décembre"
    assert page.main.find("button", string="Continuer")
    assert page.soup.find(id="birth_year")["autocomplete"] == "bday-year"


@pytest.mark.parametrize(
    "fields",
    [{"birth_year": "1986"}, {"birth_month": "4"}, {"numero": "22904518 R"}],
    ids=["year", "month", "numero"],
)
def test_a_wrong_combination_does_not_say_which_part_is_wrong(either, fields):
    page = identify(either, **fields)
    assert page.status == 422
    assert page.error_summary() == [NO_MATCH]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"birth_year": "85"}, "birth_year", "Saisissez votre année de naissance sur 4 chiffres, par exemple 1985."),
        ({"birth_year": ""}, "birth_year", "Saisissez votre année de naissance sur 4 chiffres."),
        ({"birth_month": ""}, "birth_month", "Choisissez votre mois de naissance."),
        ({"birth_month": "13"}, "birth_month", "Choisissez votre mois de naissance dans la liste."),
        ({"birth_month": " "}, "birth_month", "Choisissez votre mois de naissance."),
        ({"numero": "35127846 T"}, "numero", "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre."),
    ],
)
def test_field_errors_are_beside_their_field(either, fields, field, message):
    page = identify(either, **fields)
    assert page.status == 422
    assert page.field_error(field) == message
    assert message in page.error_summary()
    assert page.title.startswith("Erreur : ")


def test_repeated_tries_on_one_numero_are_limited(make_app, new_agent):
    app = make_app(IDENTIFICATION_RATE_LIMIT="3 per hour")
    with app.app_context():
        agent = new_agent(app)
        for _ in range(3):
            assert identify(agent, birth_year="1990").status == 422
        page = identify(agent)
        assert page.status == 429
        assert "Trop de demandes" in " ".join(page.error_summary())


def test_repeated_tries_from_one_address_are_limited(make_app, new_agent):
    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():
        agent = new_agent(app)
        identify(agent, birth_year="1990")
        identify(agent, numero="22904518 R")
        assert identify(agent).status == 429


def test_the_mail_step_needs_the_first_one(agent):
    response = agent.client.get("/mot-de-passe-oublie/adresse-mail")
    assert response.status_code == 303 and response.headers["Location"].endswith("/mot-de-passe-oublie")


def test_a_wrong_address_is_refused_and_nothing_is_sent(either):
    identify(either)
    page = either.submit("/mot-de-passe-oublie/adresse-mail",
                         {"email": "marie@example.org", "email_confirmation": "marie@example.org"})
    assert page.status == 422
    assert page.field_error("email") == "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


def test_the_confirmation_must_repeat_the_address(either):
    identify(either)
    page = either.submit("/mot-de-passe-oublie/adresse-mail",
                         {"email": "marie.dupont@example.org", "email_confirmation": "marie.dupon@example.org"})
    assert page.field_error("email_confirmation") == "Les deux adresses mail saisies ne sont pas identiques."


def test_the_right_address_sends_a_provisional_password(either):
    page = identify(either)
    assert page.main.find("label", attrs={"for": "email"})
    assert page.main.find("button", string="Confirmer") and page.main.find("a", string="Annuler")
    assert "marie.dupont@example.org" not in page.response.get_data(as_text=True)
    page = either.submit("/mot-de-passe-oublie/adresse-mail",
                         {"email": "Marie.Dupont@example.org", "email_confirmation": "marie.dupont@example.org"})
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    assert "L'envoi de votre mot de passe a été pris en compte." in page.text
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "marie.dupont@example.org"
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", open_mail(mail).text_body, re.M).group(1)
    assert "30 jours" in mail.text_body and "Spams" in mail.text_body
    assert re.search(r"^https?://\S+/$", mail.text_body, re.M), "the login link on a line of its own"
    marie = db.session.scalar(db.select(Agent).where(Agent.numero == "35127846S"))
    assert marie.provisional_pin_hash and pin not in marie.provisional_pin_hash
    kinds = [e.kind for e in db.session.scalars(db.select(SecurityEvent))]
    assert "provisional_password_issued" in kinds


def test_an_agent_without_mail_is_told_to_contact_the_delegation(either):
    page = identify(either, numero="22904518 R", birth_year="1979", birth_month="11")
    assert "votre adresse de messagerie est indispensable pour la finaliser" in page.text
    assert "Délégation régionale Bretagne" in page.text


def test_the_legacy_link_explains_why(either):
    page = either.get("/mot-de-passe-oublie?motif=ancien")
    assert "doit être remplacé par un mot de passe à 6 chiffres" in page.text


def test_the_confirmation_page_is_only_shown_after_a_request(agent):
    page = agent.get("/mot-de-passe-oublie/confirmation")
    assert page.status == 303 and page.response.headers["Location"].endswith("/mot-de-passe-oublie")
