"""« Se connecter » in a real browser, as an agent on a phone: JavaScript on and off, axe on every page."""

import re

import pytest
from playwright.sync_api import Page, expect

from cgos.credentials.issuing import issue_provisional_password
from cgos.extensions import db
from cgos.models import Agent
from tests_support import pages
from tests_support.browser import assert_error_summary, assert_reloaded, heading, mark_window, type_identity
from tests_support.personas import LUC, MARIE, SOPHIE

pytestmark = pytest.mark.e2e

NEW_PIN = "739154"

LOGIN_HEADING = "Accès à l'Espace Agent avec votre mot de passe"
NUMERO_LABEL = "Entrez votre N° C.G.O.S (avec la lettre)"
KEYPAD_NAME = "Votre mot de passe à 6 chiffres"
WRONG_CREDENTIALS = "Le numéro C.G.O.S ou le mot de passe est incorrect."

# For a page that is the same without JavaScript and whose JavaScript-off run only repeated a view test
# (named in the test's docstring): the browser runs it with JavaScript on.
js_on_only = pytest.mark.parametrize("js", [True], ids=["js-on"], indirect=True)


# --- What an agent does ---------------------------------------------------------


def tab(page: Page, name: str):
    """One of the three public tabs."""
    return page.get_by_role("navigation", name="Espace Agent").get_by_role("link", name=name, exact=True)


def keypad(page: Page):
    """The on-screen keypad."""
    return page.get_by_role("group", name=KEYPAD_NAME)


def key(page: Page, digit: str):
    """One key of the keypad, found by its digit."""
    return keypad(page).get_by_role("button", name=digit, exact=True)


def keypad_status(page: Page):
    """The live region that says how many digits were typed."""
    return keypad(page).get_by_role("status")


def typed_text(count: int) -> str:
    """What the keypad status says after `count` digits."""
    return f"{count} chiffre saisi sur 6" if count < 2 else f"{count} chiffres saisis sur 6"


def key_order(page: Page) -> list[str]:
    """The digits of the keypad in display order."""
    return [text.strip() for text in keypad(page).get_by_role("button").all_inner_texts()]


def key_tokens(page: Page) -> set[str]:
    """The opaque values the keys send."""
    return set(keypad(page).get_by_role("button").evaluate_all("keys => keys.map(k => k.value)"))


def filled_dots(page: Page):
    """The dots drawn for the digits typed (decorative, hidden from assistive technology)."""
    return page.locator("[data-keypad-dots] .dot--filled")


def record_requests(page: Page) -> list[str]:
    """The URLs of the pages and fetches the tab requests from now on."""
    urls = []
    page.on(
        "request",
        lambda request: urls.append(request.url) if request.resource_type in ("document", "fetch", "xhr") else None,
    )
    return urls


def type_pin(page: Page, pin: str, js: bool, audit=None) -> None:
    """Press the keys of the PIN; without JavaScript each press is a page of its own."""
    for count, digit in enumerate(pin, start=1):
        key(page, digit).click()
        expect(keypad_status(page)).to_have_text(typed_text(count))
        if not js and audit is not None and count in (1, len(pin)):
            audit(page)


def log_in(page: Page, numero: str, pin: str, js: bool, audit=None) -> None:
    """From « Se connecter »: numéro, PIN on the keypad, « Valider »."""
    page.get_by_label(NUMERO_LABEL).fill(numero)
    type_pin(page, pin, js, audit)
    page.get_by_role("button", name="Valider", exact=True).click()


def log_out(page: Page) -> None:
    """« Se déconnecter », back on « Se connecter »."""
    page.get_by_role("button", name="Se déconnecter").click()
    expect(heading(page, LOGIN_HEADING)).to_be_visible()


def fail_logins_over_http(page: Page, numero: str, pin: str, times: int) -> None:
    """Setup only: wrong PINs posted as the keypad form posts them (the tab's cookies), without driving the page."""
    for _ in range(times):
        form = pages.Page(html=page.request.get("/").text()).soup.select_one("#login-form")
        fields = {field["name"]: field.get("value", "") for field in form.select("input[type=hidden]")}
        tokens = {key.get_text(strip=True): key["value"] for key in form.select("button[name=key]")}
        fields.update(numero=numero, pressed=" ".join(tokens[digit] for digit in pin), action="validate")
        answer = page.request.post("/", form=fields)
        assert WRONG_CREDENTIALS in answer.text(), answer.text()[:2000]


