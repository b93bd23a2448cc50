"""Staff login with its second factor, in a browser: JavaScript on and off, 390 and 1280 px wide, axe clean."""

import re

import pytest
from playwright.sync_api import Page, expect

from cgos.credentials import totp
from cgos.models import utcnow
from tests_support.staff import DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD, add_staff, current_code

pytestmark = pytest.mark.e2e

NEWCOMER = ("nouvelle.recrue@example.org", "Nouvelle-Recrue-2026")


@pytest.fixture(params=[390, 1280], ids=["390px", "1280px"])
def width(request) -> int:
    """The viewport's width: a phone, then a desk screen."""
    return request.param


@pytest.fixture
def context(browser, live_server, js, width):
    """A new browser profile at this width."""
    context = browser.new_context(
        java_script_enabled=js, viewport={"width": width, "height": 844}, base_url=live_server, locale="fr-FR"
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def audit(audit, axe_check, width):
    """The suite's audit at 390 px; at 1280 px axe and no horizontal scroll (the touch sizes are a phone's)."""

    def run(page: Page) -> None:
        """Audit the page as shown."""
        if width == 390:
            audit(page)
            return
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        axe_check(page)

    return run


def heading(page: Page, text):
    """The page's main heading, by its text."""
    return page.get_by_role("heading", level=1, name=text)


def password_step(page: Page, email: str, password: str) -> None:
    """« Adresse mail », « Mot de passe », « Se connecter »."""
    page.goto("/delegation")
    page.get_by_label("Adresse mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_staff_log_in_with_the_code_of_their_authenticator(page, live_server, audit):
    """The password, then « Code de vérification » and « Valider »; a wrong code is an error beside the field."""
    page.goto("/delegation")
    audit(page)
    password_step(page, DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD)
    expect(heading(page, "Code de vérification")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/delegation/verification")
    audit(page)

    page.get_by_label("Code de vérification").fill("000000")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("alert")).to_contain_text("Le code de vérification est incorrect")
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    audit(page)

    page.get_by_label("Code de vérification").fill(current_code())
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(f"{live_server}/delegation/demandes")
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()

    page.get_by_role("link", name="Historique", exact=True).click()
    expect(heading(page, f"Historique de {DEMO_STAFF_EMAIL}")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_contain_text("Connexion")
    audit(page)


def test_a_newcomer_enrols_an_authenticator_at_the_first_login(page, live_app, live_server, audit):
    """The QR code and the key as text, a first code, then the ten recovery codes shown once."""
    with live_app.app_context():
        add_staff(*NEWCOMER, "bretagne", secret=None)
    password_step(page, *NEWCOMER)
    expect(heading(page, "Activer la double authentification")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    audit(page)
    secret = page.locator("code.secret").inner_text().replace(" ", "")

    page.get_by_label("Code de vérification").fill(totp.code_at(secret, utcnow()))
    page.get_by_role("button", name="Valider").click()
    expect(heading(page, "Vos codes de secours")).to_be_visible()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    audit(page)
    page.get_by_role("link", name="Continuer").click()
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
