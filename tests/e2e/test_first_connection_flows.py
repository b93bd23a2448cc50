"""« 1ère connexion », the mail-change questionnaire and the delegation back office, in a real browser.

Every flow runs with JavaScript on and off at 390 px. axe and the layout checks audit every page
the module visits; a page already audited in an earlier test here (the same template in the same
state) is not audited again, to keep the module fast on a busy 2-core machine.
"""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests_support.staff import log_in_staff_in_browser

pytestmark = pytest.mark.e2e

MARIE = {"numero": "35127846 S", "year": "1985", "month": "mars", "email": "marie.dupont@example.org"}
SOPHIE = {"numero": "29088361 J", "year": "1990", "month": "juin"}
JEAN = {
    "numero": "22904518 R",
    "year": "1979",
    "month": "novembre",
    "birth_date": "02/11/1979",
    "last_name": "MARTIN",
    "first_name": "Jean",
    "new_email": "jean.martin@example.org",
    "commune_query": "Saint-",
    "commune": "Saint-Brieuc",
    "commune_choice": "Saint-Brieuc (22000)",
    "commune_insee": "22278",
    "establishment": "Centre Hospitalier Yves Le Foll",
}
DELEGATION_MAIL = "delegation.bretagne@example.org"

PDF = b"%PDF-1.4\n%%EOF\n"
PAYSLIP_LABEL = "Joindre votre dernier bulletin de paie ou de pension"
COMMUNE_LABEL = "Ville de votre établissement"
ESTABLISHMENT_LABEL = "Nom de votre établissement"
NUMERO_LABEL = "Entrez votre N° C.G.O.S (avec la lettre)"
KEYPAD_NAME = "Votre mot de passe à 6 chiffres"
IDENTIFY_HEADING = "Vous n'avez pas encore de mot de passe"
QUESTIONNAIRE_HEADING = "Questionnaire de changement d'adresse mail"
WRONG_ADDRESS = "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
WRONG_TYPE = "Le fichier joint doit être un PDF, une image JPEG ou PNG."
REASON_REQUIRED = "Indiquez le motif : il est envoyé à l'agent."


# --- What an agent or a delegation does ------------------------------------------------


def heading(page: Page, text):
    """The page's main heading, by its text."""
    return page.get_by_role("heading", level=1, name=text)


def mark_window(page: Page) -> None:
    """Leave a marker on `window`: it survives as long as no full page load happens."""
    page.evaluate("window.__e2eMarker = 'still here'")


def assert_reloaded(page: Page, reloaded: bool) -> None:
    """Whether a full page load happened since `mark_window` (Playwright evaluates even with JS off)."""
    kept = page.evaluate("window.__e2eMarker") == "still here"
    assert kept is not reloaded, "a full page load happened" if not reloaded else "no full page load happened"


def assert_error_summary(page: Page, message: str) -> None:
    """GOV.UK error pattern: summary with the message, title prefixed, focus in the summary."""
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    expect(page.locator(".error-summary:focus-within")).to_have_count(1)


def assert_error_beside(page: Page, field, message: str) -> None:
    """The message is shown next to the field, tied to it by aria-describedby, the field marked invalid."""
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby").split()
    error_ids = [name for name in described if page.locator(f"#{name}").filter(has_text=message).count()]
    assert error_ids, f"« {message} » is not in any element the field describes itself by: {described}"


def identify(page: Page, agent: dict, audit=None, url: str = "/premiere-connexion") -> None:
    """« 1ère connexion »: numéro, birth year and month, « Continuer » (the page audited if asked)."""
    page.goto(url)
    expect(heading(page, IDENTIFY_HEADING)).to_be_visible()
    if audit is not None:
        audit(page)
    page.get_by_label("Numéro C.G.O.S").fill(agent["numero"])
    page.get_by_label("Année de naissance").fill(agent["year"])
    page.get_by_label("Mois de naissance").select_option(label=agent["month"])
    page.get_by_role("button", name="Continuer").click()


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


