"""What browser tests (Playwright, tests/e2e) do and check the same way on every flow: the page's
heading, a full page load or an htmx swap, the GOV.UK error summary, and an agent's identification
step. Logging a staff member in is `tests_support.staff.log_in_staff_in_browser`."""

import re

from playwright.sync_api import Page, expect

from tests_support.personas import AgentPersona

FIRST_CONNECTION_HEADING = "Vous n'avez pas encore de mot de passe"


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


def type_identity(page: Page, person: AgentPersona, numero: str | None = None) -> None:
    """The identification step's fields as `person` (numéro unless given, birth year and month), « Continuer »."""
    page.get_by_label("Numéro C.G.O.S").fill(numero or person.numero)
    page.get_by_label("Année de naissance").fill(str(person.birth_date.year))
    page.get_by_label("Mois de naissance").select_option(label=person.birth_month_name)
    page.get_by_role("button", name="Continuer").click()


def identify_in_browser(page: Page, person: AgentPersona, audit=None, url: str = "/premiere-connexion") -> None:
    """« 1ère connexion » (at `url`, a mail's link for instance) as `person`, the page audited first if asked."""
    page.goto(url)
    expect(heading(page, FIRST_CONNECTION_HEADING)).to_be_visible()
    if audit is not None:
        audit(page)
    type_identity(page, person)
