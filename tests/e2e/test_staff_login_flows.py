"""Staff login with its second factor, in a browser: JavaScript on and off, 390 and 1280 px wide, axe clean."""

import re

import pytest
from playwright.sync_api import Page, expect
from wide_screens import audit_page, context, width  # noqa: F401 (fixtures, used by name)

from cgos.backoffice import totp
from cgos.models import utcnow
from tests_support.browser import heading
from tests_support.factories import add_staff
from tests_support.personas import BRETAGNE_STAFF, NEWCOMER_STAFF, StaffPersona
from tests_support.staff import current_code

pytestmark = pytest.mark.e2e


def password_step(page: Page, staff: StaffPersona = BRETAGNE_STAFF) -> None:
    """« Adresse mail », « Mot de passe », « Se connecter »."""
    page.goto("/delegation")
    page.get_by_label("Adresse mail").fill(staff.email)
    page.get_by_label("Mot de passe").fill(staff.password)
    page.get_by_role("button", name="Se connecter").click()


def test_staff_log_in_with_the_code_of_their_authenticator(page, live_server, audit_page):
    """The password, then « Code de vérification » and « Valider »; a wrong code is an error beside the field."""
    page.goto("/delegation")
    audit_page(page)
    password_step(page)
    expect(heading(page, "Code de vérification")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/delegation/verification")
    audit_page(page)

    page.get_by_label("Code de vérification").fill("000000")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("alert")).to_contain_text("Le code de vérification est incorrect")
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    audit_page(page)

    page.get_by_label("Code de vérification").fill(current_code())
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(f"{live_server}/delegation/demandes")
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()

    page.get_by_role("link", name="Historique", exact=True).click()
    expect(heading(page, f"Historique de {BRETAGNE_STAFF.email}")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_contain_text("Connexion")
    audit_page(page)


def test_a_newcomer_enrols_an_authenticator_at_the_first_login(page, live_app, live_server, audit_page):
    """The QR code and the key as text, a first code, then the ten recovery codes shown once."""
    with live_app.app_context():
        add_staff(NEWCOMER_STAFF)
    password_step(page, NEWCOMER_STAFF)
    expect(heading(page, "Activer la double authentification")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    audit_page(page)
    secret = page.locator("code.secret").inner_text().replace(" ", "")

    page.get_by_label("Code de vérification").fill(totp.code_at(secret, utcnow()))
    page.get_by_role("button", name="Valider").click()
    expect(heading(page, "Vos codes de secours")).to_be_visible()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    audit_page(page)
    page.get_by_role("link", name="Continuer").click()
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