def mailed_provisional_pin(live_app, live_server: str, mailbox, numero: str) -> str:
    """Setup only: a provisional password issued as « Mot de passe oublié » issues it, read from its mail.

    The live server must have served a request: its mail sender starts with the first one.
    """
    with live_app.test_request_context(base_url=live_server):
        agent = db.session.scalar(db.select(Agent).where(Agent.numero == numero.replace(" ", "")))
        issue_provisional_password(agent)
        db.session.commit()
        return mailbox.provisional_pin(agent.email)


def request_provisional_pin(page: Page, mailbox, audit) -> str:
    """« Mot de passe oublié ? » for Marie, up to the confirmation; the PIN read from her mail."""
    page.goto("/")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    expect(heading(page, "Renvoi du mot de passe")).to_be_visible()
    audit(page)
    type_identity(page, MARIE)
    expect(page.get_by_label("Confirmation d'adresse mail")).to_be_visible()
    audit(page)
    page.get_by_role("textbox", name="Adresse mail", exact=True).fill(MARIE.email)
    page.get_by_label("Confirmation d'adresse mail").fill(MARIE.email)
    page.get_by_role("button", name="Confirmer").click()
    expect(heading(page, "Confirmation envoi du mot de passe provisoire")).to_be_visible()
    audit(page)
    return mailbox.provisional_pin(MARIE.email)


# --- a. Tabs --------------------------------------------------------------------


def test_tabs_are_links_and_swap_only_main_with_javascript(page, js, live_server, audit):
    """Three tabs in a nav; « 1ère connexion » swaps #main with JS, navigates without; back returns."""
    page.goto("/")
    links = page.get_by_role("navigation", name="Espace Agent").get_by_role("link")
    expect(links).to_have_text(["Se connecter", "1ère connexion", "Demande de n°C.G.O.S"])
    expect(tab(page, "Se connecter")).to_have_attribute("aria-current", "page")
    expect(tab(page, "1ère connexion")).not_to_have_attribute("aria-current", "page")
    expect(page).to_have_title(re.compile(r"^Se connecter"))
    audit(page)
    mark_window(page)

    tab(page, "1ère connexion").click()
    expect(page).to_have_url(f"{live_server}/premiere-connexion")
    expect(heading(page, "Vous n'avez pas encore de mot de passe")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^1ère connexion"))
    expect(tab(page, "1ère connexion")).to_have_attribute("aria-current", "page")
    expect(tab(page, "Se connecter")).not_to_have_attribute("aria-current", "page")
    assert_reloaded(page, not js)
    audit(page)

    page.go_back()
    expect(page).to_have_url(f"{live_server}/")
    expect(heading(page, LOGIN_HEADING)).to_be_visible()
    expect(keypad(page)).to_be_visible()
    expect(tab(page, "Se connecter")).to_have_attribute("aria-current", "page")
    expect(page).to_have_title(re.compile(r"^Se connecter"))
    audit(page)


# --- b. Keypad login, logout, shuffled layout --------------------------------------


def test_keypad_login_and_logout(page, js, live_server, audit):
    """Sophie types her numéro and PIN on the keypad, gets her home, then logs out."""
    page.goto("/")
    expect(keypad_status(page)).to_have_text(typed_text(0))
    audit(page)
    numero = page.get_by_label(NUMERO_LABEL)
    numero.fill(SOPHIE.numero)
    requests = record_requests(page)

    for count, digit in enumerate(SOPHIE.pin, start=1):
        mark_window(page)
        key(page, digit).click()
        expect(keypad_status(page)).to_have_text(typed_text(count))
        expect(filled_dots(page)).to_have_count(count)
        expect(numero).to_have_value(SOPHIE.numero)
        assert_reloaded(page, not js)
        if not js:
            expect(key(page, digit)).to_be_focused()
            if count in (1, 6):
                audit(page)
    if js:
        assert requests == [], f"key presses sent requests: {requests}"
        audit(page)
    else:
        assert len(requests) == 6, requests

    page.get_by_role("button", name="Valider", exact=True).click()
    expect(heading(page, re.compile(r"^Bienvenue"))).to_be_visible()
    expect(page).to_have_url(f"{live_server}/espace-agent/")
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="1ère connexion")).to_have_count(0)
    audit(page)

    log_out(page)
    expect(page.get_by_text("Vous êtes déconnecté de votre Espace Agent.")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)
    expect(tab(page, "Se connecter")).to_have_attribute("aria-current", "page")
    audit(page)
    page.goto("/espace-agent/")
    expect(heading(page, LOGIN_HEADING)).to_be_visible()


