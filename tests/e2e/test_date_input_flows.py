"""« Date de naissance » typed as an iPhone's digit pad types it (issue 22, item 1): digits only,
at 390 × 844; with JavaScript the slashes appear as they are typed, without the server reads the digits."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests_support.browser import heading
from tests_support.personas import with_nir_key

pytestmark = pytest.mark.e2e

# A woman born in March 1985 in Rennes, unknown to the C.G.O.S.
NIR_BODY = "2850335238999"
NIR = with_nir_key(NIR_BODY)
HINT = "Par exemple : 14/03/1985, ou 14031985."


def to_identity_page(page: Page, audit) -> None:
    """« Demande de n°C.G.O.S »: the NIR, then « Votre identité »."""
    page.goto("/demande-numero")
    page.get_by_label("Numéro de sécurité sociale").fill(NIR)
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, "Votre identité")).to_be_visible()
    audit(page)


def test_a_birth_date_typed_as_digits_only_reaches_the_next_step(page, js, audit):
    assert page.viewport_size == {"width": 390, "height": 844}
    to_identity_page(page, audit)
    page.get_by_label("Civilité").select_option(label="Madame")
    page.get_by_role("textbox", name="Nom", exact=True).fill("Le Goff")
    page.get_by_label("Prénom").fill("Camille")
    birth_date = page.get_by_label("Date de naissance")
    expect(birth_date).to_have_attribute("inputmode", "numeric")
    expect(birth_date).to_have_accessible_description(HINT)
    birth_date.press_sequentially("14031985")
    # With JavaScript the slashes come as the digits are typed; without, the field keeps the digits.
    expect(birth_date).to_have_value("14/03/1985" if js else "14031985")
    page.get_by_label("Email personnel").fill("camille.legoff@example.net")
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, "Votre adresse")).to_be_visible()
    expect(page.locator(".steps")).to_have_text("Étape 3 sur 6")
    audit(page)
    # The server read 14 March 1985: « Retour » shows it as a date is read.
    page.goto("/demande-numero/inscription")
    expect(page.get_by_label("Date de naissance")).to_have_value("14/03/1985")


@pytest.mark.parametrize("js", [True], ids=["js-on"], indirect=True)
def test_the_slashes_never_fight_a_correction_or_a_pasted_date(page, js, audit):
    """The slashes are the script's: without JavaScript the field is a plain text field."""
    to_identity_page(page, audit)
    birth_date = page.get_by_label("Date de naissance")
    birth_date.press_sequentially("1403198")
    expect(birth_date).to_have_value("14/03/198")
    # Deleting back over a slash deletes it and the digits before it, one key at a time.
    for expected in ("14/03/19", "14/03/1", "14/03/", "14/03", "14/0"):
        birth_date.press("Backspace")
        expect(birth_date).to_have_value(expected)
    birth_date.press_sequentially("31985")
    expect(birth_date).to_have_value("14/03/1985")
    # A slash typed by hand is kept, and a date pasted with other separators is left as it is.
    birth_date.fill("")
    birth_date.press_sequentially("1/3/1985")
    expect(birth_date).to_have_value("1/3/1985")
    birth_date.fill("14-03-1985")
    expect(birth_date).to_have_value("14-03-1985")
    # A digit typed in the middle stays where the cursor is.
    birth_date.fill("")
    birth_date.press_sequentially("14031985")
    birth_date.press("Home")
    birth_date.press("Delete")
    birth_date.press("2")
    expect(birth_date).to_have_value("24/03/1985")
    assert birth_date.evaluate("field => field.selectionStart") == 1
    expect(page).not_to_have_title(re.compile(r"^Erreur"))
