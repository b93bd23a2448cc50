"""Built for the phone: what fits the screen, the « Effacer » key, the tabs, the footer pages.

The fold (issue 22, item 5) is measured as the page-relative bottom of each control (its
bottom edge plus the page's scroll) against the viewport's height, so a page scrolled to its
error summary is judged as it was laid out. With an error or without, at 390 x 664 and 360 x 640
the numéro, the whole keypad, « Valider » and the passkey button below it fit; at 320 x 568 they
span at most one screen. At 390 x 844 the primary button of the first-login steps does, after an
error too. JavaScript on and off, axe on every page (`strict_audit`: no violation of any impact).
"""

import re

import pytest
from playwright.sync_api import Page, expect
from test_login_flows import (
    KEYPAD_NAME,
    NEW_PIN,
    NUMERO_LABEL,
    WRONG_CREDENTIALS,
    fail_logins_over_http,
    js_on_only,
    key,
    keypad,
    keypad_status,
    log_in,
    mailed_provisional_pin,
    type_pin,
    typed_text,
)

from tests_support.browser import heading
from tests_support.flows import register
from tests_support.personas import ANNE, MARIE, SOPHIE

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 390, "height": 664}
PHONE = {"width": 390, "height": 844}
# Where the numéro, the keypad, « Valider » and the passkey button must fit the first screen, and
# the smallest phone, where they must span one screen at most.
FOLD_SCREENS = [SMALL_PHONE, {"width": 360, "height": 640}]
SMALLEST_PHONE = {"width": 320, "height": 568}
ERASE = "Effacer le dernier chiffre"
PASSKEY = "Se connecter avec une clé d'accès"
INCOMPLETE_PIN = "Saisissez les 6 chiffres de votre mot de passe."
WARNING = "Attention : il vous reste 2 essais avant le blocage temporaire de votre compte."
FOOTER_PAGES = {
    "Accessibilité : partiellement conforme": "Déclaration d'accessibilité",
    "Mentions légales": "Mentions légales",
    "Données personnelles": "Données personnelles",
    "Aide et contact": "Aide et contact",
    "Plan du site": "Plan du site",
}
# The passkey button's room (issue 23): 44 px and a 12 px margin below « Valider ».
STAND_IN = """() => {
  const button = document.createElement("button");
  button.type = "button";
  button.id = "passkey-stand-in";
  button.textContent = "Réservé à la clé d'accès";
  button.style.cssText = "display: block; width: 100%; height: 44px; margin-top: 12px";
  document.querySelector(".keypad-actions").after(button);
}"""
BOTTOM = "el => Math.round(el.getBoundingClientRect().bottom + window.scrollY)"
TOP = "el => Math.round(el.getBoundingClientRect().top + window.scrollY)"
LINES = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


@pytest.fixture
def live_server(live_server) -> str:
    """The live server as http://localhost:PORT, where the passkey button shows (never on an IP address)."""
    return live_server.replace("127.0.0.1", "localhost")


def in_view(page: Page, locator) -> None:
    """The element is entirely inside the viewport, without scrolling."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None, f"{locator} is not displayed"
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], f"{locator} at {box}, screen {size}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], f"{locator} at {box}, screen {size}"


def valider(page: Page):
    """The primary button of the form in the main region."""
    return page.get_by_role("main").get_by_role("button", name="Valider", exact=True)


def passkey_room(page: Page, js: bool):
    """The passkey button below « Valider » when the page shows it; else a stand-in of its size.

    Hook (issue 23): where the passkey button shows in every JavaScript run (localhost, WebAuthn),
    the stand-in is never used, and this can return the button alone.
    """
    if not js:
        return None
    button = page.get_by_role("button", name=PASSKEY)
    if button.count() and button.is_visible():
        return button
    page.evaluate(STAND_IN)
    return page.locator("#passkey-stand-in")


def login_controls(page: Page, js: bool) -> dict:
    """The controls of the login form that must fit, by name; the passkey button's room too."""
    controls = {
        "numéro": page.get_by_label(NUMERO_LABEL),
        "keypad": keypad(page),
        ERASE: page.get_by_role("button", name=ERASE, exact=True),
        "Corriger": page.get_by_role("button", name="Corriger", exact=True),
        "Valider": valider(page),
    }
    room = passkey_room(page, js)
    if room is not None:
        controls["passkey"] = room
    return controls