@js_on_only
def test_keypad_layout_changes_between_displays(page, js):
    """Each display shuffles the digits anew (a rare identical draw is allowed once).

    Without JavaScript: tests/test_login.py::test_each_display_shuffles_a_new_keypad.
    """
    page.goto("/")
    first = key_order(page)
    assert sorted(first) == list("0123456789")
    page.reload()
    second = key_order(page)
    if second == first:  # one chance in 10!: draw once more before calling it a bug
        page.reload()
        second = key_order(page)
    assert second != first, f"the keypad kept the order {first}"
    assert sorted(second) == list("0123456789")


# --- c. Wrong PIN, « Corriger » ------------------------------------------------------


def test_wrong_pin_shows_error_and_new_keypad_and_corriger_clears(page, js, audit):
    """A wrong PIN: error summary focused, « Erreur : » title, new keypad; « Corriger » empties it."""
    page.goto("/")
    tokens_before = key_tokens(page)
    log_in(page, SOPHIE.numero, "271828", js)

    assert_error_summary(page, WRONG_CREDENTIALS)
    expect(page.get_by_label(NUMERO_LABEL)).to_have_value(re.compile(r"^29088361 ?J$"))
    expect(keypad_status(page)).to_have_text(typed_text(0))
    tokens_after = key_tokens(page)
    assert len(tokens_after) == 10
    assert not tokens_after & tokens_before, "the keypad was not renewed after a failure"
    audit(page)

    type_pin(page, "48", js)
    expect(filled_dots(page)).to_have_count(2)
    page.get_by_role("button", name="Corriger").click()
    expect(keypad_status(page)).to_have_text(typed_text(0))
    expect(filled_dots(page)).to_have_count(0)
    audit(page)

    # The keypad still works after « Corriger »: the right PIN now logs Sophie in.
    type_pin(page, SOPHIE.pin, js)
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(heading(page, re.compile(r"^Bienvenue"))).to_be_visible()


# --- d. Lockout ------------------------------------------------------------------------


def test_a_warning_before_the_lockout_then_the_lockout_even_with_the_right_pin(page, js, audit):
    """From the third wrong PIN the page says how many tries are left; the fifth sends to « Renvoi du mot de passe »."""
    # The first three posted as the form posts them (five in a row and the lockout's notice:
    # tests/test_login.py::test_lockout_after_five_failures_refuses_even_the_right_pin).
    fail_logins_over_http(page, SOPHIE.numero, "111111", times=3)
    page.goto("/")
    log_in(page, SOPHIE.numero, "000000", js)
    assert_error_summary(page, "Attention : il vous reste 1 essai avant le blocage temporaire de votre compte.")
    audit(page)
    log_in(page, SOPHIE.numero, "000000", js)

    expect(heading(page, "Renvoi du mot de passe")).to_be_visible()
    expect(page.get_by_text("Après plusieurs tentatives erronées")).to_be_visible()
    page.goto("/")
    log_in(page, SOPHIE.numero, SOPHIE.pin, js)
    expect(heading(page, "Renvoi du mot de passe")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)
    audit(page)


# --- e. Forgotten password, first login, new PIN -----------------------------------------