def payslip_file(tmp_path, name: str = "bulletin.pdf", content: bytes = PDF):
    """A small file to attach, written to disk as an agent's phone would have it."""
    path = tmp_path / name
    path.write_bytes(content)
    return path


def questionnaire_field(page: Page, label: str):
    """A questionnaire text field by its exact name (« Nom » is also in « Nom de votre établissement »)."""
    return page.get_by_role("textbox", name=label, exact=True)


def fill_identity(page: Page) -> None:
    """Jean's numéro, birth date, new address, name."""
    questionnaire_field(page, "Numéro C.G.O.S").fill(JEAN["numero"])
    questionnaire_field(page, "Date de naissance").fill(JEAN["birth_date"])
    questionnaire_field(page, "Nouvelle adresse mail").fill(JEAN["new_email"])
    questionnaire_field(page, "Confirmation de la nouvelle adresse mail").fill(JEAN["new_email"])
    questionnaire_field(page, "Nom").fill(JEAN["last_name"])
    questionnaire_field(page, "Prénom").fill(JEAN["first_name"])


def commune_results(page: Page):
    """The live region that receives the communes found."""
    return page.locator("#commune-results")


def establishment_results(page: Page):
    """The live region that receives the establishments of the chosen commune."""
    return page.locator("#establishment-results")


def choose_establishment(page: Page, js: bool, audit) -> None:
    """« Ville de votre établissement » then « Nom de votre établissement », as the agent's browser allows."""
    expect(commune_results(page)).to_have_attribute("aria-live", "polite")
    expect(establishment_results(page)).to_have_attribute("aria-live", "polite")
    if js:
        mark_window(page)
        # Typed key by key, as a person does: each key press is an `input` event for htmx.
        questionnaire_field(page, COMMUNE_LABEL).press_sequentially(JEAN["commune_query"], delay=20)
    else:
        questionnaire_field(page, COMMUNE_LABEL).fill(JEAN["commune_query"])
        page.get_by_role("button", name=f"Rechercher : {COMMUNE_LABEL}").click()
        expect(heading(page, QUESTIONNAIRE_HEADING)).to_be_visible()
        # The search re-rendered the page: what was typed before is still there.
        expect(questionnaire_field(page, "Numéro C.G.O.S")).to_have_value(JEAN["numero"])
        expect(questionnaire_field(page, "Prénom")).to_have_value(JEAN["first_name"])
    commune = commune_results(page).get_by_role("radio", name=JEAN["commune_choice"], exact=True)
    expect(commune).to_be_visible()
    assert commune_results(page).get_by_role("radio").count() > 1, "no choice of communes was offered"
    expect(commune).not_to_be_checked()
    commune.check()
    if not js:
        page.get_by_role("button", name=f"Rechercher : {ESTABLISHMENT_LABEL}").click()
        expect(heading(page, QUESTIONNAIRE_HEADING)).to_be_visible()
        expect(commune_results(page).get_by_role("radio", name=JEAN["commune_choice"], exact=True)).to_be_checked()
        audit(page)
    establishment = establishment_results(page).get_by_role("radio", name=JEAN["establishment"])
    expect(establishment).to_be_checked()  # the only one of Saint-Brieuc: chosen for the agent
    if js:
        assert_reloaded(page, False)
        audit(page)


def expect_jean_kept(page: Page) -> None:
    """After a refused submission, every field but the file keeps what Jean typed or chose."""
    for label, value in (
        ("Numéro C.G.O.S", re.compile(r"^22904518 ?R$")),  # kept, possibly in its compact form
        # The same date; that it comes back as typed (JJ/MM/AAAA) is test_birth_date_comes_back_as_typed_after_an_error.
        ("Date de naissance", re.compile(r"^(02/11/1979|1979-11-02)$")),
        ("Nouvelle adresse mail", JEAN["new_email"]),
        ("Confirmation de la nouvelle adresse mail", JEAN["new_email"]),
        ("Nom", JEAN["last_name"]),
        ("Prénom", JEAN["first_name"]),
        (COMMUNE_LABEL, JEAN["commune_query"]),
    ):
        expect(questionnaire_field(page, label)).to_have_value(value)
    expect(commune_results(page).get_by_role("radio", name=JEAN["commune_choice"], exact=True)).to_be_checked()
    expect(establishment_results(page).get_by_role("radio", name=JEAN["establishment"])).to_be_checked()


