"""« Mot de passe oublié ? »: its heading, the address not shown, the legacy-password notice.

The steps it shares with « 1ère connexion » are tested once for both, in `test_identification.py`.
"""

from tests_support.flows import identify
from tests_support.personas import SOPHIE


def test_the_mail_step_shows_no_part_of_the_address(either):
    page = identify(either, "forgotten_password")
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    assert page.soup.select_one(".masked-address") is None
    assert page.main.find("a", string="Annuler")["href"] == "/mot-de-passe-oublie?numero=35127846S"


def test_an_agent_with_a_personal_password_may_get_a_new_one(either):
    page = identify(either, "forgotten_password", SOPHIE)
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    assert page.soup.find(id="email_confirmation")


def test_the_legacy_link_explains_why(either):
    page = either.get("/mot-de-passe-oublie?motif=ancien")
    assert "doit être remplacé par un mot de passe à 6 chiffres" in page.text


def test_without_the_legacy_link_there_is_no_legacy_notice(either):
    page = either.get("/mot-de-passe-oublie")
    assert "doit être remplacé par un mot de passe à 6 chiffres" not in page.text
    assert "Le renvoi du mot de passe se fait uniquement par mail." in page.text


def test_the_numero_comes_prefilled_from_the_address(either):
    """« Se connecter » links here with the numéro typed (`?numero=`); « Annuler » comes back with it."""
    page = either.get("/mot-de-passe-oublie?numero=35127846 S")
    assert page.soup.find(id="numero")["value"] == "35127846 S"
    assert page.soup.select_one(".steps").get_text(strip=True) == "Étape 1 sur 2"
    assert "(étape 1 sur 2)" in page.title
