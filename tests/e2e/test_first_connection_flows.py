"""« 1ère connexion », the way into the mail-change questionnaire and the delegation back office, in a real browser.

Every flow runs with JavaScript on and off at 390 px. axe and the layout checks audit every page
the module visits; a page already audited in an earlier test here (the same template in the same
state) is not audited again, to keep the module fast on a busy 2-core machine.
"""

import re
import time

import pytest
from playwright.sync_api import Page, expect
from test_questionnaire_flows import send_questionnaire_for_jean

from tests_support.browser import (
    FIRST_CONNECTION_HEADING,
    assert_error_summary,
    assert_reloaded,
    heading,
    identify_in_browser,
    mark_window,
    type_identity,
)
from tests_support.personas import BRETAGNE_STAFF, JEAN, MARIE, SOPHIE
from tests_support.staff import log_in_staff_in_browser

pytestmark = pytest.mark.e2e

# What Jean types in the questionnaire (test_questionnaire_flows.send_questionnaire_for_jean).
JEANS_ANSWERS = {
    "last_name": "MARTIN",
    "first_name": "Jean",
    "new_email": "jean.martin@example.org",
    "commune": "Saint-Brieuc",
    "establishment": "Centre Hospitalier Yves Le Foll",
}

PDF = b"%PDF-1.4\n%%EOF\n"
NUMERO_LABEL = "Entrez votre N° C.G.O.S (avec la lettre)"
KEYPAD_NAME = "Votre mot de passe à 6 chiffres"
WRONG_ADDRESS = "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
REASON_REQUIRED = "Indiquez le motif : il est envoyé à l'agent."


# --- What an agent or a delegation does ------------------------------------------------


def assert_error_beside(page: Page, field, message: str) -> None:
    """The message is shown next to the field, tied to it by aria-describedby, the field marked invalid."""
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby").split()
    error_ids = [name for name in described if page.locator(f"#{name}").filter(has_text=message).count()]
    assert error_ids, f"« {message} » is not in any element the field describes itself by: {described}"


def mail_field(page: Page):
    """« Adresse mail » (not its confirmation)."""
    return page.get_by_role("textbox", name="Adresse mail", exact=True)


def confirm_address(page: Page, address: str) -> None:
    """Type the address on file twice, « Confirmer »."""
    mail_field(page).fill(address)
    page.get_by_label("Confirmation d'adresse mail").fill(address)
    page.get_by_role("button", name="Confirmer").click()


def log_in(page: Page, numero: str, pin: str, audit=None) -> None:
    """« Se connecter »: numéro, the PIN on the keypad (keys named by their digit), « Valider », the charter."""
    page.goto("/")
    if audit is not None:
        audit(page)
    page.get_by_label(NUMERO_LABEL).fill(numero)
    keypad = page.get_by_role("group", name=KEYPAD_NAME)
    for digit in pin:
        keypad.get_by_role("button", name=digit, exact=True).click()
    expect(keypad.get_by_role("status")).to_have_text("6 chiffres saisis sur 6")
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    if audit is not None:
        audit(page)


# --- 1. Marie gets a provisional password and logs in ---------------------------------------


