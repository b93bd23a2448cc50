"""Browser fixtures: one Chromium per session, a fresh live server, database and context per test.

Every flow runs twice (`js-on`, `js-off`) at a 390 px wide viewport; mails go
to a real SMTP server (aiosmtpd) so tests read what an agent would receive,
and axe audits every page visited.
"""

import email
import email.message
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from cgos import mail
from cgos.extensions import db
from tests_support.servers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH = 390
VIEWPORT = {"width": WIDTH, "height": 844}
# WCAG 2.5.5 (AAA) size for every control and keypad key; 2.5.8 (AA) for a link alone on its line.
CONTROL_MIN = 44
LINK_MIN = 24
TIMEOUT_MS = 10_000
# Let expect() wait as long as actions do: the 2-core CI machine is slow at times.
expect.set_options(timeout=TIMEOUT_MS)


# --- Mail -------------------------------------------------------------------


@dataclass
class Mailbox:
    """The mails the SMTP server received, parsed with the standard library."""

    messages: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):
        """aiosmtpd hook: keep the message, wake whoever waits for it."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        """Forget the mails of a previous test."""
        with self.arrived:
            self.messages.clear()

    def wait_for(self, address: str, timeout: float = 10) -> email.message.EmailMessage:
        """The newest mail to `address`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                found = [m for m in self.messages if address.lower() in str(m["To"]).lower()]
                if found:
                    return found[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no mail to {address} within {timeout}s; got {self.recipients()}")
                self.arrived.wait(remaining)

    def recipients(self) -> list[str]:
        """Who received mail so far (for failure messages)."""
        return [str(m["To"]) for m in self.messages]

    def provisional_pin(self, address: str) -> str:
        """The provisional password mailed to `address`, read from the mail's text part."""
        return provisional_pin(self.wait_for(address))

    def links(self, address: str) -> list[str]:
        """The links of the newest mail to `address` (absolute URLs on a line of their own)."""
        return mail_links(self.wait_for(address))


def text_part(message: email.message.EmailMessage) -> str:
    """The plain-text part every mail carries."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "mail without a text part"
    return part.get_content()


def provisional_pin(message: email.message.EmailMessage) -> str:
    """The PIN on the line `Mot de passe provisoire : 123456`."""
    found = re.search(r"^Mot de passe provisoire : (\d{6})\s*$", text_part(message), re.MULTILINE)
    assert found, f"no provisional password line in:\n{text_part(message)}"
    return found.group(1)


def mail_links(message: email.message.EmailMessage) -> list[str]:
    """The absolute URLs standing on a line of their own."""
    return re.findall(r"^(https?://\S+)\s*$", text_part(message), re.MULTILINE)


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on localhost for the whole session."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    """The mails received during this test: `mailbox.wait_for(address)`."""
    smtp_server.handler.clear()
    return smtp_server.handler


# --- Live server --------------------------------------------------------------


@pytest.fixture
def live_app(make_app, smtp_server):
    """The app the live server serves: a test prepares its data in `with live_app.app_context()`."""
    return make_app(SERVER_NAME=None, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)


@pytest.fixture
def live_server(live_app):
    """The portal served over HTTP on a free port, on a fresh copy of the demo database."""
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Checked every 50 ms for the shutdown of the teardown (0.5 s by default, once per test).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    # The first request started the mail sender thread (MAIL_DELIVERY "thread"): it goes with the server.
    mail.stop_sender(app)
    with app.app_context():
        db.engine.dispose()


# --- Browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, launched once for the session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def js(request) -> bool:
    """Whether JavaScript runs: every flow is tested both ways."""
    return request.param


@pytest.fixture
def context(browser, live_server, js):
    """A new browser profile (no cookies) for this test, 390 px wide."""
    context = browser.new_context(java_script_enabled=js, viewport=VIEWPORT, base_url=live_server, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context) -> Page:
    """The agent's tab."""
    return context.new_page()


# --- Accessibility and layout -------------------------------------------------


def blocking_violations(results: dict) -> list[str]:
    """Every axe violation, whatever its impact, one line per rule with its targets."""
    lines = []
    for violation in results["violations"]:
        targets = [", ".join(map(str, node["target"])) for node in violation["nodes"]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
    return lines


@pytest.fixture(scope="session")
def axe() -> Axe:
    """axe-core, loaded once."""
    return Axe()


def run_axe(page: Page, axe: Axe) -> dict:
    """axe's violations on the page as it is now.

    axe is injected once per document: after an htmx swap, or a snapshot
    written into the auditor, the one already there runs again (parsing its
    570 kB anew for each audit cost more than the audit).
    """
    if page.evaluate("typeof axe") == "undefined":
        page.evaluate(axe.axe_script)
    return page.evaluate("axe.run({resultTypes: ['violations']})")


@pytest.fixture(scope="session")
def html_auditor(browser, axe):
    """`html_auditor(page)`: axe results for the page as a browser without JavaScript renders it.

    axe needs JavaScript, and does not run in a context where JavaScript is
    off. So the page's HTML is written into one JavaScript-on tab kept for
    the session, at the page's origin (its stylesheets load from the server),
    with every script blocked except axe, which is injected.
    """
    context = browser.new_context(viewport=VIEWPORT)
    auditor = context.new_page()

    def serve(route):
        """A blank page at any address (the snapshot is written into it), no script, the rest from the server."""
        request = route.request
        if request.is_navigation_request():
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body="<!doctype html><title></title>")
        elif request.resource_type == "script" or request.url.split("?")[0].endswith(".js"):
            route.abort()
        else:
            route.continue_()

    auditor.route("**/*", serve)

    def audit_html(page: Page) -> dict:
        """Write the page's HTML into the auditor at the page's size, then run axe there."""
        origin = re.match(r"https?://[^/]+", page.url).group(0)
        if not auditor.url.startswith(origin + "/"):
            auditor.goto(origin + "/")
        auditor.set_viewport_size(page.viewport_size)
        auditor.set_content(page.content())
        assert auditor.evaluate("typeof htmx") == "undefined", "page scripts were not blocked"
        return run_axe(auditor, axe)

    yield audit_html
    context.close()


@pytest.fixture
def axe_check(js, axe, html_auditor):
    """`axe_check(page)`: fail on any axe violation of the page as shown, whatever its impact.

    With JavaScript on, axe runs in the page itself; a page seen with
    JavaScript off is audited as its HTML, in the `html_auditor`.
    """

    def check(page: Page) -> None:
        """Audit the page; the assertion message lists each blocking rule and its targets."""
        results = run_axe(page, axe) if js else html_auditor(page)
        problems = blocking_violations(results)
        assert not problems, f"axe on {page.url} ({'js-on' if js else 'js-off'}):\n" + "\n".join(problems)

    return check


TARGETS_SCRIPT = """
(minimums) => {
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const describe = (el) => `${el.tagName.toLowerCase()} « ${(el.innerText || el.value || "").trim()} »`;
  const small = [];
  const controls = document.querySelectorAll(
    "main button, main input[type=submit], main input[type=button], main a.button, header button, nav a"
  );
  for (const el of controls) {
    if (!visible(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.width < minimums.control || box.height < minimums.control) {
      small.push(`${describe(el)}: ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  // A link alone in its paragraph or list item is a target of its own; links inside a sentence are exempt.
  for (const el of document.querySelectorAll("main a:not(.button)")) {
    if (!visible(el)) continue;
    const parent = el.parentElement;
    const alone = parent && parent.textContent.trim() === el.textContent.trim();
    const box = el.getBoundingClientRect();
    if (alone && box.height < minimums.link) {
      small.push(`${describe(el)}: ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}
"""


@pytest.fixture
def layout_check():
    """`layout_check(page)`: the page fits a 390 px phone and its controls are big enough to touch."""
    return check_layout


@pytest.fixture
def audit(axe_check):
    """`audit(page)`: axe clean and fit for a 390 px touch screen; call it on every page visited."""

    def run(page: Page) -> None:
        """Both checks on the page as it is now, once its stylesheet has loaded."""
        page.wait_for_load_state("load")
        check_layout(page)
        axe_check(page)

    return run


@pytest.fixture
def strict_audit(audit):
    """`strict_audit(page)`: the same as `audit`, which accepts no axe violation of any impact (issue 22)."""
    return audit


def check_layout(page: Page) -> None:
    """Fits 390 px without horizontal scroll; buttons and keys at least 44x44, lone links 24 px high.

    Playwright's evaluate runs even where the page's JavaScript is off, so the
    same measures apply to both.
    """
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= WIDTH, f"horizontal scroll on {page.url}: {scroll_width}px > {WIDTH}px"
    small = page.evaluate(TARGETS_SCRIPT, {"control": CONTROL_MIN, "link": LINK_MIN})
    assert not small, f"touch targets too small on {page.url}:\n" + "\n".join(small)


# --- Passkeys -------------------------------------------------------------------


@pytest.fixture
def authenticator(page: Page) -> dict:
    """A phone's platform authenticator in Chromium (CTAP2, internal, resident keys, user verified),
    through the DevTools protocol: `{"cdp": session, "id": authenticator id}`.

    Passkeys need the site as http://localhost:PORT (a browser refuses 127.0.0.1 as RP ID): a test
    module using it overrides `live_server` with `live_server.replace("127.0.0.1", "localhost")`.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    authenticator_id = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]
    return {"cdp": cdp, "id": authenticator_id}
