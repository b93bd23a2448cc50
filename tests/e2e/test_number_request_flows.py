"""« Demande de n°C.G.O.S » in a real browser, as an agent on a phone: JavaScript on and off, axe on every page."""

import re
import time

import pytest
from playwright.sync_api import Page, expect
from stdnum.fr import nir as stdnum_nir

from tests_support.browser import heading
from tests_support.factories import verify_registrations_of
from tests_support.personas import ANNE, JEAN, MARIE, spaced_nir
from tests_support.staff import log_in_staff_in_browser

pytestmark = pytest.mark.e2e

NIR_LABEL = "Numéro de sécurité sociale"
START_HEADING = "Vous n'avez pas encore de numéro C.G.O.S"
IDENTITY_HEADING = "Votre identité"
ESTABLISHMENT_HEADING = "Votre établissement"
CHECK_HEADING = "Vérifiez vos réponses"
LOGIN_HEADING = "Accès à l'Espace Agent avec votre mot de passe"
KEYPAD_NAME = "Votre mot de passe à 6 chiffres"
CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

WRONG_KEY = "La clé ne correspond pas au numéro de sécurité sociale"
WRONG_SEX = "Le premier chiffre du numéro de sécurité sociale doit être 1 ou 2."
WRONG_LENGTH = "Le numéro de sécurité sociale comporte 15 chiffres"

NEWCOMER = {
    "last_name": "Le Goff",
    "first_name": "Camille",
    "birth_date": "21/03/1991",
    "email": "camille.legoff@example.net",
    "street": "2 rue Henri Le Guilloux",
    "postal_code": "35000",
    "city": "Rennes",
    "commune": "Rennes",
    "establishment": "Centre Hospitalier Universitaire de Rennes",
    "entry_date": "01/09/2015",
    "position": "Titulaire",
    "year": "1991",
    "month": "mars",
}
RENNES_INSEE = "35238"
CIVILITY_MISMATCH = "La civilité ne correspond pas au numéro de sécurité sociale"
PDF = b"%PDF-1.4\n%%EOF\n"
# The next step after registering, said on the sent page, the numéro page and the numéro mail.
CHECK_NOTICE = "Votre délégation vérifie votre inscription. Vous recevrez un mail : vous pourrez alors demander"


# --- What an agent sees and does ---------------------------------------------------


def tab(page: Page, name: str):
    """One of the three public tabs."""
    return page.get_by_role("navigation").get_by_role("link", name=name, exact=True)


def open_number_request(page: Page, audit, from_tabs: bool = False) -> None:
    """The « Demande de n°C.G.O.S » tab, opened from « Se connecter » or by its address."""
    if from_tabs:
        page.goto("/")
        tab(page, "Demande de n°C.G.O.S").click()
    else:
        page.goto("/demande-numero")
    expect(heading(page, START_HEADING)).to_be_visible()
    expect(tab(page, "Demande de n°C.G.O.S")).to_have_attribute("aria-current", "page")
    audit(page)


def submit_nir(page: Page, nir: str) -> None:
    """Type the NIR (spaces allowed) and « Continuer »."""
    page.get_by_label(NIR_LABEL).fill(nir)
    page.get_by_role("button", name="Continuer").click()


def assert_field_error(page: Page, field, message: str) -> None:
    """GOV.UK error pattern: the message beside the field (aria-describedby) and in the focused summary."""
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(message)
    expect(page.locator(".error-summary:focus-within")).to_have_count(1)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    field_id = field.get_attribute("id")
    expect(summary.get_by_role("link", name=re.compile(re.escape(message)))).to_have_attribute("href", f"#{field_id}")
    expect(page.locator(f"#{field_id}-error")).to_be_visible()
    expect(page.locator(f"#{field_id}-error")).to_contain_text(message)


def mail_texts(message) -> str:
    """Every text part of a mail (plain and HTML), decoded."""
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")


def plain_text(message) -> str:
    """The plain-text part every mail carries."""
    return message.get_body(preferencelist=("plain",)).get_content()


