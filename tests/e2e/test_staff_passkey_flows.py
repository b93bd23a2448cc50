"""A staff member's passkey in a real browser (issue 23): enrolled after password and code with
Chromium's virtual authenticator, then used as the second factor after the password.

The site is opened as http://localhost:PORT (a browser refuses 127.0.0.1 as RP ID); axe must find
no violation of any impact on the pages this adds, as shown and as a browser without JavaScript
renders them.
"""

import pytest
from conftest import run_axe
from playwright.sync_api import Page, expect

from tests_support.authenticator import SoftAuthenticator
from tests_support.browser import heading
from tests_support.factories import agent_row
from tests_support.passkeys import give_passkey
from tests_support.personas import BRETAGNE_STAFF, SOPHIE
from tests_support.staff import log_in_staff_in_browser

pytestmark = pytest.mark.e2e
js_on_only = pytest.mark.parametrize("js", [True], ids=["js-on"], indirect=True)


@pytest.fixture
def live_server(live_server) -> str:
    """The conftest's live server, as http://localhost:PORT."""
    return live_server.replace("127.0.0.1", "localhost")


@pytest.fixture
def audit_all(axe, html_auditor, layout_check):
    """`audit_all(page)`: no axe violation of any impact, with JavaScript and as its HTML without it."""

    def run(page: Page) -> None:
        """Audit the page as shown, then its HTML with the scripts blocked; and fit for a 390 px phone."""
        page.wait_for_load_state("load")
        layout_check(page)
        for results in (run_axe(page, axe), html_auditor(page)):
            problems = [
                f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in results["violations"]
            ]
            assert not problems, f"axe on {page.url}:\n" + "\n".join(problems)

    return run


@js_on_only
def test_staff_enrol_a_passkey_then_sign_in_with_the_password_and_the_passkey(
    page: Page, authenticator, audit_all, mailbox, live_server, live_app
):
    log_in_staff_in_browser(page)
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
    page.get_by_role("link", name="Mes clés d'accès").click()
    expect(heading(page, "Mes clés d'accès")).to_be_visible()
    audit_all(page)
    page.get_by_role("button", name="Créer une clé d'accès").click()
    expect(page.get_by_text("Votre clé d'accès « Linux — Chrome » est créée")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Linux — Chrome")).to_be_visible()
    audit_all(page)
    credentials = authenticator["cdp"].send("WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]})
    [credential] = credentials["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    assert "une clé d'accès a été ajoutée" in mailbox.wait_for(BRETAGNE_STAFF.email).get_body(("plain",)).get_content()
    for link, title in (
        ("Renommer la clé d'accès « Linux — Chrome »", "Renommer la clé d'accès"),
        ("Supprimer la clé d'accès « Linux — Chrome »", "Supprimer la clé d'accès « Linux — Chrome » ?"),
    ):
        page.get_by_role("link", name=link).click()
        expect(heading(page, title)).to_be_visible()
        audit_all(page)
        page.get_by_role("link", name="Annuler").click()
        expect(heading(page, "Mes clés d'accès")).to_be_visible()

    with live_app.app_context():
        sophie = agent_row(SOPHIE)
        give_passkey(sophie, SoftAuthenticator())
        sophies_page = f"/delegation/agents/{sophie.id}"
    page.goto(sophies_page)
    expect(page.get_by_text("1 clé d'accès enregistrée")).to_be_visible()
    page.get_by_role("button", name="Supprimer les clés d'accès").click()
    expect(heading(page, "Supprimer les clés d'accès : Sophie BERNARD (29088361 J)")).to_be_visible()
    audit_all(page)

    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_label("Adresse mail").fill(BRETAGNE_STAFF.email)
    page.get_by_label("Mot de passe").fill(BRETAGNE_STAFF.password)
    page.get_by_role("button", name="Se connecter").click()
    expect(heading(page, "Confirmez votre connexion")).to_be_visible()
    expect(page.get_by_label("Code de vérification")).to_be_hidden()
    expect(page.get_by_role("link", name="Saisir un code de vérification")).to_be_visible()
    audit_all(page)
    page.get_by_role("button", name="Utiliser ma clé d'accès").click()
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/delegation/demandes")