def send_questionnaire_for_jean(page: Page, live_server: str) -> None:
    """Setup only: Jean's questionnaire posted as the form would post it, without driving the page."""
    form_page = page.request.get("/questionnaire-adresse-mail")
    assert form_page.ok
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page.text()).group(1)
    choices = page.request.get(f"/recherche/etablissements?commune={JEAN['commune_insee']}").text()
    establishment = re.search(r'name="establishment"[^>]*value="(\d+)"', choices).group(1)
    response = page.request.post(
        "/questionnaire-adresse-mail",
        multipart={
            "csrf_token": token,
            "numero": JEAN["numero"],
            "birth_date": JEAN["birth_date"],
            "new_email": JEAN["new_email"],
            "new_email_confirmation": JEAN["new_email"],
            "last_name": JEAN["last_name"],
            "first_name": JEAN["first_name"],
            "commune_query": JEAN["commune"],
            "commune": JEAN["commune_insee"],
            "establishment_query": "",
            "establishment": establishment,
            "payslip": {"name": "bulletin.pdf", "mimeType": "application/pdf", "buffer": PDF},
        },
    )
    assert response.url == f"{live_server}/questionnaire-adresse-mail/envoye", response.text()[:2000]


# --- 1. Marie gets a provisional password and logs in ---------------------------------------