def wait_for_mail(mailbox, address: str, needle: str, timeout: float = 10):
    """The newest mail to `address` whose text part contains `needle`, waiting for it."""
    deadline = time.monotonic() + timeout
    while True:
        message = mailbox.wait_for(address, timeout=max(deadline - time.monotonic(), 0.1))
        if needle in plain_text(message):
            return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} containing {needle!r}; newest:\n{plain_text(message)}")
        time.sleep(0.1)


def assert_no_nir(text: str, nir: str) -> None:
    """The NIR appears in no usual spelling."""
    for spelling in (nir, spaced_nir(nir)):
        assert spelling not in text, f"the NIR {spelling} is in:\n{text}"


def numero_line(text: str) -> str:
    """The numéro after `Numéro C.G.O.S :` (on its line in a mail, on the next line in the page's large type),
    its check letter verified."""
    found = re.search(r"^Numéro C\.G\.O\.S :\s+(\d{8}) ([A-Z])\s*$", text, re.MULTILINE)
    assert found, f"no numéro line in:\n{text}"
    digits, letter = found.groups()
    assert letter == CHECK_LETTERS[int(digits) % 23], f"wrong check letter in {digits} {letter}"
    return f"{digits} {letter}"


def choose_establishment(page: Page, js: bool, audit) -> None:
    """« Ville de votre établissement » then « Nom de votre établissement », each chosen from the buttons offered.

    With JavaScript the buttons come as the agent types and a choice swaps the chooser in place
    (no page load); without, « Rechercher » and each choice re-render the page.
    """
    communes = page.locator("#commune-results")
    establishments = page.locator("#establishment-results")
    if js:
        page.evaluate("window.__e2eMarker = 'still here'")
    page.get_by_label("Ville de votre établissement").fill(NEWCOMER["commune"][:4])
    if not js:
        page.get_by_role("button", name="Rechercher : Ville de votre établissement").click()
        expect(heading(page, ESTABLISHMENT_HEADING)).to_be_visible()
        # Back at the results, not at the top: the first choice has the focus.
        expect(communes.get_by_role("button").first).to_be_focused()
        audit(page)
    communes.get_by_role("button", name=re.compile(rf"^{NEWCOMER['commune']} \(")).click()
    chosen = page.locator("#commune-chosen")
    expect(chosen).to_contain_text(f"Ville choisie : {NEWCOMER['commune']} (35000)")
    expect(chosen).to_be_focused()
    # The commune chosen, its establishments are offered.
    expect(establishments.get_by_role("button", name="Centre Hospitalier Guillaume Régnier")).to_be_visible()
    page.get_by_label("Nom de votre établissement").fill("Universitaire")
    if not js:
        page.get_by_role("button", name="Rechercher : Nom de votre établissement").click()
        expect(heading(page, ESTABLISHMENT_HEADING)).to_be_visible()
        expect(chosen).to_contain_text(f"Ville choisie : {NEWCOMER['commune']} (35000)")
        expect(establishments.get_by_role("button").first).to_be_focused()
        audit(page)
    expect(establishments.get_by_role("button")).to_have_count(1)
    establishments.get_by_role("button", name=NEWCOMER["establishment"], exact=True).click()
    expect(page.locator("#establishment-chosen")).to_contain_text(f"Établissement choisi : {NEWCOMER['establishment']}")
    if js:
        assert page.evaluate("window.__e2eMarker") == "still here", "choosing the establishment reloaded the page"


def continue_to(page: Page, step: int, title: str) -> None:
    """« Continuer », then the next question page with its step indicator."""
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, title)).to_be_visible()
    expect(page.locator(".steps")).to_have_text(f"Étape {step} sur 6")