def bottoms(controls: dict) -> dict:
    """Each control's page-relative bottom, in CSS pixels."""
    return {name: control.evaluate(BOTTOM) for name, control in controls.items()}


def reach_login_state(page: Page, js: bool, state: str) -> None:
    """« Se connecter » as a person sees it: untouched, after one wrong PIN, after the third (with
    the lockout warning), or after « Valider » with two digits."""
    if state == "warned":
        fail_logins_over_http(page, SOPHIE.numero, "111111", times=2)
    page.goto("/")
    if state == "clean":
        return
    page.get_by_label(NUMERO_LABEL).fill(SOPHIE.numero)
    type_pin(page, "27" if state == "incomplete" else "271828", js)
    valider(page).click()
    expect(page).to_have_title(re.compile("^Erreur : "))


@pytest.mark.parametrize("state", ["clean", "wrong", "warned", "incomplete"])
def test_numero_keypad_valider_and_the_passkey_room_fit_the_first_screen(page, js, strict_audit, state):
    """Before and after an error, the login form fits 390 x 664 and 360 x 640, and one 320 x 568
    screen from the numéro to the passkey button; the error is printed once, heard, and tied to its field."""
    reach_login_state(page, js, state)
    strict_audit(page)
    controls = login_controls(page, js)
    for screen in FOLD_SCREENS:
        page.set_viewport_size(screen)
        measured = bottoms(controls)
        print(f"{state} {'js' if js else 'nojs'} {screen['width']}x{screen['height']}: {measured}")
        assert max(measured.values()) <= screen["height"], f"below the fold at {screen}: {measured}"
        for cell in page.locator(".keypad__grid > *").all():
            assert cell.evaluate(BOTTOM) <= screen["height"]
    page.set_viewport_size(SMALLEST_PHONE)
    top = controls["numéro"].evaluate(TOP)
    span = max(bottoms(controls).values()) - top
    print(f"{state} {'js' if js else 'nojs'} 320x568: numéro top {top}, span {span}")
    assert span <= SMALLEST_PHONE["height"], f"numéro to the last control: {span} px"

    summary = page.locator(".error-summary")
    if state == "clean":
        expect(summary).to_have_count(0)
        return
    message = INCOMPLETE_PIN if state == "incomplete" else WRONG_CREDENTIALS
    # Once: in the compact summary, which takes the focus and is an alert a screen reader hears.
    expect(page.get_by_role("main").get_by_text(message)).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.locator(".error-summary:focus-within")).to_have_count(1)
    assert summary.evaluate(BOTTOM) <= SMALLEST_PHONE["height"]
    if state == "warned":
        expect(page.get_by_role("alert")).to_contain_text(WARNING)
    if state == "incomplete":
        # Tied to the keypad as an inline message would be: read again on the field.
        expect(keypad(page)).to_have_accessible_description(re.compile(re.escape(INCOMPLETE_PIN)))
        expect(page.get_by_role("link", name=INCOMPLETE_PIN)).to_have_attribute("href", "#keypad")


def test_a_numero_error_is_printed_once_and_tied_to_the_field(page, js, strict_audit):
    """A wrong check letter: said once, in the summary, linked to the field and read on it."""
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/")
    page.get_by_label(NUMERO_LABEL).fill("29088361 K")
    type_pin(page, SOPHIE.pin, js)
    valider(page).click()
    message = "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre."
    numero = page.get_by_label(NUMERO_LABEL)
    expect(numero).to_have_accessible_description(re.compile(re.escape(message)))
    expect(numero).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("main").get_by_text(message)).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text(message)
    # The example stays where the numéro is what is wrong.
    expect(page.get_by_text("Par exemple : 35127846 S")).to_be_visible()
    assert max(bottoms(login_controls(page, js)).values()) <= SMALL_PHONE["height"]
    strict_audit(page)


def assert_error_once_and_focused(page: Page, field, message: str) -> None:
    """The compact summary: the message once, focused, an alert, and read again on its field."""
    expect(page).to_have_title(re.compile("^Erreur : "))
    expect(page.get_by_role("main").get_by_text(message)).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.locator(".error-summary:focus-within")).to_have_count(1)
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    expect(field).to_have_attribute("aria-invalid", "true")


