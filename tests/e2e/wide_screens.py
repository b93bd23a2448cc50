"""The back office in a browser at two widths: a phone (390 px, the suite's checks) and a desk (1280 px).

Test modules import these fixtures; they override conftest's 390 px `context`.
"""

import pytest
from playwright.sync_api import Page


@pytest.fixture(params=[390, 1280], ids=["390px", "1280px"])
def width(request) -> int:
    """The viewport widths the back office is used at."""
    return request.param


@pytest.fixture
def context(browser, live_server, js, width):
    """A new browser profile at the chosen width (overrides the 390 px one of conftest)."""
    context = browser.new_context(
        java_script_enabled=js, viewport={"width": width, "height": 900}, base_url=live_server, locale="fr-FR"
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def audit_page(audit, axe_check, width):
    """axe on every page; the 390 px layout checks too when the viewport is a phone's."""

    def run(page: Page) -> None:
        """Audit the page as it is now."""
        if width == 390:
            audit(page)
            return
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        axe_check(page)

    return run