def test_first_connection_mails_a_provisional_password_that_opens_the_charter(page, js, live_server, mailbox, audit):
    """Marie: numéro and birth month, her masked address typed in full, the mailed PIN logs her in."""
    page.goto("/premiere-connexion")
    expect(heading(page, FIRST_CONNECTION_HEADING)).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="1ère connexion")).to_have_attribute(
        "aria-current", "page"
    )
    audit(page)
    mark_window(page)
    type_identity(page, MARIE)

    expect(page).to_have_url(f"{live_server}/premiere-connexion/adresse-mail")
    expect(heading(page, "Confirmation de votre adresse mail")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Confirmation de votre adresse mail"))
    assert_reloaded(page, not js)  # with JavaScript, htmx swapped #main in place
    if js:
        expect(heading(page, "Confirmation de votre adresse mail")).to_be_focused()
    expect(page.locator(".masked-address")).to_have_text("mar*****@example.org")
    assert MARIE.email not in page.content(), "the full address on file is in the page"
    expect(page.get_by_role("link", name="Demande de modification de mon adresse mail")).to_be_visible()
    expect(page.locator(".steps")).to_have_text("Étape 2 sur 2")
    # « Annuler » and « Retour » come back to the identity step with the numéro typed.
    expect(page.get_by_role("link", name="Annuler")).to_have_attribute("href", "/premiere-connexion?numero=35127846S")
    expect(page.get_by_role("link", name="Retour", exact=True)).to_have_attribute(
        "href", "/premiere-connexion?numero=35127846S"
    )
    audit(page)

    confirm_address(page, MARIE.email)
    expect(heading(page, "Confirmation envoi du mot de passe provisoire")).to_be_visible()
    audit(page)
    provisional = mailbox.provisional_pin(MARIE.email)

    log_in(page, MARIE.numero, provisional, audit)


# --- 2. Sophie already has a password ------------------------------------------------------


def test_agent_with_a_personal_password_gets_validation_impossible(page, js, mailbox, audit):
    """Sophie has personalised her password: « Validation impossible », and no mail."""
    identify_in_browser(page, SOPHIE)
    expect(heading(page, "Validation impossible")).to_be_visible()
    expect(mail_field(page)).to_have_count(0)
    audit(page)
    # The button opens « Mot de passe oublié » with her numéro already typed (issue 22, item 4).
    page.get_by_role("link", name="Mot de passe oublié").click()
    expect(heading(page, "Renvoi du mot de passe")).to_be_visible()
    expect(page.get_by_label("Numéro C.G.O.S")).to_have_value("29088361 J")
    assert mailbox.recipients() == []


# --- 3. Marie types a wrong address three times -------------------------------------------------


def test_three_wrong_addresses_lead_to_the_questionnaire(page, js, mailbox, audit):
    """Two wrong addresses are errors beside the field; the third one offers « Compléter le questionnaire »."""
    identify_in_browser(page, MARIE)
    expect(heading(page, "Confirmation de votre adresse mail")).to_be_visible()

    page.get_by_role("link", name="Demande de modification de mon adresse mail").click()
    expect(heading(page, "Vous avez constaté que votre adresse de messagerie est inexacte")).to_be_visible()
    expect(page.get_by_role("link", name="Compléter le questionnaire")).to_have_attribute(
        "href", "/questionnaire-adresse-mail"
    )
    audit(page)
    page.go_back()
    expect(heading(page, "Confirmation de votre adresse mail")).to_be_visible()

    for attempt in (1, 2):
        confirm_address(page, "marie.durand@example.org")
        assert_error_summary(page, WRONG_ADDRESS)
        assert_error_beside(page, mail_field(page), WRONG_ADDRESS)
        if attempt == 1:
            audit(page)

    confirm_address(page, "marie.durand@example.org")
    expect(heading(page, "Vous avez constaté que votre adresse de messagerie est inexacte")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Après plusieurs tentatives erronées")
    expect(mail_field(page)).to_have_count(0)
    audit(page)

    page.get_by_role("link", name="Compléter le questionnaire").click()
    expect(page).to_have_url(re.compile(r"/questionnaire-adresse-mail$"))
    # Its pages are walked in test_questionnaire_flows.py.
    expect(heading(page, "Votre identité")).to_be_visible()
    expect(page.get_by_role("textbox", name="Numéro C.G.O.S", exact=True)).to_have_value("35127846 S")
    assert mailbox.recipients() == []


# --- 5. The delegation decides; Jean gets his password --------------------------------------------------


def test_delegation_accepts_the_request_and_jean_gets_a_provisional_password(page, js, live_server, mailbox, audit):
    """Staff log in, open Jean's request, download the payslip, need a motif to refuse, accept; Jean goes on."""
    send_questionnaire_for_jean(page, live_server)
    mailbox.wait_for(BRETAGNE_STAFF.email)

    page.goto("/delegation")
    expect(heading(page, "Back office des délégations régionales")).to_be_visible()
    audit(page)
    log_in_staff_in_browser(page)

    expect(page).to_have_url(f"{live_server}/delegation/demandes")
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()
    pending = page.get_by_role("table")
    expect(pending.get_by_role("row")).to_have_count(2)  # the header row and Jean's
    expect(pending.get_by_role("row").nth(1)).to_contain_text("22904518 R")
    audit(page)

    pending.get_by_role("link", name="Jean MARTIN").click()
    expect(heading(page, re.compile(r"^Demande n° \d+ : Jean MARTIN$"))).to_be_visible()
    summary = page.locator("dl.summary")
    for term, value in (
        ("N° C.G.O.S", "22904518 R"),
        ("Date de naissance", "2 novembre 1979"),
        ("Nouvelle adresse mail", JEANS_ANSWERS["new_email"]),
        ("Adresse mail au fichier", "aucune"),
        ("Nom", JEANS_ANSWERS["last_name"]),
        ("Prénom", JEANS_ANSWERS["first_name"]),
        ("Ville de l'établissement", JEANS_ANSWERS["commune"]),
        ("Établissement", JEANS_ANSWERS["establishment"]),
    ):
        expect(
            summary.locator("div")
            .filter(has=page.locator("dt", has_text=re.compile(f"^{re.escape(term)}$")))
            .locator("dd")
        ).to_have_text(value)
    audit(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Télécharger ")).click()
    download = download_info.value
    assert download.suggested_filename == "bulletin.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == PDF
    payslip = page.request.get(page.get_by_role("link", name=re.compile(r"^Télécharger ")).get_attribute("href"))
    assert payslip.status == 200
    assert payslip.headers["content-type"] == "application/pdf"
    assert payslip.headers["content-disposition"].startswith("attachment")

    page.get_by_role("button", name="Demande non prise en compte").click()
    assert_error_summary(page, REASON_REQUIRED)
    assert_error_beside(page, page.get_by_label("Motif"), REASON_REQUIRED)
    audit(page)

    page.get_by_role("button", name="Demande prise en compte").click()
    expect(page).to_have_url(f"{live_server}/delegation/demandes")
    expect(page.get_by_text("La décision est enregistrée et l'agent en est informé par mail.")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.get_by_role("link", name="Jean MARTIN")).to_be_visible()  # now among the decided ones
    audit(page)

    accepted = mailbox.wait_for(JEANS_ANSWERS["new_email"])
    assert "a été prise en compte" in accepted.get_body(preferencelist=("plain",)).get_content()
    first_connection_link = f"{live_server}/premiere-connexion"
    assert first_connection_link in mailbox.links(JEANS_ANSWERS["new_email"])

    # Jean, in his own browser, follows the mail's link.
    jean = page.context.browser.new_context(
        java_script_enabled=js, viewport=page.viewport_size, base_url=live_server, locale="fr-FR"
    )
    try:
        agent_page = jean.new_page()
        # The same pages as Marie's in the first test, audited there.
        identify_in_browser(agent_page, JEAN, url=first_connection_link)
        expect(agent_page.locator(".masked-address")).to_have_text("jea*****@example.org")
        assert JEANS_ANSWERS["new_email"] not in agent_page.content()
        confirm_address(agent_page, JEANS_ANSWERS["new_email"])
        expect(heading(agent_page, "Confirmation envoi du mot de passe provisoire")).to_be_visible()
        # The acceptance mail went to the same address: wait for the provisional password's, sent after it.
        deadline = time.monotonic() + 10
        newest = mailbox.wait_for
        while "Mot de passe provisoire :" not in newest(JEANS_ANSWERS["new_email"]).get_body(("plain",)).get_content():
            assert time.monotonic() < deadline, "no provisional password mailed"
            time.sleep(0.1)
        # Mailed, it opens the space as Marie's does in test_first_connection_mails_a_provisional_password_that_opens_the_charter.
        assert re.fullmatch(r"\d{6}", mailbox.provisional_pin(JEANS_ANSWERS["new_email"]))
    finally:
        jean.close()