def assert_valider_fits(page: Page, step: str, measures: dict) -> None:
    """« Valider »'s page-relative bottom is on a 390 x 844 screen."""
    measures[step] = valider(page).evaluate(BOTTOM)
    assert measures[step] <= PHONE["height"], f"{step}: « Valider » at {measures[step]} px"


def test_first_login_steps_keep_valider_on_the_screen_after_an_error(
    page, js, live_app, live_server, mailbox, strict_audit
):
    """Marie's first login at 390 x 844: after a weak PIN, a mismatch or a bad phone number, « Valider »
    is on the first screen, the error said once and focused; the personal-data step's heading takes
    the focus when it opens; the header is one slim row."""
    page.goto("/")
    provisional = mailed_provisional_pin(live_app, live_server, mailbox, MARIE.numero)
    log_in(page, MARIE.numero, provisional, js)
    expect(heading(page, "Conditions générales d'utilisation")).to_be_visible()
    page.get_by_role("button", name="Accepter").click()
    expect(heading(page, "Changement du mot de passe provisoire")).to_be_visible()
    measures = {}
    new_pin = page.get_by_label("Nouveau mot de passe")
    confirmation = page.get_by_label("Confirmation du mot de passe")

    new_pin.fill("123456")
    confirmation.fill("123456")
    valider(page).click()
    weak = page.locator(".error-summary li").first.inner_text()
    assert_error_once_and_focused(page, new_pin, weak)
    assert_valider_fits(page, "weak PIN", measures)
    strict_audit(page)

    new_pin.fill(NEW_PIN)
    confirmation.fill(NEW_PIN[::-1])
    valider(page).click()
    assert_error_once_and_focused(page, confirmation, "Les deux mots de passe saisis ne sont pas identiques.")
    assert_valider_fits(page, "mismatch", measures)
    strict_audit(page)

    new_pin.fill(NEW_PIN)
    confirmation.fill(NEW_PIN)
    valider(page).click()
    # A whole page load (the session was renewed): the step's heading takes the focus, not <body>.
    expect(heading(page, "Données personnelles")).to_be_focused()
    assert_valider_fits(page, "personal data", measures)
    strict_audit(page)

    mobile = page.get_by_label("Portable")
    mobile.fill("12")
    valider(page).click()
    bad_phone = "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
    assert_error_once_and_focused(page, mobile, bad_phone)
    assert_valider_fits(page, "bad phone", measures)
    strict_audit(page)
    print(f"first login {'js' if js else 'nojs'} 390x844: {measures}")

    mobile.fill("06 12 34 56 78")
    valider(page).click()
    expect(page.get_by_text("Vos données personnelles sont enregistrées.")).to_be_visible()
    expect(page.locator(".notice:focus")).to_have_count(1)


def test_the_logged_in_header_is_one_row_with_a_smaller_se_deconnecter(page, js, strict_audit):
    """390 px, logged in: the brand on one line beside « Se déconnecter », a 44 px target."""
    page.set_viewport_size(PHONE)
    page.goto("/")
    log_in(page, SOPHIE.numero, SOPHIE.pin, js)
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()
    header = page.get_by_role("banner")
    logout = header.get_by_role("button", name="Se déconnecter")
    brand = header.get_by_role("link", name=re.compile("Espace Agent"))
    logout_box, brand_box = logout.bounding_box(), brand.bounding_box()
    assert logout_box["height"] >= 44 and logout_box["width"] >= 44
    assert logout.evaluate(LINES) == 1
    assert page.locator(".brand-block__name").evaluate(LINES) == 1
    # One row: each is beside the other, and the header is no taller than its tallest item.
    assert brand_box["x"] + brand_box["width"] <= logout_box["x"]
    assert header.bounding_box()["height"] <= max(logout_box["height"], brand_box["height"]) + 8
    strict_audit(page)


