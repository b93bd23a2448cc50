"""The delegation's working day in a real browser: search → agent page → unlock, the dashboard, the export.

JavaScript on and off, at 390 px (a phone) and 1280 px (a desk) wide, axe on every page.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect
from wide_screens import audit_page, context, width  # noqa: F401 (fixtures, used by name)

from tests_support.browser import heading
from tests_support.personas import SOPHIE
from tests_support.staff import log_in_staff_in_browser

pytestmark = pytest.mark.e2e


def open_back_office(page: Page) -> None:
    """The back office's login as the Bretagne staff, until its first page."""
    log_in_staff_in_browser(page)
    expect(heading(page, "Délégation régionale Bretagne")).to_be_visible()


def test_search_an_agent_open_the_page_and_unlock_the_account(page: Page, mailbox, audit_page, js):
    open_back_office(page)
    audit_page(page)
    search = page.get_by_role("searchbox", name="Rechercher un agent")
    search.fill("2908836")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    expect(page).to_have_title("Erreur : Recherche « 2908836 » – Espace Agent C.G.O.S")
    expect(page.get_by_role("alert")).to_be_visible()
    audit_page(page)

    page.get_by_role("searchbox", name="Rechercher un agent").fill("bernard sophie")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("1 agent trouvé")
    audit_page(page)
    page.get_by_role("link", name="Sophie BERNARD").click()

    expect(heading(page, "Sophie BERNARD")).to_be_visible()
    expect(page.get_by_text("29088361 J")).to_be_visible()
    expect(page.get_by_text("sop*****@example.org")).to_be_visible()
    expect(page.get_by_text(SOPHIE.email)).to_have_count(0)
    audit_page(page)
    page.get_by_role("button", name="Afficher", exact=True).click()
    expect(page.get_by_text(SOPHIE.email)).to_be_visible()
    if js:  # the answer comes to a POST-only address: htmx pushes no URL a reload could not open
        expect(page).to_have_url(re.compile(r"/delegation/agents/\d+$"))

    page.get_by_role("button", name="Débloquer le compte").click()
    expect(heading(page, "Débloquer le compte : Sophie BERNARD (29088361 J)")).to_be_visible()
    audit_page(page)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Le compte est débloqué")).to_be_visible()
    expect(heading(page, "Sophie BERNARD")).to_be_visible()
    audit_page(page)
    assert "débloqué" in mailbox.wait_for(SOPHIE.email).get_body(preferencelist=("plain",)).get_content()

    page.get_by_role("button", name="Renvoyer le numéro C.G.O.S").click()
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Le numéro C.G.O.S est envoyé")).to_be_visible()


def test_the_dashboard_and_the_export(page: Page, audit_page):
    open_back_office(page)
    page.get_by_role("link", name="Tableau de bord").click()
    expect(heading(page, "Tableau de bord : Délégation régionale Bretagne")).to_be_visible()
    expect(page.get_by_role("img", name="Demandes reçues et traitées par semaine")).to_be_visible()
    audit_page(page)
    page.get_by_text("Voir les données", exact=True).click()
    expect(page.get_by_role("table").last.get_by_role("row")).to_have_count(13)
    audit_page(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exporter").click()
    download = download_info.value
    assert download.suggested_filename.startswith("demandes-en-attente-")
    content = open(download.path(), encoding="utf-8").read()
    assert content.startswith("\ufeff")
    header = next(csv.reader(io.StringIO(content.removeprefix("\ufeff")), delimiter=";"))
    assert header[:3] == ["Type", "Reçue le", "Jours ouvrés d'attente"]
