"""The mail-change questionnaire on a phone (390 × 844), JavaScript on and off, walked as Jean MARTIN would:
one question page at a time with « Étape N sur 5 », errors in a summary and beside the field, the payslip kept,
« Vérifiez vos réponses » with « Modifier », « Envoyer » once, « Abandonner ma demande » asking first.
On every page axe finds no violation of any impact, and with no error the primary button shows without scrolling."""

import re

import pytest
from playwright.sync_api import Page, expect

from cgos.extensions import db
from cgos.models import MailChangeRequest, OutboundMail
from tests_support.browser import heading, type_identity
from tests_support.personas import BRETAGNE_STAFF, JEAN

pytestmark = pytest.mark.e2e

URL = "/questionnaire-adresse-mail"
JEANS_NEW_EMAIL = "jean.martin@example.org"
YVES_LE_FOLL = "Centre Hospitalier Yves Le Foll"
SAINT_BRIEUC = "22278"
PDF = b"%PDF-1.4\n%%EOF\n"
PAYSLIP_LABEL = "Joindre votre dernier bulletin de paie ou de pension"
CHECK_HEADING = "Vérifiez vos réponses"
SENT_HEADING = "Votre questionnaire a été envoyé"
WRONG_TYPE = "Le fichier joint doit être un PDF, une image JPEG ou PNG."
# Each question page: its path, heading and the fields Jean answers (as the forms post them).
ANSWERS = [
    (
        "",
        "Votre identité",
        {"numero": JEAN.numero, "birth_date": JEAN.birth_date_typed, "last_name": "MARTIN", "first_name": "Jean"},
    ),
    (
        "/adresse",
        "Votre nouvelle adresse mail",
        {"new_email": JEANS_NEW_EMAIL, "new_email_confirmation": JEANS_NEW_EMAIL},
    ),
    ("/etablissement", "Votre établissement", {"commune_query": "Saint-Brieuc", "commune": SAINT_BRIEUC}),
    (
        "/bulletin",
        "Votre bulletin de paie ou de pension",
        {"payslip": {"name": "bulletin.pdf", "mimeType": "application/pdf", "buffer": PDF}},
    ),
]


def textbox(page: Page, label: str):
    """A text field by its exact name (« Nom » is also in « Nom de votre établissement »)."""
    return page.get_by_role("textbox", name=label, exact=True)


def primary_fits(page: Page, name: str) -> None:
    """The page's primary button ends inside the first screen: its page-relative bottom within the viewport."""
    box = page.get_by_role("button", name=name, exact=True).bounding_box()
    bottom = box["y"] + box["height"] + page.evaluate("window.scrollY")
    height = page.viewport_size["height"]
    assert bottom <= height, f"« {name} » ends at {bottom:.0f} px on {page.url}, below the {height} px screen"


def at_step(page: Page, js: bool, step: int, title: str, strict_audit) -> None:
    """A page of the questionnaire as it opens: its heading (focused after an htmx swap), its step, its title,
    « Continuer » (« Envoyer » on the last) without scrolling, and the audit."""
    expect(heading(page, title)).to_be_visible()
    expect(page.locator(".steps")).to_have_text(f"Étape {step} sur 5")
    expect(page).to_have_title(f"{title} (étape {step} sur 5) – Espace Agent C.G.O.S")
    if js:
        expect(heading(page, title)).to_be_focused()
    primary_fits(page, "Envoyer" if step == 5 else "Continuer")
    strict_audit(page)


def continuer(page: Page) -> None:
    """« Continuer »."""
    page.get_by_role("button", name="Continuer", exact=True).click()


def assert_error(page: Page, field, message: str) -> None:
    """GOV.UK error pattern: the summary names the error and takes the focus; the message is beside the field."""
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(message)
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    expect(page.locator(".error-summary:focus-within")).to_have_count(1)
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby").split()
    assert any(page.locator(f"#{ref}").filter(has_text=message).count() for ref in described), described


def choose_yves_le_foll(page: Page, js: bool, strict_audit) -> None:
    """Saint-Brieuc, then its hospital, each chosen from the buttons offered (with JavaScript, as he types)."""
    page.get_by_label("Ville de votre établissement").fill("Saint-Bri")
    if not js:
        page.get_by_role("button", name="Rechercher : Ville de votre établissement").click()
        expect(page.locator("#commune-results").get_by_role("button").first).to_be_focused()
        strict_audit(page)
    page.locator("#commune-results").get_by_role("button", name="Saint-Brieuc (22000)").click()
    expect(page.locator("#commune-chosen")).to_contain_text("Ville choisie : Saint-Brieuc (22000)")
    page.locator("#establishment-results").get_by_role("button", name=YVES_LE_FOLL).click()
    expect(page.locator("#establishment-chosen")).to_contain_text(f"Établissement choisi : {YVES_LE_FOLL}")