def test_forgotten_password_then_first_login_steps(page, js, mailbox, audit):
    """Marie asks for a provisional password, logs in with the mailed one and goes through the first-login steps."""
    provisional = request_provisional_pin(page, mailbox, audit)
    page.get_by_role("link", name="Accueil").click()
    expect(heading(page, LOGIN_HEADING)).to_be_visible()

    log_in(page, MARIE.numero, provisional, js)
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    audit(page)
    page.get_by_role("button", name="Accepter").click()

    expect(heading(page, "Changement du mot de passe provisoire")).to_be_visible()
    audit(page)
    new_pin = page.get_by_label("Nouveau mot de passe")
    confirmation = page.get_by_label("Confirmation du mot de passe")
    show = page.get_by_role("checkbox", name="Afficher le mot de passe")
    expect(new_pin).to_have_attribute("type", "password")
    if not js:
        # Without JavaScript the checkbox could do nothing until submit: it is not shown.
        expect(show).to_have_count(0)
    else:
        expect(show).not_to_be_checked()
        show.check()
        expect(new_pin).to_have_attribute("type", "text")
        expect(confirmation).to_have_attribute("type", "text")
        show.uncheck()
        expect(new_pin).to_have_attribute("type", "password")
        expect(confirmation).to_have_attribute("type", "password")

    new_pin.fill("123456")
    confirmation.fill("123456")
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    expect(page.get_by_role("alert")).to_be_visible()
    expect(new_pin).to_have_attribute("aria-invalid", "true")
    audit(page)

    new_pin.fill(NEW_PIN)
    confirmation.fill(NEW_PIN)
    page.get_by_role("button", name="Valider").click()

    expect(heading(page, "Données personnelles")).to_be_visible()
    expect(page.get_by_label("Email personnel")).to_have_value(MARIE.email)
    audit(page)
    page.get_by_role("button", name="Valider").click()

    expect(heading(page, re.compile(r"^Bienvenue"))).to_be_visible()
    audit(page)
    # The new PIN opens the space from then on: tests/test_account.py::test_the_provisional_pin_is_single_use_once_personalised.


# --- f. Charter refused -------------------------------------------------------------------


def test_refusing_the_charter_logs_out_with_an_explanation(page, js, live_app, live_server, mailbox, audit):
    """« Refuser » ends the session and says why."""
    page.goto("/")
    # Marie's provisional password issued directly: asking for it is test_forgotten_password_then_first_login_steps.
    provisional = mailed_provisional_pin(live_app, live_server, mailbox, MARIE.numero)
    log_in(page, MARIE.numero, provisional, js)
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    page.get_by_role("button", name="Refuser").click()

    expect(heading(page, LOGIN_HEADING)).to_be_visible()
    expect(page.get_by_text("Vous avez refusé les conditions générales d'utilisation")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)
    audit(page)
    page.goto("/espace-agent/")
    expect(heading(page, LOGIN_HEADING)).to_be_visible()


# --- g. Legacy password -----------------------------------------------------------------------


def test_legacy_password_typed_on_the_keyboard_leads_to_renewal(page, js, live_server, audit):
    """Luc types his old alphanumeric password with his own keyboard: asked to get a 6-digit one."""
    page.goto("/")
    page.get_by_role("link", name="Saisir mon mot de passe au clavier").click()
    password = page.get_by_label(KEYPAD_NAME)
    expect(password).to_have_attribute("type", "password")
    expect(password).to_have_attribute("inputmode", "numeric")
    expect(password).to_have_attribute("autocomplete", "current-password")
    expect(keypad(page)).to_have_count(0)
    audit(page)

    page.get_by_label(NUMERO_LABEL).fill(LUC.numero)
    password.fill(LUC.legacy_password)
    page.get_by_role("button", name="Valider", exact=True).click()

    expect(heading(page, "Renvoi du mot de passe")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/mot-de-passe-oublie\?motif=ancien&numero=35477120\+M$"))
    expect(page.get_by_label("Numéro C.G.O.S")).to_have_value("35477120 M")  # carried (issue 22, item 4)
    expect(page.get_by_text("n'est plus accepté")).to_be_visible()
    audit(page)


def test_legacy_link_leads_to_renewal(page, js, audit):
    """« je demande un nouveau mot de passe à 6 chiffres » opens the same form."""
    page.goto("/")
    page.get_by_role("link", name="je demande un nouveau mot de passe à 6 chiffres").click()
    expect(heading(page, "Renvoi du mot de passe")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/mot-de-passe-oublie\?motif=ancien$"))
    expect(page.get_by_label("Numéro C.G.O.S")).to_be_visible()
    audit(page)


# --- i. Error pages ----------------------------------------------------------------------------


@js_on_only
def test_unknown_page_is_a_french_404(page, js, audit):
    """A mistyped address: a French page with a way back, axe clean.

    Without JavaScript: tests/test_security.py::test_unknown_page_gets_the_french_404_page.
    """
    response = page.goto("/nope")
    assert response.status == 404
    expect(heading(page, "Page introuvable")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Page introuvable"))
    expect(page.get_by_role("link", name="Retour à l'accueil de l'Espace Agent")).to_be_visible()
    audit(page)