def answer_identity(page: Page, civility: str) -> None:
    """Question page « Votre identité »."""
    expect(page.get_by_label("Civilité").locator("option")).to_have_text(["Choisissez", "Madame", "Monsieur"])
    page.get_by_label("Civilité").select_option(label=civility)
    page.get_by_role("textbox", name="Nom", exact=True).fill(NEWCOMER["last_name"])
    page.get_by_label("Prénom").fill(NEWCOMER["first_name"])
    page.get_by_label("Date de naissance").fill(NEWCOMER["birth_date"])
    page.get_by_label("Email personnel").fill(NEWCOMER["email"])


def answer_address(page: Page, js: bool) -> None:
    """Question page « Votre adresse »."""
    page.get_by_label("N° et voie").fill(NEWCOMER["street"])
    expect(page.get_by_label("Appart., escalier")).to_be_visible()
    expect(page.get_by_label("Bâtiment, entrée, résidence")).to_be_visible()
    expect(page.get_by_label("Lieu-dit")).to_be_visible()
    expect(page.get_by_label("Pays").locator("option:checked")).to_have_text("France")
    page.get_by_label("Code postal").fill(NEWCOMER["postal_code"])
    if js:
        # The communes of the typed postal code are offered as the suggestions of « Ville ».
        expect(page.locator("#city-options option[value='Rennes']")).to_have_count(1)
    page.get_by_role("combobox", name="Ville", exact=True).fill(NEWCOMER["city"])


def answer_establishment(page: Page, js: bool, audit) -> None:
    """Question page « Votre établissement »."""
    choose_establishment(page, js, audit)
    page.get_by_label("Date d'entrée dans votre établissement").fill(NEWCOMER["entry_date"])
    page.get_by_label("Votre position statutaire").select_option(label=NEWCOMER["position"])


def attach_payslip(page: Page, payslip) -> None:
    """« Joindre votre dernier bulletin de paie ou de pension »."""
    page.get_by_label("Joindre votre dernier bulletin de paie ou de pension").set_input_files(payslip)


def send_registration(page: Page) -> None:
    """« Envoyer », on « Vérifiez vos réponses »."""
    page.get_by_role("button", name="Envoyer", exact=True).click()


@pytest.fixture
def payslip(tmp_path):
    """A tiny but real PDF, as a scanned payslip would be."""
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(PDF)
    return path


def register_newcomer_over_http(page: Page, live_server: str) -> None:
    """Setup only: the unknown NIR and the registration posted as the forms post them, not driving the page."""

    def csrf_token(url: str) -> str:
        """The CSRF token of the form at `url`."""
        response = page.request.get(url)
        assert response.ok, response.status
        return re.search(r'name="csrf_token" value="([^"]+)"', response.text()).group(1)

    response = page.request.post(
        "/demande-numero", form={"csrf_token": csrf_token("/demande-numero"), "nir": spaced_nir(ANNE.nir)}
    )
    assert response.url == f"{live_server}/demande-numero/inscription", response.text()[:2000]
    choices = page.request.get(f"/recherche/etablissements?commune={RENNES_INSEE}").text()
    establishment = re.search(rf'value="(\d+)"[^>]*>{re.escape(NEWCOMER["establishment"])}<', choices).group(1)
    answers = [
        (
            "/demande-numero/inscription",
            {
                "civility": "Mme",
                "last_name": NEWCOMER["last_name"],
                "first_name": NEWCOMER["first_name"],
                "birth_date": NEWCOMER["birth_date"],
                "email": NEWCOMER["email"],
            },
        ),
        (
            "/demande-numero/inscription/adresse",
            {
                "address_street": NEWCOMER["street"],
                "country": "FR",
                "postal_code": NEWCOMER["postal_code"],
                "city": NEWCOMER["city"],
            },
        ),
        (
            "/demande-numero/inscription/etablissement",
            {
                "commune_query": NEWCOMER["commune"],
                "commune": RENNES_INSEE,
                "establishment": establishment,
                "entry_date": NEWCOMER["entry_date"],
                "position": "titulaire",
            },
        ),
        (
            "/demande-numero/inscription/bulletin",
            {"payslip": {"name": "bulletin.pdf", "mimeType": "application/pdf", "buffer": PDF}},
        ),
        ("/demande-numero/inscription/verification", {}),
    ]
    for url, fields in answers:
        response = page.request.post(url, multipart={"csrf_token": csrf_token(url), **fields})
        assert response.ok, response.text()[:2000]
    assert response.url == f"{live_server}/demande-numero/inscription/envoyee", response.text()[:2000]


