"""« 1ère connexion »: identification, masked address, provisional password, wrong or missing mail."""

import re

import pytest

from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import OutboundMail

MARIE = {"numero": "35127846 S", "birth_year": "1985", "birth_month": "3"}
JEAN = {"numero": "22904518 R", "birth_year": "1979", "birth_month": "11"}
SOPHIE = {"numero": "29088361 J", "birth_year": "1990", "birth_month": "6"}
MAIL_STEP = "/premiere-connexion/adresse-mail"


def identify(agent, person=MARIE, **fields):
    """The first step of « 1ère connexion »."""
    agent.get("/premiere-connexion")
    return agent.submit("/premiere-connexion", {**person, **fields})


def confirm(agent, address, confirmation=None):
    """The mail step."""
    return agent.submit(MAIL_STEP, {"email": address, "email_confirmation": confirmation or address})


def test_the_tab_is_the_identification_form(either):
    page = either.get("/premiere-connexion")
    assert page.status == 200
    assert page.soup.h1.get_text(strip=True) == "Vous n'avez pas encore de mot de passe"
    current = page.soup.select_one("nav#tabs a[aria-current=page]")
    assert current.get_text(strip=True) == "1ère connexion"
    assert page.main.find("button", string="Continuer")


def test_the_address_on_file_is_masked_and_never_shown_whole(either):
    page = identify(either)
    body = page.response.get_data(as_text=True)
    assert page.soup.h1.get_text(strip=True) == "Confirmation de votre adresse mail"
    assert page.soup.select_one(".masked-address").get_text() == "mar*****@e*****"
    assert "marie.dupont@example.org" not in body and "marie.dupont" not in body and "example.org" not in body
    assert page.main.find("button", string="Confirmer")
    assert page.main.find("a", string="Annuler")["href"] == "/premiere-connexion"
    assert page.main.find("a", string="Demande de modification de mon adresse mail")


def test_the_right_address_sends_the_provisional_password(either):
    identify(either)
    page = confirm(either, "marie.dupont@example.org")
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    mail = db.session.scalar(db.select(OutboundMail))
    assert re.search(r"^Mot de passe provisoire : \d{6}$", open_mail(mail).text_body, re.M)
    assert "Merci de surveiller votre messagerie et de vérifier les messages indésirables (Spams)" in mail.text_body


def test_a_reload_keeps_the_wizard_where_it_was(agent):
    identify(agent)
    assert agent.get(MAIL_STEP).soup.select_one(".masked-address")


def test_the_mail_step_needs_the_first_one(agent):
    response = agent.client.get(MAIL_STEP)
    assert response.status_code == 303 and response.headers["Location"].endswith("/premiere-connexion")


@pytest.mark.parametrize("fields", [{"birth_year": "1984"}, {"birth_month": "2"}, {"numero": "29088361 J"}])
def test_a_mismatch_does_not_say_which_part(either, fields):
    page = identify(either, **fields)
    assert page.status == 422
    assert page.error_summary() == [
        "Les informations saisies ne correspondent à aucun agent connu du C.G.O.S. Vérifiez votre "
        "numéro C.G.O.S, votre année et votre mois de naissance."
    ]


def test_identification_is_rate_limited_per_numero(make_app, new_agent):
    app = make_app(IDENTIFICATION_RATE_LIMIT="2 per hour")
    with app.app_context():
        agent = new_agent(app)
        identify(agent, birth_year="1984")
        identify(agent, birth_year="1983")
        assert identify(agent).status == 429


def test_an_agent_with_a_personal_password_is_already_registered(either):
    page = identify(either, SOPHIE)
    assert page.soup.h1.get_text(strip=True) == "Validation impossible"
    assert "Vous êtes déjà inscrit sur l'Espace Agent" in page.text
    assert page.main.find("a", string="Mot de passe oublié")["href"] == "/mot-de-passe-oublie"


def test_three_wrong_addresses_lead_to_the_questionnaire(either):
    identify(either)
    for _ in range(2):
        page = confirm(either, "marie@example.org")
        assert page.field_error("email") == "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
    page = confirm(either, "marie@example.org")
    assert "Vous avez constaté que votre adresse de messagerie est inexacte" in page.text
    assert page.main.find("a", string="ICI")["href"] == "/questionnaire-adresse-mail"
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


def test_the_number_of_wrong_addresses_is_configurable(make_app, new_agent):
    app = make_app(MAIL_CONFIRMATION_LIMIT="1 per day")
    with app.app_context():
        agent = new_agent(app)
        identify(agent)
        assert "ICI" in confirm(agent, "marie@example.org").text


def test_asking_to_change_the_address(either):
    identify(either)
    page = either.get("/adresse-mail-inexacte")
    assert "Vous avez constaté que votre adresse de messagerie est inexacte" in page.text
    assert page.main.find("a", string="ici")["href"] == "/questionnaire-adresse-mail"


def test_no_mail_on_file_leads_to_the_questionnaire(either):
    page = identify(either, JEAN)
    assert "Votre demande de mot de passe ne peut aboutir car votre adresse de messagerie est indispensable pour la finaliser." in page.text
    assert page.main.find("a", string="ici")["href"] == "/questionnaire-adresse-mail"


def test_a_new_agent_can_log_in_with_the_mailed_password(agent, app, new_agent):
    identify(agent)
    confirm(agent, "marie.dupont@example.org")
    mail = db.session.scalar(db.select(OutboundMail))
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", open_mail(mail).text_body, re.M).group(1)
    page = new_agent(app).log_in("35127846 S", pin)
    assert page.soup.h1.get_text(strip=True) == "Conditions générales d'utilisation"