def test_effacer_removes_the_last_digit_and_sophie_still_logs_in(page, js, audit):
    """A mistyped digit costs one tap: « Effacer » removes it (JavaScript or not), and only it."""
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/")
    page.get_by_label(NUMERO_LABEL).fill(SOPHIE.numero)
    erase = page.get_by_role("button", name=ERASE, exact=True)
    erase.click()  # nothing typed yet: nothing breaks
    expect(keypad_status(page)).to_have_text(typed_text(0))
    # « 48 » of her PIN, then a 3 by mistake.
    for count, digit in enumerate("483", start=1):
        key(page, digit).click()
        expect(keypad_status(page)).to_have_text(typed_text(count))
    erase.click()
    expect(keypad_status(page)).to_have_text(typed_text(2))
    expect(page.locator("[data-keypad-dots] .dot--filled")).to_have_count(2)
    if not js:
        expect(page.get_by_role("button", name=ERASE, exact=True)).to_be_focused()
        audit(page)
    # Outside the shuffled grid: the keypad group holds the ten digits only.
    expect(keypad(page).get_by_role("button")).to_have_count(10)
    expect(page.get_by_role("group", name=KEYPAD_NAME).get_by_role("button", name=ERASE)).to_have_count(0)
    # The rest of her PIN after the « 48 » kept: the 3 is really gone, the login succeeds.
    for count, digit in enumerate(SOPHIE.pin[2:], start=3):
        key(page, digit).click()
        expect(keypad_status(page)).to_have_text(typed_text(count))
    page.locator("form").get_by_role("button", name="Valider", exact=True).last.click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


@pytest.mark.parametrize("path", ["/premiere-connexion", "/mot-de-passe-oublie", "/mot-de-passe-oublie?motif=ancien"])
def test_identity_steps_show_continuer_on_a_390_x_844_screen(page, js, audit, path):
    """The identity step's « Continuer » shows without scrolling."""
    page.set_viewport_size(PHONE)
    page.goto(path)
    in_view(page, page.get_by_role("button", name="Continuer"))
    audit(page)


def test_the_three_tabs_share_one_row_at_320_px(page, js):
    """A segmented control: the three tabs on one row, each label on two lines at most, the current one marked."""
    page.set_viewport_size(SMALLEST_PHONE)
    page.goto("/premiere-connexion")
    links = page.get_by_role("navigation", name="Espace Agent").get_by_role("link")
    expect(links).to_have_count(3)
    tops = {round(link.bounding_box()["y"]) for link in links.all()}
    assert len(tops) == 1, f"the tabs are on {len(tops)} rows"
    # « Demande de n°C.G.O.S » on two lines, not three (issue 22, item 5).
    for link in links.all():
        assert link.evaluate(LINES) <= 2, f"{link.inner_text()!r} on {link.evaluate(LINES)} lines"
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    expect(links.nth(1)).to_have_attribute("aria-current", "page")


def test_a_newcomer_finds_where_to_start_on_se_connecter(page, js, audit):
    """« Première connexion ? »: the guide's four steps and a button to 1ère connexion; a link to Demande de n°."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Première connexion ?")).to_be_visible()
    expect(page.get_by_text("Demandez votre mot de passe, c'est simple et rapide !")).to_be_visible()
    expect(page.locator(".four-steps li")).to_have_count(4)
    page.get_by_role("link", name="Pas encore de numéro C.G.O.S ? Demandez-le").click()
    expect(heading(page, "Vous n'avez pas encore de numéro C.G.O.S")).to_be_visible()
    page.get_by_role("navigation", name="Espace Agent").get_by_role("link", name="Se connecter").click()
    page.get_by_role("link", name="Obtenez votre mot de passe provisoire").click()
    expect(heading(page, "Vous n'avez pas encore de mot de passe")).to_be_visible()
    audit(page)


def test_a_heading_focused_after_a_swap_has_no_outline_for_touch(page, js):
    """The heading takes the focus after a swap (screen readers) without the yellow box (sighted users)."""
    if not js:
        pytest.skip("no swap without JavaScript: the browser loads a page and focuses nothing")
    page.goto("/")
    page.get_by_role("navigation", name="Espace Agent").get_by_role("link", name="1ère connexion").click()
    title = heading(page, "Vous n'avez pas encore de mot de passe")
    expect(title).to_be_focused()
    assert title.evaluate("el => getComputedStyle(el).outlineStyle") == "none"


@js_on_only
@pytest.mark.parametrize("label", FOOTER_PAGES)
def test_each_footer_page_is_reachable_and_clean(page, js, audit, label):
    """From « Se connecter », the footer link opens its page: axe clean, fits the phone.

    Without JavaScript (the same HTML): tests/test_public_pages.py::test_the_footer_links_every_public_page
    and test_each_footer_page_as_page_and_fragment.
    """
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name=label, exact=True).click()
    expect(heading(page, FOOTER_PAGES[label])).to_be_visible()
    audit(page)


@js_on_only
def test_the_help_page_phones_are_tap_to_call(page, js):
    """Every delegation's number is a tel: link.

    Without JavaScript (the same HTML): tests/test_public_pages.py::test_help_lists_every_delegation_with_a_tel_link.
    """
    page.goto("/aide-et-contact")
    phones = page.locator(".contact-list a")
    assert phones.count() >= 13
    for href in phones.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert href.startswith("tel:+33")


def test_javascript_only_controls_wait_for_javascript(page, js):
    """app.js marks the page: what only works with JavaScript (« Afficher le mot de passe ») shows then."""
    page.goto("/")
    assert page.evaluate("document.documentElement.classList.contains('js')") is js


# --- Slips (issue 22, item 10) ---------------------------------------------------------------


def test_the_charter_ends_its_list_of_regions(page, js, live_app, live_server, mailbox, strict_audit):
    """The guide's ★ line ended on a literal « et … »: it now ends the sentence."""
    page.set_viewport_size(PHONE)
    page.goto("/")
    provisional = mailed_provisional_pin(live_app, live_server, mailbox, MARIE.numero)
    log_in(page, MARIE.numero, provisional, js)
    charter = page.get_by_role("region", name="Charte d'utilisation de l'Espace Agent")
    expect(charter.get_by_text(re.compile("^★"))).to_have_text(
        re.compile("Nord-Pas de Calais Picardie et d'autres régions progressivement\\.$")
    )
    expect(charter).not_to_contain_text("…")
    expect(charter).to_contain_text("Version 2026-12 de la charte.")
    strict_audit(page)