def confirmation_link(mailbox) -> str:
    """The one link of the confirmation mail, on a line of its own."""
    message = wait_for_mail(mailbox, NEWCOMER["email"], "sous 48 heures")
    links = re.findall(r"^(https?://\S+)\s*$", plain_text(message), re.MULTILINE)
    assert len(links) == 1 and "/demande-numero/confirmer/" in links[0], links
    assert_no_nir(mail_texts(message), ANNE.nir)
    return links[0]


def key(page: Page, digit: str):
    """One key of the keypad, found by its digit."""
    return page.get_by_role("group", name=KEYPAD_NAME).get_by_role("button", name=digit, exact=True)


def log_in_on_keypad(page: Page, numero: str, pin: str) -> None:
    """From « Se connecter »: numéro, PIN on the keypad (a page per key without JS), « Valider »."""
    page.get_by_label("Entrez votre N° C.G.O.S (avec la lettre)").fill(numero)
    status = page.get_by_role("group", name=KEYPAD_NAME).get_by_role("status")
    for count, digit in enumerate(pin, start=1):
        key(page, digit).click()
        expect(status).to_have_text(re.compile(rf"^{count} chiffres? saisis? sur 6$"))
    page.get_by_role("button", name="Valider", exact=True).click()


# --- 1. NIR errors ---------------------------------------------------------------------

INVALID_NIRS = [
    # The right 13 digits with another key.
    (spaced_nir(ANNE.nir[:13] + f"{int(ANNE.nir[13:]) % 97 + 1:02d}"), WRONG_KEY),
    # A well-formed number, right key, but 5 is neither a man nor a woman.
    (spaced_nir("5910335238456" + stdnum_nir.calc_check_digits("5910335238456")), WRONG_SEX),
    ("2 91 03 35 238", WRONG_LENGTH),
]


def test_invalid_nirs_get_their_own_message(page, js, audit):
    """Each invalid NIR: its own message beside the field and in the focused summary, « Erreur : » title."""
    open_number_request(page, audit, from_tabs=True)
    for nir, message in INVALID_NIRS:
        submit_nir(page, nir)
        assert_field_error(page, page.get_by_label(NIR_LABEL), message)
        expect(page.get_by_role("alert").get_by_role("listitem")).to_have_count(1)
        expect(heading(page, START_HEADING)).to_be_visible()
        assert_no_nir(page.content(), nir.replace(" ", ""))
        audit(page)


# --- 2. Known NIR with a mail address -----------------------------------------------------


def test_known_nir_gets_the_numero_by_mail(page, js, mailbox, audit):
    """Marie's NIR: she types the address on file (never shown, even masked) and receives her numéro, never her NIR."""
    open_number_request(page, audit)
    submit_nir(page, MARIE.spaced_nir)

    expect(
        page.get_by_text(
            "Il vous a déjà été attribué un numéro C.G.O.S. Vous devez confirmer votre adresse mail "
            "pour le recevoir par messagerie."
        )
    ).to_be_visible()
    expect(page.locator(".masked-address")).to_have_count(0)
    html = page.content()
    assert MARIE.email not in html, "the full address on file is in the page"
    assert_no_nir(html, MARIE.spaced_nir.replace(" ", ""))
    audit(page)

    page.get_by_role("textbox", name="Adresse mail", exact=True).fill(MARIE.email)
    page.get_by_label("Confirmation d'adresse mail").fill(MARIE.email)
    page.get_by_role("button", name="Confirmer").click()

    expect(heading(page, "Votre numéro C.G.O.S vous a été envoyé")).to_be_visible()
    audit(page)
    message = wait_for_mail(mailbox, MARIE.email, "Numéro C.G.O.S :")
    text = plain_text(message)
    assert "Or, votre Numéro existe déjà." in text
    assert numero_line(text) == MARIE.numero
    assert_no_nir(mail_texts(message), MARIE.spaced_nir.replace(" ", ""))


