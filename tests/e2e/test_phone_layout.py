"""Built for the phone: what fits the screen, the « Effacer » key, the tabs, the footer pages.

At 390 x 664 (a phone browser with its bars) the numéro, the whole keypad and
« Valider » show without scrolling; at 390 x 844 the primary button of the
identity steps does. JavaScript on and off, axe on every page.
"""

import pytest
from playwright.sync_api import Page, expect
from test_login_flows import (
    KEYPAD_NAME,
    NUMERO_LABEL,
    SOPHIE,
    heading,
    js_on_only,
    key,
    keypad,
    keypad_status,
    typed_text,
)

pytestmark = pytest.mark.e2e

SMALL_PHONE = {"width": 390, "height": 664}
PHONE = {"width": 390, "height": 844}
ERASE = "Effacer le dernier chiffre"
FOOTER_PAGES = {
    "Accessibilité : partiellement conforme": "Déclaration d'accessibilité",
    "Mentions légales": "Mentions légales",
    "Données personnelles": "Données personnelles",
    "Aide et contact": "Aide et contact",
    "Plan du site": "Plan du site",
}


def in_view(page: Page, locator) -> None:
    """The element is entirely inside the viewport, without scrolling."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None, f"{locator} is not displayed"
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], f"{locator} at {box}, screen {size}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], f"{locator} at {box}, screen {size}"


def test_numero_keypad_and_valider_fit_a_390_x_664_screen(page, js, audit):
    """Nothing to scroll to log in: the numéro, the twelve cells, Effacer, Corriger and Valider."""
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/")
    audit(page)
    in_view(page, page.get_by_label(NUMERO_LABEL))
    for digit in "0123456789":
        in_view(page, key(page, digit))
    for cell in page.locator(".keypad__grid > *").all():
        in_view(page, cell)
    for name in (ERASE, "Corriger"):
        in_view(page, page.get_by_role("button", name=name, exact=True))
    in_view(page, page.locator("form").get_by_role("button", name="Valider", exact=True).last)
    assert page.evaluate("window.scrollY") == 0


def test_effacer_removes_the_last_digit_and_sophie_still_logs_in(page, js, audit):
    """A mistyped digit costs one tap: « Effacer » removes it (JavaScript or not), and only it."""
    page.set_viewport_size(SMALL_PHONE)
    page.goto("/")
    page.get_by_label(NUMERO_LABEL).fill(SOPHIE["numero"])
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
    for count, digit in enumerate(SOPHIE["pin"][2:], start=3):
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
    """A segmented control: the three tabs on one row, the current one marked."""
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/premiere-connexion")
    links = page.get_by_role("navigation", name="Espace Agent").get_by_role("link")
    expect(links).to_have_count(3)
    tops = {round(link.bounding_box()["y"]) for link in links.all()}
    assert len(tops) == 1, f"the tabs are on {len(tops)} rows"
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