def requests_and_mails(live_app) -> tuple[int, int]:
    """How many questionnaires and mails the portal has stored."""
    with live_app.app_context():
        counted = db.session.scalar(db.select(db.func.count(MailChangeRequest.id)))
        mails = db.session.scalar(db.select(db.func.count(OutboundMail.id)))
        db.session.remove()
    return counted, mails


def answer_over_http(page: Page, pages: int = len(ANSWERS)) -> None:
    """Setup only: the first question pages answered as their forms post them (the browser's cookies)."""
    choices = page.request.get(f"/recherche/etablissements?commune={SAINT_BRIEUC}").text()
    chosen = re.search(rf'value="(\d+)"[^>]*>{re.escape(YVES_LE_FOLL)}<', choices).group(1)
    for path, _, fields in ANSWERS[:pages]:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(URL + path).text()).group(1)
        extra = {"establishment": chosen} if path == "/etablissement" else {}
        response = page.request.post(URL + path, multipart={"csrf_token": token, **fields, **extra})
        assert response.ok and "Il y a un problème" not in response.text(), response.text()[:2000]


def send_questionnaire_for_jean(page: Page, live_server: str) -> None:
    """Setup only: Jean's questionnaire answered and sent as its forms post them, without driving the pages."""
    answer_over_http(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(URL + "/verification").text()).group(1)
    response = page.request.post(URL + "/verification", form={"csrf_token": token})
    assert response.url == f"{live_server}{URL}/envoye", response.text()[:2000]


