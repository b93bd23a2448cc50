"""The agent's space after the first login, and the pages no other flow visits: JavaScript on and off."""

import re

import pytest
from playwright.sync_api import Page, expect
from test_login_flows import js_on_only, log_in

from tests_support.browser import assert_error_summary, heading
from tests_support.personas import SOPHIE

pytestmark = pytest.mark.e2e


def test_changing_the_pin_and_the_phones_from_home(page: Page, js: bool, audit):
    page.goto("/")
    log_in(page, SOPHIE.numero, SOPHIE.pin, js)
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()
    audit(page)

    page.get_by_role("link", name="Modifier mon mot de passe").click()
    expect(heading(page, "Modifier mon mot de passe")).to_be_visible()
    audit(page)
    page.get_by_label("Mot de passe actuel").fill("000000")
    page.get_by_label("Nouveau mot de passe").fill("590273")
    page.get_by_label("Confirmation du mot de passe").fill("590273")
    page.get_by_role("button", name="Valider").click()
    assert_error_summary(page, "Le mot de passe actuel est incorrect.")
    audit(page)
    page.get_by_label("Mot de passe actuel").fill(SOPHIE.pin)
    page.get_by_label("Nouveau mot de passe").fill("590273")
    page.get_by_label("Confirmation du mot de passe").fill("590273")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Votre mot de passe a été modifié.")).to_be_visible()

    page.get_by_role("link", name="Modifier mes données personnelles").click()
    expect(heading(page, "Données personnelles")).to_be_visible()
    expect(page.get_by_label("Email personnel")).to_have_value("sophie.bernard@example.org")
    audit(page)
    page.get_by_label("Portable").fill("12")
    page.get_by_role("button", name="Valider").click()
    assert_error_summary(page, "Saisissez un numéro de téléphone valide")
    audit(page)
    page.get_by_label("Portable").fill("06 12 34 56 78")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Vos données personnelles sont enregistrées.")).to_be_visible()
    page.get_by_role("link", name="Modifier mes données personnelles").click()
    expect(page.get_by_label("Portable")).to_have_value("06 12 34 56 78")
    # The new PIN opens the space: tests/test_account.py::test_a_password_change_revokes_other_sessions.


@js_on_only
def test_the_printable_charter_and_the_error_pages(page: Page, audit):
    """The charter to print and the pages of broken links: axe clean.

    Without JavaScript: tests/test_account.py::test_the_charter_can_be_printed and the « Lien invalide » pages
    of test_each_mail_change_link_outcome_has_its_status_title_and_heading and
    tests/test_number_request.py::test_each_registration_link_outcome_has_its_status_title_and_heading.
    """
    page.goto("/conditions-generales")
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    expect(page.get_by_role("heading", name="Charte d'utilisation de l'Espace Agent")).to_be_visible()
    audit(page)
    response = page.goto("/espace-agent/adresse-mail/lien-abime")
    assert response.status == 404
    expect(heading(page, "Lien invalide")).to_be_visible()
    audit(page)
    response = page.goto("/demande-numero/confirmer/lien-abime")
    assert response.status == 404
    expect(page).to_have_title(re.compile("Lien invalide"))
    audit(page)


def test_a_new_charter_version_is_accepted_again_at_the_next_login(page: Page, js: bool, audit, monkeypatch):
    """The operator publishes a new charter (another version in CHARTER_PATH): Sophie accepts it at her next login."""
    from cgos import charter

    new = charter.Charter("2027-01", "<h2>Charte d'utilisation de l'Espace Agent</h2><p>Texte officiel 2027.</p>")
    monkeypatch.setattr(charter, "load", lambda path: new)
    page.goto("/")
    log_in(page, SOPHIE.numero, SOPHIE.pin, js)
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    expect(page.get_by_text("La charte d'utilisation a changé")).to_be_visible()
    expect(page.get_by_text("Texte officiel 2027.")).to_be_visible()
    expect(page.locator(".steps")).to_have_count(0)
    audit(page)
    page.get_by_role("button", name="Accepter").click()
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()
    # Accepted once, not asked again at the next login: tests/test_account.py::test_a_new_charter_version_is_accepted_again_at_the_next_login.