# --- 3. Known NIR without a mail address -----------------------------------------------------


def test_known_nir_without_mail_points_to_the_delegation(page, js, mailbox, audit):
    """Jean's NIR, no address on file: he is told to contact his regional delegation, with its phone."""
    open_number_request(page, audit)
    submit_nir(page, JEAN.spaced_nir)

    expect(page.get_by_text("vous rapprocher de votre délégation régionale")).to_be_visible()
    expect(page.get_by_text("Délégation régionale Bretagne : 02 99 00 00 00")).to_be_visible()
    expect(page.get_by_role("textbox", name="Adresse mail", exact=True)).to_have_count(0)
    assert_no_nir(page.content(), JEAN.spaced_nir.replace(" ", ""))
    audit(page)
    assert mailbox.recipients() == []


# --- 4. Registration, numéro, first login -------------------------------------------------------


def identify_newcomer(page, numero: str) -> None:
    """« 1ère connexion », first step, as the newcomer."""
    page.get_by_label("Numéro C.G.O.S").fill(numero)
    page.get_by_label("Année de naissance").fill(NEWCOMER["year"])
    page.get_by_label("Mois de naissance").select_option(label=NEWCOMER["month"])
    page.get_by_role("button", name="Continuer").click()


def test_registration_to_first_login(page, js, live_app, live_server, mailbox, payslip, audit):
    """Unknown NIR: civility mismatch fixed, mail confirmed, numéro shown and mailed, checked by the delegation,
    1ère connexion, charter."""
    open_number_request(page, audit)
    submit_nir(page, spaced_nir(ANNE.nir))
    expect(heading(page, IDENTITY_HEADING)).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Votre identité \(étape 2 sur 6\)"))
    expect(page.locator(".steps")).to_have_text("Étape 2 sur 6")
    expect(page.get_by_text(f"({ANNE.nir[0]} •• •• •• ••• ••• {ANNE.nir[13:]})")).to_be_visible()
    assert_no_nir(page.content(), ANNE.nir)
    audit(page)

    # A man's civility does not agree with a NIR starting with 2: said on this page, not after five.
    answer_identity(page, "Monsieur")
    page.get_by_role("button", name="Continuer", exact=True).click()
    civility = page.get_by_label("Civilité")
    assert_field_error(page, civility, CIVILITY_MISMATCH)
    expect(page.get_by_role("alert").get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("textbox", name="Nom", exact=True)).to_have_value(NEWCOMER["last_name"])
    expect(page.get_by_label("Email personnel")).to_have_value(NEWCOMER["email"])
    audit(page)
    civility.select_option(label="Madame")
    continue_to(page, 3, "Votre adresse")
    audit(page)
    answer_address(page, js)
    continue_to(page, 4, ESTABLISHMENT_HEADING)
    audit(page)
    answer_establishment(page, js, audit)
    continue_to(page, 5, "Votre bulletin de paie ou de pension")
    audit(page)
    attach_payslip(page, payslip)
    continue_to(page, 6, CHECK_HEADING)
    audit(page)
    expect(page.get_by_text("bulletin.pdf")).to_be_visible()
    expect(page.get_by_text(NEWCOMER["establishment"])).to_be_visible()

    # « Modifier » goes back to the question, « Continuer » back to the check page.
    page.get_by_role("link", name="Modifier : Prénom").click()
    expect(heading(page, IDENTITY_HEADING)).to_be_visible()
    expect(page.get_by_label("Prénom")).to_have_value(NEWCOMER["first_name"])
    page.get_by_label("Prénom").fill("Camille-Anne")
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    expect(page.get_by_text("Camille-Anne")).to_be_visible()
    # The payslip is still attached after the detour: shown by its name.
    page.get_by_role("link", name="Modifier : Bulletin joint").click()
    expect(page.locator(".kept-file")).to_have_text(re.compile(r"bulletin\.pdf — Remplacer"))
    audit(page)
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    send_registration(page)
    expect(page.get_by_text("Vous devez confirmer votre adresse de messagerie sous 48 heures")).to_be_visible()
    expect(page.get_by_text(NEWCOMER["email"])).to_be_visible()
    audit(page)

    page.goto(confirmation_link(mailbox))
    expect(heading(page, "Votre numéro C.G.O.S")).to_be_visible()
    numero = numero_line(page.locator("main").inner_text())
    expect(page.get_by_role("link", name="Demander mon mot de passe")).to_have_count(0)
    audit(page)
    mailed = wait_for_mail(mailbox, NEWCOMER["email"], "Numéro C.G.O.S :")
    assert numero_line(plain_text(mailed)) == numero
    assert_no_nir(mail_texts(mailed), ANNE.nir)

    # Before the delegation has checked the registration, no provisional password.
    tab(page, "1ère connexion").click()
    expect(heading(page, "Vous n'avez pas encore de mot de passe")).to_be_visible()
    audit(page)
    identify_newcomer(page, numero)
    expect(heading(page, "Demande d'inscription en cours de vérification")).to_be_visible()
    expect(
        page.get_by_text("Votre demande d'inscription est en cours de vérification par votre délégation régionale")
    ).to_be_visible()
    audit(page)

    # The delegation checks it (its pages and buttons: test_the_delegation_verifies_or_rejects_the_registration).
    with live_app.test_request_context(base_url=live_server):
        verify_registrations_of(numero)

    page.goto("/premiere-connexion")
    identify_newcomer(page, numero)
    expect(page.get_by_text("cam*****@example.net")).to_be_visible()
    audit(page)
    page.get_by_role("textbox", name="Adresse mail", exact=True).fill(NEWCOMER["email"])
    page.get_by_label("Confirmation d'adresse mail").fill(NEWCOMER["email"])
    page.get_by_role("button", name="Confirmer").click()
    expect(heading(page, "Confirmation envoi du mot de passe provisoire")).to_be_visible()
    audit(page)

    pin = re.search(
        r"^Mot de passe provisoire : (\d{6})\s*$",
        plain_text(wait_for_mail(mailbox, NEWCOMER["email"], "Mot de passe provisoire :")),
        re.MULTILINE,
    ).group(1)
    tab(page, "Se connecter").click()
    expect(heading(page, LOGIN_HEADING)).to_be_visible()
    audit(page)
    log_in_on_keypad(page, numero, pin)
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    expect(page.get_by_role("button", name="Accepter")).to_be_visible()
    audit(page)