def confirmation_path(live_app, new_agent, mailbox) -> str:
    """Setup: Anne registered through the forms by another client; the path of the link she is mailed."""
    with live_app.app_context():
        register(new_agent(live_app))
    [link] = mailbox.links("anne.legoff@example.org")
    return re.sub(r"^https?://[^/]+", "", link)


def test_the_new_numero_shows_alone_in_large_type(page, js, live_app, new_agent, mailbox, strict_audit):
    """The numéro page: the label in the text's size above, the numéro alone on one line in large type."""
    page.set_viewport_size(PHONE)
    page.goto(confirmation_path(live_app, new_agent, mailbox))
    expect(heading(page, "Votre numéro C.G.O.S")).to_be_visible()
    numero = page.locator(".numero-panel__numero")
    expect(numero).to_have_text(re.compile(r"^\d{8} [A-Z]$"))
    assert numero.evaluate(LINES) == 1
    label = page.get_by_text("Numéro C.G.O.S :", exact=True)
    size = "el => parseFloat(getComputedStyle(el).fontSize)"
    assert label.evaluate(size) < numero.evaluate(size)
    assert label.evaluate(BOTTOM) <= numero.evaluate(TOP)
    strict_audit(page)


def open_address_page(page: Page, live_server: str) -> None:
    """Setup: an unknown NIR and the identity posted as their forms post them, then « Votre adresse » opened."""

    def post(url: str, fields: dict) -> None:
        """Post a form of the flow with the CSRF token of its page."""
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.request.get(url).text()).group(1)
        assert page.request.post(url, form={"csrf_token": token, **fields}).ok

    post("/demande-numero", {"nir": ANNE.spaced_nir})
    identity = {"civility": "Mme", "last_name": "Le Goff", "first_name": "Camille", "birth_date": "21/03/1991"}
    post("/demande-numero/inscription", {**identity, "email": "camille.legoff@example.net"})
    page.goto("/demande-numero/inscription/adresse")
    expect(heading(page, "Votre adresse")).to_be_visible()


def test_every_required_select_of_the_address_page_starts_with_a_placeholder(page, js, live_server, strict_audit):
    """The Nu Html Checker's rule: a required select's first option is an empty placeholder.
    « Pays » starts on « France » (always a value), so it is not `required`."""
    page.set_viewport_size(PHONE)
    open_address_page(page, live_server)
    country = page.get_by_label("Pays")
    expect(country.locator("option:checked")).to_have_text("France")
    broken = page.evaluate(
        "() => [...document.querySelectorAll('select[required]:not([multiple])')]"
        ".filter((s) => s.options.length && s.options[0].value !== '').map((s) => s.name)"
    )
    assert broken == []
    strict_audit(page)