def test_first_connection_mails_a_provisional_password_that_opens_the_charter(page, js, live_server, mailbox, audit):
    """Marie: numéro and birth month, her masked address typed in full, the mailed PIN logs her in."""
    page.goto("/premiere-connexion")
    expect(heading(page, IDENTIFY_HEADING)).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="1ère connexion")).to_have_attribute(
        "aria-current", "page"
    )
    audit(page)
    mark_window(page)
    page.get_by_label("Numéro C.G.O.S").fill(MARIE["numero"])
    page.get_by_label("Année de naissance").fill(MARIE["year"])
    page.get_by_label("Mois de naissance").select_option(label=MARIE["month"])
    page.get_by_role("button", name="Continuer").click()

    expect(page).to_have_url(f"{live_server}/premiere-connexion/adresse-mail")
    expect(heading(page, "Confirmation de votre adresse mail")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Confirmation de votre adresse mail"))
    assert_reloaded(page, not js)  # with JavaScript, htmx swapped #main in place
    if js:
        expect(heading(page, "Confirmation de votre adresse mail")).to_be_focused()
    expect(page.locator(".masked-address")).to_have_text("mar*****@example.org")
    assert MARIE["email"] not in page.content(), "the full address on file is in the page"
    expect(page.get_by_role("link", name="Demande de modification de mon adresse mail")).to_be_visible()
    expect(page.locator(".steps")).to_have_text("Étape 2 sur 2")
    # « Annuler » and « Retour » come back to the identity step with the numéro typed.
    expect(page.get_by_role("link", name="Annuler")).to_have_attribute("href", "/premiere-connexion?numero=35127846S")
    expect(page.get_by_role("link", name="Retour", exact=True)).to_have_attribute(
        "href", "/premiere-connexion?numero=35127846S"
    )
    audit(page)

    confirm_address(page, MARIE["email"])
    expect(heading(page, "Confirmation envoi du mot de passe provisoire")).to_be_visible()
    audit(page)
    provisional = mailbox.provisional_pin(MARIE["email"])

    log_in(page, MARIE["numero"], provisional, audit)


# --- 2. Sophie already has a password ------------------------------------------------------


def test_agent_with_a_personal_password_gets_validation_impossible(page, js, mailbox, audit):
    """Sophie has personalised her password: « Validation impossible », and no mail."""
    identify(page, SOPHIE)
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
    identify(page, MARIE)
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
    expect(heading(page, QUESTIONNAIRE_HEADING)).to_be_visible()
    expect(questionnaire_field(page, "Nouvelle adresse mail")).to_be_visible()
    audit(page)
    assert mailbox.recipients() == []


# --- 4. Jean has no address: the questionnaire ------------------------------------------------------


def test_agent_without_mail_sends_the_questionnaire_with_a_payslip(page, js, mailbox, tmp_path, audit):
    """Jean: told his address is needed, fills the questionnaire (autocomplete), a refused file, then a PDF."""
    identify(page, JEAN)
    expect(page.get_by_text("votre adresse de messagerie est indispensable pour la finaliser")).to_be_visible()
    expect(mail_field(page)).to_have_count(0)
    audit(page)

    page.get_by_role("link", name="Compléter le questionnaire").click()
    expect(heading(page, QUESTIONNAIRE_HEADING)).to_be_visible()
    # The numéro he typed at « 1ère connexion » comes pre-filled.
    expect(questionnaire_field(page, "Numéro C.G.O.S")).to_have_value(re.compile(r"^22904518 ?R$"))
    audit(page)

    # Sent with only the numéro: every other field is required, each listed in the summary with a link to it.
    page.get_by_role("button", name="Envoyer").click()
    assert_error_summary(page, "Saisissez votre date de naissance.")
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("link", name="Joignez votre dernier bulletin de paie ou de pension.")).to_have_attribute(
        "href", "#payslip"
    )
    expect(summary.get_by_role("link", name=re.compile("ville de votre établissement"))).to_be_visible()
    assert_error_beside(page, questionnaire_field(page, "Nom"), "Saisissez votre nom.")
    audit(page)

    fill_identity(page)
    choose_establishment(page, js, audit)

    # A text file renamed .pdf: refused by its content, beside the field; nothing else is lost.
    payslip = page.get_by_label(PAYSLIP_LABEL)
    payslip.set_input_files(payslip_file(tmp_path, "bulletin-faux.pdf", b"Ceci n'est pas un bulletin.\n"))
    page.get_by_role("button", name="Envoyer").click()
    assert_error_summary(page, WRONG_TYPE)
    assert_error_beside(page, payslip, WRONG_TYPE)
    expect_jean_kept(page)
    audit(page)
    assert mailbox.recipients() == []

    payslip.set_input_files(payslip_file(tmp_path))
    page.get_by_role("button", name="Envoyer").click()
    expect(heading(page, "Votre questionnaire a été envoyé")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/questionnaire-adresse-mail/envoye$"))
    audit(page)

    message = mailbox.wait_for(DELEGATION_MAIL)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "N° C.G.O.S : 22904518 R" in text
    assert f"Nouvelle adresse mail : {JEAN['new_email']}" in text
    assert f"Nom de l'établissement employeur : {JEAN['establishment']}" in text
    attachments = list(message.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["bulletin.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == PDF


def test_birth_date_comes_back_as_typed_after_an_error(page, js):
    """A refused questionnaire shows « Date de naissance » as the agent typed it, JJ/MM/AAAA as the hint asks."""
    page.goto("/questionnaire-adresse-mail")
    questionnaire_field(page, "Date de naissance").fill(JEAN["birth_date"])
    page.get_by_role("button", name="Envoyer").click()
    # The page of errors is audited in test_agent_without_mail_sends_the_questionnaire_with_a_payslip.
    assert_error_summary(page, "Saisissez votre numéro C.G.O.S")
    expect(questionnaire_field(page, "Date de naissance")).to_have_value(JEAN["birth_date"], timeout=1000)


# --- 5. The delegation decides; Jean gets his password --------------------------------------------------


def test_delegation_accepts_the_request_and_jean_gets_a_provisional_password(page, js, live_server, mailbox, audit):
    """Staff log in, open Jean's request, download the payslip, need a motif to refuse, accept; Jean goes on."""
    send_questionnaire_for_jean(page, live_server)
    mailbox.wait_for(DELEGATION_MAIL)

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
        ("Nouvelle adresse mail", JEAN["new_email"]),
        ("Adresse mail au fichier", "aucune"),
        ("Nom", JEAN["last_name"]),
        ("Prénom", JEAN["first_name"]),
        ("Ville de l'établissement", JEAN["commune"]),
        ("Établissement", JEAN["establishment"]),
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

    accepted = mailbox.wait_for(JEAN["new_email"])
    assert "a été prise en compte" in accepted.get_body(preferencelist=("plain",)).get_content()
    first_connection_link = f"{live_server}/premiere-connexion"
    assert first_connection_link in mailbox.links(JEAN["new_email"])

    # Jean, in his own browser, follows the mail's link.
    jean = page.context.browser.new_context(
        java_script_enabled=js, viewport=page.viewport_size, base_url=live_server, locale="fr-FR"
    )
    try:
        agent_page = jean.new_page()
        # The same pages as Marie's in the first test, audited there.
        identify(agent_page, JEAN, url=first_connection_link)
        expect(agent_page.locator(".masked-address")).to_have_text("jea*****@example.org")
        assert JEAN["new_email"] not in agent_page.content()
        confirm_address(agent_page, JEAN["new_email"])
        expect(heading(agent_page, "Confirmation envoi du mot de passe provisoire")).to_be_visible()
        # The acceptance mail went to the same address: wait for the provisional password's, sent after it.
        deadline = time.monotonic() + 10
        newest = mailbox.wait_for
        while "Mot de passe provisoire :" not in newest(JEAN["new_email"]).get_body(("plain",)).get_content():
            assert time.monotonic() < deadline, "no provisional password mailed"
            time.sleep(0.1)
        # Mailed, it opens the space as Marie's does in test_first_connection_mails_a_provisional_password_that_opens_the_charter.
        assert re.fullmatch(r"\d{6}", mailbox.provisional_pin(JEAN["new_email"]))
    finally:
        jean.close()


def test_the_payslip_attached_first_is_kept_across_searches_and_errors(page, js, mailbox, tmp_path, audit):
    """Attached before anything else: kept (« bulletin.pdf — Remplacer ») through « Rechercher » and an error."""
    identify(page, JEAN)
    page.get_by_role("link", name="Compléter le questionnaire").click()
    expect(heading(page, QUESTIONNAIRE_HEADING)).to_be_visible()
    # The numéro Jean typed at « 1ère connexion » is already there; his birth date is not (never from the file).
    expect(questionnaire_field(page, "Numéro C.G.O.S")).to_have_value(re.compile(r"^22904518 ?R$"))
    expect(questionnaire_field(page, "Date de naissance")).to_have_value("")
    page.get_by_label(PAYSLIP_LABEL).set_input_files(payslip_file(tmp_path))
    fill_identity(page)
    questionnaire_field(page, "Nom").fill("")
    choose_establishment(page, js, audit)
    page.get_by_role("button", name="Envoyer").click()
    assert_error_summary(page, "Saisissez votre nom.")
    expect(page.locator(".kept-file")).to_have_text(re.compile(r"bulletin\.pdf — Remplacer"))
    expect(page.get_by_role("alert")).not_to_contain_text("bulletin de paie")
    audit(page)
    questionnaire_field(page, "Nom").fill(JEAN["last_name"])
    page.get_by_role("button", name="Envoyer").click()
    expect(heading(page, "Votre questionnaire a été envoyé")).to_be_visible()
    expect(page.locator(".panel--success")).to_be_visible()
    attachments = list(mailbox.wait_for(DELEGATION_MAIL).iter_attachments())
    assert [part.get_filename() for part in attachments] == ["bulletin.pdf"]
    assert attachments[0].get_content() == PDF