# --- 4b. No dead end: the check is announced, then its mail opens « 1ère connexion » ----------------------


def test_after_registering_the_check_is_announced_and_its_mail_opens_first_connection(
    page, js, live_app, live_server, mailbox, audit
):
    """Sent page and numéro page say the delegation checks first, with no way into the refusal; once checked,
    the mail's « Demander mon mot de passe » link opens « 1ère connexion » with the numéro typed."""
    register_newcomer_over_http(page, live_server)
    page.goto("/demande-numero/inscription/envoyee")
    expect(heading(page, "Confirmez votre adresse mail")).to_be_visible()
    expect(page.get_by_text(CHECK_NOTICE)).to_be_visible()
    expect(page.locator('main a[href*="/premiere-connexion"]')).to_have_count(0)
    audit(page)

    page.goto(confirmation_link(mailbox))
    expect(heading(page, "Votre numéro C.G.O.S")).to_be_visible()
    numero = numero_line(page.locator("main").inner_text())
    expect(page.get_by_text(CHECK_NOTICE)).to_be_visible()
    expect(page.get_by_role("link", name="Demander mon mot de passe")).to_have_count(0)
    expect(page.locator('main a[href*="/premiere-connexion"]')).to_have_count(0)
    audit(page)
    numero_mail = wait_for_mail(mailbox, NEWCOMER["email"], "Numéro C.G.O.S :")
    assert CHECK_NOTICE in plain_text(numero_mail)
    assert "/premiere-connexion" not in mail_texts(numero_mail)

    # « Inscription vérifiée », as the delegation's click records it.
    with live_app.test_request_context(base_url=live_server):
        verify_registrations_of(numero)
    message = wait_for_mail(mailbox, NEWCOMER["email"], "Demander mon mot de passe :")
    link = re.search(r"^Demander mon mot de passe :\s*\n(https?://\S+)\s*$", plain_text(message), re.M).group(1)
    assert numero_line(plain_text(message)) == numero
    page.goto(link)
    expect(heading(page, "Vous n'avez pas encore de mot de passe")).to_be_visible()
    expect(tab(page, "1ère connexion")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Numéro C.G.O.S")).to_have_value(numero)
    audit(page)
    page.get_by_label("Année de naissance").fill(NEWCOMER["year"])
    page.get_by_label("Mois de naissance").select_option(label=NEWCOMER["month"])
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_text("cam*****@example.net")).to_be_visible()
    expect(heading(page, "Demande d'inscription en cours de vérification")).to_have_count(0)
    audit(page)