def test_jean_sends_the_questionnaire_page_by_page_once(page, js, live_app, mailbox, tmp_path, strict_audit):
    """From « 1ère connexion » (no mail on file) to « envoyé »: each page, its errors, « Modifier », the payslip
    kept, and a second « Envoyer » (the back button) that sends nothing more."""
    page.goto("/premiere-connexion")
    type_identity(page, JEAN)
    expect(page.get_by_text("votre adresse de messagerie est indispensable pour la finaliser")).to_be_visible()
    strict_audit(page)
    page.get_by_role("link", name="Compléter le questionnaire").click()

    at_step(page, js, 1, "Votre identité", strict_audit)
    # The numéro he typed at « 1ère connexion » is there; nothing else (never data from the file).
    expect(textbox(page, "Numéro C.G.O.S")).to_have_value(re.compile(r"^22904518 ?R$"))
    expect(textbox(page, "Date de naissance")).to_have_value("")
    textbox(page, "Date de naissance").fill("02111979")
    continuer(page)
    assert_error(page, textbox(page, "Nom"), "Saisissez votre nom.")
    expect(page.get_by_role("alert").get_by_role("link", name="Saisissez votre prénom.")).to_have_attribute(
        "href", "#first_name"
    )
    expect(textbox(page, "Date de naissance")).to_have_value("02/11/1979")
    strict_audit(page)
    textbox(page, "Nom").fill("MARTIN")
    textbox(page, "Prénom").fill("Jean")
    continuer(page)

    at_step(page, js, 2, "Votre nouvelle adresse mail", strict_audit)
    textbox(page, "Nouvelle adresse mail").fill(JEANS_NEW_EMAIL)
    textbox(page, "Confirmation de la nouvelle adresse mail").fill("jean.martin@example.com")
    continuer(page)
    confirmation = textbox(page, "Confirmation de la nouvelle adresse mail")
    assert_error(page, confirmation, "Les deux adresses mail saisies ne sont pas identiques.")
    strict_audit(page)
    confirmation.fill(JEANS_NEW_EMAIL)
    continuer(page)

    at_step(page, js, 3, "Votre établissement", strict_audit)
    continuer(page)
    assert_error(page, page.get_by_label("Ville de votre établissement"), "Choisissez la ville de votre établissement")
    strict_audit(page)
    choose_yves_le_foll(page, js, strict_audit)
    strict_audit(page)
    continuer(page)

    at_step(page, js, 4, "Votre bulletin de paie ou de pension", strict_audit)
    payslip = page.get_by_label(PAYSLIP_LABEL)
    text_file = tmp_path / "bulletin-faux.pdf"
    text_file.write_bytes(b"Ceci n'est pas un bulletin.\n")
    payslip.set_input_files(text_file)
    continuer(page)
    assert_error(page, payslip, WRONG_TYPE)
    strict_audit(page)
    pdf = tmp_path / "bulletin.pdf"
    pdf.write_bytes(PDF)
    payslip.set_input_files(pdf)
    continuer(page)

    at_step(page, js, 5, CHECK_HEADING, strict_audit)
    summary = page.locator(".summary-list")
    for text in ("Jean MARTIN", "22904518 R", "2 novembre 1979", JEANS_NEW_EMAIL, YVES_LE_FOLL, "bulletin.pdf"):
        expect(summary).to_contain_text(text)
    # No cancel button beside « Envoyer »: a plain link below it.
    expect(page.locator("form .actions").get_by_role("button")).to_have_text(["Envoyer"])
    envoyer = page.get_by_role("button", name="Envoyer", exact=True).bounding_box()
    assert page.get_by_role("link", name="Abandonner ma demande").bounding_box()["y"] > envoyer["y"] + envoyer["height"]
    assert requests_and_mails(live_app) == (0, 0), "nothing is written before « Envoyer »"

    # « Modifier » the address: back to « Vérifiez vos réponses », the payslip still attached.
    page.get_by_role("link", name="Modifier : Nouvelle adresse mail").click()
    expect(heading(page, "Votre nouvelle adresse mail")).to_be_visible()
    for label in ("Nouvelle adresse mail", "Confirmation de la nouvelle adresse mail"):
        textbox(page, label).fill("jean.martin@example.net")
    continuer(page)
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    expect(summary).to_contain_text("jean.martin@example.net")
    expect(summary).to_contain_text("bulletin.pdf")
    page.get_by_role("link", name="Modifier : Bulletin joint").click()
    expect(page.locator(".kept-file")).to_have_text(re.compile(r"Fichier joint : bulletin\.pdf — Remplacer"))
    primary_fits(page, "Continuer")
    strict_audit(page)
    continuer(page)

    expect(heading(page, CHECK_HEADING)).to_be_visible()
    token = page.locator("form input[name=csrf_token]").get_attribute("value")
    page.get_by_role("button", name="Envoyer", exact=True).click()
    expect(heading(page, SENT_HEADING)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"{URL}/envoye$"))
    strict_audit(page)
    message = mailbox.wait_for(BRETAGNE_STAFF.email)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "N° C.G.O.S : 22904518 R" in text and "Nouvelle adresse mail : jean.martin@example.net" in text
    attachments = list(message.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["bulletin.pdf"] and attachments[0].get_content() == PDF

    # The back button, then « Envoyer » again if the page shows it, then the same POST replayed: nothing more is sent.
    page.go_back()
    envoyer_again = page.get_by_role("button", name="Envoyer", exact=True)
    if envoyer_again.count():
        envoyer_again.click()
    expect(heading(page, SENT_HEADING)).to_be_visible()
    replayed = page.request.post(URL + "/verification", form={"csrf_token": token})
    assert replayed.ok and replayed.url.endswith(f"{URL}/envoye")
    assert requests_and_mails(live_app) == (1, 1)


def test_retour_keeps_the_answers_and_abandoning_asks_once_more(page, js, strict_audit):
    """« Retour » from « Vérifiez vos réponses » finds every answer; « Abandonner ma demande » asks first,
    « Continuer ma demande » keeps the answers, « Oui, abandonner ma demande » throws them away."""
    page.goto(URL)
    answer_over_http(page)
    page.goto(URL + "/verification")
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    retour = page.get_by_role("link", name="Retour", exact=True)
    retour.click()
    expect(heading(page, "Votre bulletin de paie ou de pension")).to_be_visible()
    expect(page.locator(".kept-file")).to_contain_text("bulletin.pdf")
    retour.click()
    expect(heading(page, "Votre établissement")).to_be_visible()
    expect(page.locator("#establishment-chosen")).to_contain_text(f"Établissement choisi : {YVES_LE_FOLL}")
    primary_fits(page, "Continuer")
    strict_audit(page)
    retour.click()
    expect(textbox(page, "Nouvelle adresse mail")).to_have_value(JEANS_NEW_EMAIL)
    retour.click()
    expect(textbox(page, "Nom")).to_have_value("MARTIN")
    expect(textbox(page, "Date de naissance")).to_have_value("02/11/1979")
    for title in ("Votre nouvelle adresse mail", "Votre établissement", "Votre bulletin de paie ou de pension"):
        continuer(page)
        expect(heading(page, title)).to_be_visible()
    continuer(page)
    expect(heading(page, CHECK_HEADING)).to_be_visible()

    page.get_by_role("link", name="Abandonner ma demande").click()
    expect(heading(page, "Voulez-vous vraiment abandonner votre demande ?")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Abandonner votre demande"))
    primary_fits(page, "Oui, abandonner ma demande")
    strict_audit(page)
    page.get_by_role("link", name="Continuer ma demande").click()
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    expect(page.locator(".summary-list")).to_contain_text(YVES_LE_FOLL)

    page.get_by_role("link", name="Abandonner ma demande").click()
    page.get_by_role("button", name="Oui, abandonner ma demande").click()
    notice = page.locator(".notice")
    expect(notice).to_have_text(
        "Votre demande de changement d'adresse mail est abandonnée : vos réponses ont été effacées."
    )
    expect(notice).to_be_focused()
    strict_audit(page)
    page.goto(URL)
    expect(textbox(page, "Nom")).to_have_value("")
