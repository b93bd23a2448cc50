"""« Demande de n°C.G.O.S » on a phone (390 × 844), JavaScript on and off: the answers are never lost by accident
(« Abandonner ma demande » asks first, « Retour » and the same NIR bring them back, another NIR starts empty), and
the establishment page (an error goes when its answer changes, a choice shows as « … choisie : … — Changer »).
axe finds no violation of any impact on any page."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests_support.browser import heading
from tests_support.personas import ANNE, with_nir_key

pytestmark = pytest.mark.e2e

URL = "/demande-numero"
NIR_LABEL = "Numéro de sécurité sociale"
START_HEADING = "Vous n'avez pas encore de numéro C.G.O.S"
CHECK_HEADING = "Vérifiez vos réponses"
ESTABLISHMENT_HEADING = "Votre établissement"
# Anne's NIR (a woman born in March 1991 in Rennes), and a man born in July 1980 there: both unknown to the C.G.O.S.
NIR, OTHER_NIR = ANNE.nir, with_nir_key("1800735238111")
RENNES_INSEE = "35238"
CHU = "Centre Hospitalier Universitaire de Rennes"
PDF = b"%PDF-1.4\n%%EOF\n"
ANSWERS = [
    (
        "/inscription",
        {
            "civility": "Mme",
            "last_name": "Le Goff",
            "first_name": "Camille",
            "birth_date": "21/03/1991",
            "email": "camille.legoff@example.net",
        },
    ),
    (
        "/inscription/adresse",
        {"address_street": "2 rue Henri Le Guilloux", "country": "FR", "postal_code": "35000", "city": "Rennes"},
    ),
    (
        "/inscription/etablissement",
        {"commune_query": "renn", "commune": RENNES_INSEE, "entry_date": "01/09/2015", "position": "titulaire"},
    ),
    ("/inscription/bulletin", {"payslip": {"name": "bulletin.pdf", "mimeType": "application/pdf", "buffer": PDF}}),
]


def spaced(nir: str) -> str:
    """A NIR as written on a carte Vitale: `2 91 03 35 238 456 43`."""
    return " ".join((nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]))


def type_nir(page: Page, nir: str) -> None:
    """The NIR page: the NIR typed in place of whatever the field holds, then « Continuer »."""
    page.get_by_label(NIR_LABEL).fill(nir)
    page.get_by_role("button", name="Continuer", exact=True).click()


def open_tab_and_type_nir(page: Page, nir: str, audit) -> None:
    """The « Demande de n°C.G.O.S » tab, then the NIR."""
    page.goto(URL)
    expect(heading(page, START_HEADING)).to_be_visible()
    audit(page)
    type_nir(page, nir)
    expect(heading(page, "Votre identité")).to_be_visible()


def answer_over_http(page: Page, pages: int = len(ANSWERS)) -> None:
    """Setup only: the first question pages answered as their forms post them (the browser's cookies)."""
    choices = page.request.get(f"/recherche/etablissements?commune={RENNES_INSEE}").text()
    chu = re.search(rf'value="(\d+)"[^>]*>{re.escape(CHU)}<', choices).group(1)
    for path, fields in ANSWERS[:pages]:
        form = page.request.get(URL + path).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        extra = {"establishment": chu} if path.endswith("etablissement") else {}
        response = page.request.post(URL + path, multipart={"csrf_token": token, **fields, **extra})
        assert response.ok and "Il y a un problème" not in response.text(), response.text()[:2000]


def identity_is_empty(page: Page) -> None:
    """The identity page as a new registration shows it."""
    expect(page.get_by_role("textbox", name="Nom", exact=True)).to_have_value("")
    expect(page.get_by_label("Email personnel")).to_have_value("")


# --- Item 8: « Abandonner ma demande », « Retour », the same NIR, another NIR ------------------------------


def test_abandoning_asks_once_more_and_continuer_ma_demande_keeps_the_answers(page, js, audit):
    open_tab_and_type_nir(page, spaced(NIR), audit)
    answer_over_http(page)
    page.goto(URL + "/inscription/verification")
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    audit(page)
    # Beside « Envoyer », no other button; below the form, a plain link.
    actions = page.locator("form .actions")
    expect(actions.get_by_role("button")).to_have_text(["Envoyer"])
    expect(actions.get_by_role("link")).to_have_count(0)
    expect(page.get_by_role("button", name="Annuler")).to_have_count(0)
    expect(page.get_by_role("link", name="Annuler")).to_have_count(0)
    envoyer = page.get_by_role("button", name="Envoyer", exact=True).bounding_box()
    abandon = page.get_by_role("link", name="Abandonner ma demande")
    assert abandon.bounding_box()["y"] > envoyer["y"] + envoyer["height"], "the link is below « Envoyer »"

    abandon.click()
    expect(heading(page, "Voulez-vous vraiment abandonner votre demande ?")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Abandonner votre demande"))
    audit(page)
    page.get_by_role("link", name="Continuer ma demande").click()
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    expect(page.get_by_text("Le Goff")).to_be_visible()
    expect(page.get_by_text("bulletin.pdf")).to_be_visible()

    page.get_by_role("link", name="Abandonner ma demande").click()
    page.get_by_role("button", name="Oui, abandonner ma demande").click()
    expect(heading(page, START_HEADING)).to_be_visible()
    notice = page.locator(".notice")
    expect(notice).to_have_text("Votre demande de numéro C.G.O.S est abandonnée : vos réponses ont été effacées.")
    expect(notice).to_be_focused()
    expect(page.get_by_label(NIR_LABEL)).to_have_value("")
    audit(page)
    type_nir(page, spaced(NIR))
    expect(heading(page, "Votre identité")).to_be_visible()
    identity_is_empty(page)


def test_retour_keeps_every_answer_back_to_the_nir_typed(page, js, audit):
    open_tab_and_type_nir(page, spaced(NIR), audit)
    answer_over_http(page)
    page.goto(URL + "/inscription/verification")
    expect(heading(page, CHECK_HEADING)).to_be_visible()
    retour = page.get_by_role("link", name="Retour", exact=True)

    retour.click()
    expect(heading(page, "Votre bulletin de paie ou de pension")).to_be_visible()
    expect(page.locator(".kept-file")).to_contain_text("bulletin.pdf")
    audit(page)
    retour.click()
    expect(heading(page, ESTABLISHMENT_HEADING)).to_be_visible()
    expect(page.locator("#commune-chosen")).to_contain_text("Ville choisie : Rennes (35000)")
    expect(page.locator("#establishment-chosen")).to_contain_text(f"Établissement choisi : {CHU}")
    expect(page.get_by_label("Date d'entrée dans votre établissement")).to_have_value("01/09/2015")
    expect(page.get_by_label("Votre position statutaire").locator("option:checked")).to_have_text("Titulaire")
    audit(page)
    retour.click()
    expect(heading(page, "Votre adresse")).to_be_visible()
    expect(page.get_by_label("N° et voie")).to_have_value("2 rue Henri Le Guilloux")
    expect(page.get_by_label("Code postal")).to_have_value("35000")
    audit(page)
    retour.click()
    expect(heading(page, "Votre identité")).to_be_visible()
    expect(page.get_by_role("textbox", name="Nom", exact=True)).to_have_value("Le Goff")
    expect(page.get_by_label("Date de naissance")).to_have_value("21/03/1991")
    audit(page)
    retour.click()
    expect(heading(page, START_HEADING)).to_be_visible()
    expect(page.get_by_label(NIR_LABEL)).to_have_value(spaced(NIR))
    audit(page)
    # « Continuer » with the NIR as it came back: the answers are all there, up to « Vérifiez vos réponses ».
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(page.get_by_role("textbox", name="Prénom", exact=True)).to_have_value("Camille")
    for title in ("Votre adresse", ESTABLISHMENT_HEADING, "Votre bulletin de paie ou de pension", CHECK_HEADING):
        page.get_by_role("button", name="Continuer", exact=True).click()
        expect(heading(page, title)).to_be_visible()
    expect(page.get_by_text(CHU)).to_be_visible()


def test_the_same_nir_brings_the_answers_back_and_another_nir_starts_empty(page, js, audit):
    open_tab_and_type_nir(page, spaced(NIR), audit)
    answer_over_http(page, pages=2)

    # The same NIR, typed again from the tab (its own spelling): the answers are back.
    page.get_by_role("navigation").get_by_role("link", name="Demande de n°C.G.O.S", exact=True).click()
    expect(heading(page, START_HEADING)).to_be_visible()
    type_nir(page, NIR)
    expect(page.get_by_role("textbox", name="Nom", exact=True)).to_have_value("Le Goff")
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(page.get_by_label("N° et voie")).to_have_value("2 rue Henri Le Guilloux")

    # Another NIR: an empty registration, and the first NIR's answers are gone.
    page.get_by_role("navigation").get_by_role("link", name="Demande de n°C.G.O.S", exact=True).click()
    type_nir(page, spaced(OTHER_NIR))
    expect(heading(page, "Votre identité")).to_be_visible()
    expect(page.get_by_text(f"({OTHER_NIR[0]} •• •• •• ••• ••• {OTHER_NIR[13:]})")).to_be_visible()
    identity_is_empty(page)
    audit(page)
    page.get_by_role("navigation").get_by_role("link", name="Demande de n°C.G.O.S", exact=True).click()
    expect(page.get_by_label(NIR_LABEL)).to_have_value(spaced(OTHER_NIR))
    type_nir(page, spaced(NIR))
    identity_is_empty(page)


# --- Item 9: the establishment page -------------------------------------------------------------------


def expect_field_error(page: Page, field, message: str) -> None:
    """The message beside the field, tied to it, and its line in the summary."""
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    expect(page.get_by_role("alert").get_by_role("link", name=message)).to_be_visible()


def expect_no_field_error(page: Page, field, message: str) -> None:
    """Neither the message beside the field nor its line in the summary."""
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(message)).to_have_count(0)


def test_an_error_goes_as_its_answer_is_typed_on_a_question_page(page, js, audit):
    open_tab_and_type_nir(page, spaced(NIR), audit)
    last_name = page.get_by_role("textbox", name="Nom", exact=True)
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect_field_error(page, last_name, "Saisissez votre nom.")
    audit(page)
    if js:
        # The question pages' script comes with the errors (not in the bundle): htmx runs it with the page it
        # swapped in, once it has loaded (the summary shows before that).
        page.wait_for_function("window.cgosQuestionPages === true")
    last_name.fill("Le Goff")
    if js:
        expect_no_field_error(page, last_name, "Saisissez votre nom.")
        audit(page)
    else:
        # Without JavaScript the message stays until the page is sent again.
        expect_field_error(page, last_name, "Saisissez votre nom.")


def test_the_establishment_page_clears_an_error_as_its_answer_changes_and_shows_each_choice_as_one_line(
    page, js, audit
):
    open_tab_and_type_nir(page, spaced(NIR), audit)
    answer_over_http(page, pages=2)
    # Reached as a person does, from the address page: with JavaScript, swapped in by htmx.
    page.goto(URL + "/inscription/adresse")
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, ESTABLISHMENT_HEADING)).to_be_visible()
    audit(page)
    city = page.get_by_label("Ville de votre établissement")
    entry = page.get_by_label("Date d'entrée dans votre établissement")
    choose_city = "Choisissez la ville de votre établissement dans la liste proposée."
    give_entry = "Saisissez votre date d'entrée dans votre établissement."

    city.fill("renn")
    if js:
        # Enter in the city's field searches, as « Rechercher » does, instead of sending the page.
        expect(page.locator("#commune-results").get_by_role("button", name="Rennes (35000)")).to_be_visible()
        posts = []
        page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
        with page.expect_response(lambda response: "/recherche/communes" in response.url):
            city.press("Enter")
        expect(page.locator("#commune-results").get_by_role("button", name="Rennes (35000)")).to_be_visible()
        assert posts == [], posts
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    expect_field_error(page, city, choose_city)
    expect_field_error(page, entry, give_entry)
    audit(page)

    entry.fill("01/09/2015")
    if js:
        # Typed: its message goes at once, the other stays.
        expect_no_field_error(page, entry, give_entry)
        expect_field_error(page, city, choose_city)
        audit(page)
    else:
        page.get_by_role("button", name="Rechercher : Ville de votre établissement").click()
        expect(heading(page, ESTABLISHMENT_HEADING)).to_be_visible()
    results = page.locator("#commune-results")
    results.get_by_role("button", name="Rennes (35000)").click()

    chosen_city = page.locator("#commune-chosen")
    expect(chosen_city).to_have_text("Ville choisie : Rennes (35000) — Changer : Ville de votre établissement")
    expect(chosen_city).to_be_focused()
    expect(page.get_by_role("button", name="Changer : Ville de votre établissement")).to_be_visible()
    expect(page.get_by_text(choose_city)).to_have_count(0)
    if js:
        # The one answer not changed yet keeps its error, and its line in the summary.
        expect(page.get_by_role("alert").get_by_role("listitem")).to_have_count(1)
        expect_field_error(
            page, page.get_by_label("Votre position statutaire"), "Choisissez votre position statutaire."
        )
    else:
        # A choice re-renders the page without checking it: no error until « Continuer ».
        expect(page.get_by_role("alert")).to_have_count(0)
        expect(page).not_to_have_title(re.compile(r"^Erreur"))
    expect(entry).to_have_value("01/09/2015")
    if js:
        expect(page.locator("#establishment-chooser-status")).to_have_text("Ville choisie : Rennes (35000)")
    audit(page)

    page.locator("#establishment-results").get_by_role("button", name=CHU, exact=True).click()
    chosen = page.locator("#establishment-chosen")
    expect(chosen).to_have_text(f"Établissement choisi : {CHU} — Changer : Nom de votre établissement")
    expect(chosen).to_be_focused()
    if js:
        expect(page.locator("#establishment-chooser-status")).to_have_text(f"Établissement choisi : {CHU}")
    audit(page)

    # « Changer »: the search again, its field focused; another establishment chosen.
    page.get_by_role("button", name="Changer : Nom de votre établissement").click()
    establishment_field = page.get_by_label("Nom de votre établissement")
    expect(establishment_field).to_be_focused()
    expect(chosen_city).to_be_visible()
    audit(page)
    page.locator("#establishment-results").get_by_role("button", name="Centre Hospitalier Guillaume Régnier").click()
    expect(chosen).to_contain_text("Établissement choisi : Centre Hospitalier Guillaume Régnier")

    page.get_by_role("button", name="Changer : Ville de votre établissement").click()
    expect(city).to_be_focused()
    expect(city).to_have_value("renn")
    expect(page.locator("#establishment-chosen")).to_have_count(0)
    audit(page)
    results.get_by_role("button", name="Rennes (35000)").click()
    page.locator("#establishment-results").get_by_role("button", name=CHU, exact=True).click()
    page.get_by_label("Votre position statutaire").select_option(label="Titulaire")
    if js:
        # The last error gone, so is the summary, and « Erreur : » from the title.
        expect(page.get_by_role("alert")).to_have_count(0)
        expect(page).not_to_have_title(re.compile(r"^Erreur"))
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(heading(page, "Votre bulletin de paie ou de pension")).to_be_visible()
    page.get_by_role("link", name="Retour", exact=True).click()
    expect(chosen).to_contain_text(f"Établissement choisi : {CHU}")