# --- 5. A confirmation link works once ------------------------------------------------------------


def test_confirmation_link_works_only_once(page, js, live_server, mailbox, audit):
    """The confirmation link opened twice: the numéro the first time, « déjà été utilisé » the second."""
    register_newcomer_over_http(page, live_server)
    link = confirmation_link(mailbox)

    page.goto(link)
    expect(heading(page, "Votre numéro C.G.O.S")).to_be_visible()
    numero = numero_line(page.locator("main").inner_text())
    audit(page)

    response = page.goto(link)
    assert response.status == 410
    expect(heading(page, "Lien déjà utilisé")).to_be_visible()
    expect(page.get_by_text("Ce lien a déjà été utilisé")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Numéro C\.G\.O\.S : \d{8}"))).to_have_count(0)
    audit(page)
    # The second visit created nothing: one numéro mail, the first one.
    numero_mails = [m for m in mailbox.messages if "Numéro C.G.O.S :" in plain_text(m)]
    assert [numero_line(plain_text(m)) for m in numero_mails] == [numero]


def test_the_delegation_verifies_or_rejects_the_registration(page, js, live_server, mailbox, audit):
    """Staff see the confirmed registration (NIR masked, payslip), and a rejection disables the account."""
    register_newcomer_over_http(page, live_server)
    page.goto(confirmation_link(mailbox))
    numero = numero_line(page.locator("main").inner_text())

    log_in_staff_in_browser(page)
    expect(page.get_by_role("heading", name="Inscriptions à vérifier (1)")).to_be_visible()
    page.get_by_role("link", name=re.compile("LE GOFF")).first.click()
    expect(heading(page, re.compile(r"Inscription n° \d+"))).to_be_visible()
    expect(page.get_by_text(numero)).to_be_visible()
    expect(page.get_by_text(re.compile(r"•• •• •• ••• •••"))).to_be_visible()
    expect(page.get_by_role("button", name="Inscription vérifiée")).to_be_visible()
    assert_no_nir(page.content(), ANNE.nir)
    audit(page)

    page.get_by_role("button", name="Inscription rejetée").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez le motif")
    audit(page)
    page.get_by_label("Motif").fill("Bulletin de paie illisible")
    page.get_by_role("button", name="Inscription rejetée").click()
    expect(page.get_by_text("La décision est enregistrée.")).to_be_visible()
    message = wait_for_mail(mailbox, NEWCOMER["email"], "Bulletin de paie illisible")
    assert "désactivé" in plain_text(message)
