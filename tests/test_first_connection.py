"""« 1ère connexion »: its tab, the masked address, and who is already registered.

The steps it shares with « Mot de passe oublié » are tested once for both, in `test_identification.py`.
"""

from cgos.extensions import db
from cgos.models import OutboundMail
from tests_support.flows import identify
from tests_support.personas import SOPHIE

MAIL_STEP = "/premiere-connexion/adresse-mail"


def test_the_tab_is_the_identification_form(either):
    page = either.get("/premiere-connexion")
    assert page.status == 200
    assert page.soup.h1.get_text(strip=True) == "Vous n'avez pas encore de mot de passe"
    current = page.soup.select_one("nav#tabs a[aria-current=page]")
    assert current.get_text(strip=True) == "1ère connexion"
    assert page.main.find("button", string="Continuer")


def test_the_address_on_file_is_masked_and_never_shown_whole(either):
    page = identify(either, "first_connection")
    body = page.response.get_data(as_text=True)
    assert page.soup.h1.get_text(strip=True) == "Confirmation de votre adresse mail"
    assert page.soup.select_one(".masked-address").get_text() == "mar*****@example.org"
    assert "marie.dupont@example.org" not in body and "marie.dupont" not in body
    assert page.main.find("button", string="Confirmer")
    assert page.main.find("a", string="Annuler")["href"] == "/premiere-connexion?numero=35127846S", "keeps the numéro"
    assert page.main.find("a", string="Demande de modification de mon adresse mail")


def test_a_reload_keeps_the_masked_address(agent):
    identify(agent, "first_connection")
    assert agent.get(MAIL_STEP).soup.select_one(".masked-address")


def test_an_agent_with_a_personal_password_is_already_registered(either):
    page = identify(either, "first_connection", SOPHIE)
    assert page.soup.h1.get_text(strip=True) == "Validation impossible"
    assert "Vous êtes déjà inscrit sur l'Espace Agent" in page.text
    button = page.main.find("a", class_="button", string="Mot de passe oublié")
    assert button["href"] == "/mot-de-passe-oublie?numero=29088361+J", "the numéro is carried (issue 22, item 4)"
    assert either.get(button["href"]).soup.find(id="numero")["value"] == "29088361 J"
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


def test_asking_to_change_the_address(either):
    identify(either, "first_connection")
    page = either.get("/adresse-mail-inexacte")
    assert "Vous avez constaté que votre adresse de messagerie est inexacte" in page.text
    assert page.main.find("a", string="Compléter le questionnaire")["href"] == "/questionnaire-adresse-mail"
