"""Every step of every journey as a phone shows it, JavaScript on and off: `make screenshots`.

One server in this process on a free port serves a fresh copy of the demo database
for each run (so every run starts from the same state); one Chromium walks the agent's
journeys at 390 × 844, 390 × 664 and 320 × 568, and the back office at 1280 × 800 and
390 × 844. Into build/screenshots/ go <size>/<js-on|js-off>/NN-step.png with the page's
HTML beside it (JS on: the DOM after htmx's swaps; JS off: the response as served) for
`make check-html`, index.html to browse them, and steps.json / steps.csv with, for each
step, the page-relative bottom of the primary button, the page height and the focused element.

Passkeys need JavaScript and WebAuthn: each JS-on run ends with the passkey journey, on a fresh
app, in a new profile that opens the site as http://localhost:PORT (browsers refuse an IP
address as RP ID) with Chromium's virtual authenticator (a phone's: CTAP2, internal, resident
keys, user verified), driven through the DevTools protocol.

`python scripts/screenshots.py 390x844-js-on bo-1280x800-js-off` walks only those runs.
"""

import csv
import html
import json
import logging
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import unicodedata
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cgos import create_app  # noqa: E402
from cgos.backoffice import totp  # noqa: E402
from cgos.cli import DEMO_STAFF, DEMO_STAFF_TOTP_SECRET  # noqa: E402
from cgos.extensions import db  # noqa: E402
from cgos.identifiers import numero as numero_rules  # noqa: E402
from cgos.mail import open_mail, stop_sender  # noqa: E402
from cgos.models import OutboundMail, utcnow  # noqa: E402

OUT = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PHONES = [(390, 844), (390, 664), (320, 568)]
DESKS = [(1280, 800), (390, 844)]
TIMEOUT_MS = 10_000
PDF = b"%PDF-1.4\n%%EOF\n"

LOGIN_NUMERO = "Entrez votre N° C.G.O.S (avec la lettre)"
KEYPAD = "Votre mot de passe à 6 chiffres"
SOPHIE = {"numero": "29088361 J", "pin": "482915", "year": "1990", "month": "juin"}
SOPHIE_MAIL = "sophie.bernard@example.org"
MARIE = {"numero": "35127846 S", "year": "1985", "month": "mars", "email": "marie.dupont@example.org"}
MARIE_NIR = "2 85 03 35 238 123 88"
NADIA = {"numero": "75236094 N", "year": "1995", "month": "septembre"}
LUC = {"numero": "35477120 M", "password": "Azerty2015!", "year": "1968", "month": "janvier"}
LUC_MAIL = "luc.petit@example.org"
JEAN = {"numero": "22904518 R", "year": "1979", "month": "novembre"}
JEAN_NIR = "1 79 11 22 056 042 50"
# Jean's answers to the questionnaire, by the label of each field, whatever page it is on.
JEAN_ANSWERS = {
    "Numéro C.G.O.S": "22904518 R",
    "Date de naissance": "02/11/1979",
    "Nouvelle adresse mail": "jean.martin@example.org",
    "Confirmation de la nouvelle adresse mail": "jean.martin@example.org",
    "Nom": "MARTIN",
    "Prénom": "Jean",
}
# A woman born in March 1991 in Rennes, unknown to the C.G.O.S: the registration.
NEW_NIR_BODY = "2910335238456"
NEW_NIR = NEW_NIR_BODY + f"{97 - int(NEW_NIR_BODY) % 97:02d}"
NEWCOMER = {
    "last_name": "Le Goff",
    "first_name": "Camille",
    "birth_date": "21/03/1991",
    "email": "camille.legoff@example.net",
    "street": "2 rue Henri Le Guilloux",
    "postal_code": "35000",
    "city": "Rennes",
    "entry_date": "01/09/2015",
    "position": "Titulaire",
    "year": "1991",
    "month": "mars",
}

# A phone's browser, so that a passkey made at a phone size is named as on a phone (« Android — Chrome »).
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
# A phone's platform authenticator in Chromium (the browser tests' own, tests/e2e/conftest.py).
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
# The virtual authenticator answers the numéro field's autofill request at once, where a person
# would pick the passkey in the list: off, so that the login page shows its passkey button.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"
PASSKEY_CREATED = re.compile(r"^Votre clé d'accès « .+ » est créée")

# What a step records: where the primary button ends on the page, the page's height, the focus.
MEASURE = """
() => {
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const describe = (el) => {
    if (!el || el === document.body || el === document.documentElement) return "body";
    let text = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
    if (!el.id && el.classList.length) text += "." + el.classList[0];
    if (/^(A|BUTTON|H\\d|LABEL|SUMMARY)$/.test(el.tagName)) {
      text += " « " + el.innerText.trim().replace(/\\s+/g, " ").slice(0, 50) + " »";
    } else if (el.tagName === "INPUT" && el.name) {
      text += "[name=" + el.name + "]";
    }
    return text;
  };
  const main = document.querySelector("main") || document.body;
  const primary =
    [...main.querySelectorAll("form button.button:not(.button--secondary), form input[type=submit]")].find(visible) ||
    [...main.querySelectorAll("a.button:not(.button--secondary), button.button:not(.button--secondary)")].find(visible);
  const h1 = document.querySelector("h1");
  return {
    url: location.pathname + location.search,
    title: document.title,
    h1: h1 ? h1.innerText.trim() : null,
    primary: primary ? describe(primary) : null,
    primary_bottom: primary ? Math.round(primary.getBoundingClientRect().bottom + window.scrollY) : null,
    page_height: document.documentElement.scrollHeight,
    focus: describe(document.activeElement),
  };
}
"""
# With JavaScript on: true once `main` differs from what was marked and htmx has finished.
SWAPPED = """
() => {
  const main = document.querySelector("main");
  return window.__shotMark === undefined ||
    (main !== null && main.innerHTML !== window.__shotMark &&
     !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling"));
}
"""


def slug(text: str) -> str:
    """Lower-case ASCII words joined by dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40]


class Run:
    """One walk at one size, JavaScript on or off: numbered shots, their HTML and their measures."""

    def __init__(self, kind: str, size: tuple[int, int], js: bool):
        self.kind, self.size, self.js = kind, size, js
        self.name = f"{'bo-' if kind == 'bo' else ''}{size[0]}x{size[1]}-{'js-on' if js else 'js-off'}"
        self.folder = OUT / ("back-office" if kind == "bo" else "") / f"{size[0]}x{size[1]}"
        self.folder = self.folder / ("js-on" if js else "js-off")
        self.steps, self.failures = [], []
        self.context = self.page = None
        self.last_document = None

    def open(self, browser, base: str) -> Page:
        """An empty folder for the run and a new browser profile."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        return self.new_profile(browser, base)

    def new_profile(self, browser, base: str, authenticator: bool = False) -> Page:
        """A new browser profile at this run's size (the previous one closed), its tab keeping the last
        page response for the HTML; with `authenticator`, a phone's virtual authenticator and no autofill."""
        if self.context is not None:
            self.context.close()
        phone = self.size[0] < 800
        self.context = browser.new_context(
            viewport={"width": self.size[0], "height": self.size[1]},
            is_mobile=phone,
            has_touch=phone,
            java_script_enabled=self.js,
            base_url=base,
            locale="fr-FR",
            **({"user_agent": PHONE_USER_AGENT} if authenticator and phone else {}),
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.page.on("response", self.keep_document)
        if authenticator:
            self.context.add_init_script(NO_AUTOFILL)
            cdp = self.context.new_cdp_session(self.page)
            cdp.send("WebAuthn.enable", {"enableUI": False})
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        return self.page

    def keep_document(self, response) -> None:
        """Remember the main frame's last page as served (not a redirect): its body is the JS-off HTML."""
        request = response.request
        if request.resource_type == "document" and response.frame == self.page.main_frame:
            if not 300 <= response.status < 400:
                self.last_document = response

    def close(self) -> None:
        """Close the profile, write the run's record."""
        self.context.close()
        (self.folder / "steps.json").write_text(json.dumps(self.steps, ensure_ascii=False, indent=1))

    def shoot(self, name: str, page: Page | None = None, mail: bool = False) -> None:
        """A full-page PNG of the step, its HTML beside it (not for a mail) and its measures."""
        page = page or self.page
        page.wait_for_load_state("load")
        if self.js and not mail:
            settle(page)
        stem = f"{len(self.steps) + 1:02d}-{name}"
        measures = page.evaluate(MEASURE)
        page.screenshot(path=self.folder / f"{stem}.png", full_page=True)
        html_file = None
        if not mail:
            if self.js:
                body = page.content()
            else:
                body = self.last_document.text() if self.last_document else page.content()
            html_file = f"{stem}.html"
            (self.folder / html_file).write_text(body, encoding="utf-8")
        self.steps.append(
            {
                "run": self.name,
                "step": name,
                "png": f"{stem}.png",
                "html": html_file,
                "viewport_height": self.size[1],
                "fits": None if measures["primary_bottom"] is None else measures["primary_bottom"] <= self.size[1],
                **measures,
            }
        )

    def journey(self, name: str, steps, *args) -> None:
        """Walk one journey; a failure is recorded with a shot of where it stopped, and the run goes on."""
        try:
            steps(self, *args)
        except Exception as error:  # a screenshot run reports and goes on
            lines = str(error).splitlines()
            waiting = [line.strip() for line in lines if "waiting for" in line][:1]
            message = " ".join(lines[:1] + waiting)[:400]
            self.failures.append(f"{self.name} « {name} »: {message}")
            print(f"{self.name}: journey « {name} » stopped: {message}", file=sys.stderr)
            try:
                self.shoot(f"stopped-{slug(name)}")
            except Exception:  # noqa: S110 - the page may be gone; the failure is already recorded
                pass


# --- Driving the pages ---------------------------------------------------------------


def settle(page: Page) -> None:
    """Wait until htmx has swapped and settled (JS on)."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')", polling=50)
    page.wait_for_timeout(60)


def act(run: Run, locator) -> None:
    """Click a link or a submit button and wait for the page it brings: a load without JS, a swap with."""
    page = run.page
    if not run.js:
        with page.expect_navigation():
            locator.click()
        return
    page.evaluate("window.__shotMark = (document.querySelector('main') || {}).innerHTML")
    locator.click()
    page.wait_for_function(SWAPPED, polling=50)
    page.wait_for_load_state("load")
    settle(page)


def wait_errors(page: Page) -> None:
    """Wait for the error summary (« Il y a un problème », or a warning in its place)."""
    page.locator(".error-summary").first.wait_for()


def heading(page: Page, text):
    """The page's main heading."""
    return page.get_by_role("heading", level=1, name=text)


def wait_heading(page: Page, text) -> None:
    """Wait until the main heading says `text`."""
    heading(page, text).wait_for()


def button(page: Page, name: str):
    """A button of the page's main part, by its exact name."""
    return page.locator("main").get_by_role("button", name=name, exact=True)


def type_pin(run: Run, pin: str) -> None:
    """Press the keypad's keys; without JavaScript each press is a page of its own."""
    keypad = run.page.get_by_role("group", name=KEYPAD)
    for digit in pin:
        key = keypad.get_by_role("button", name=digit, exact=True)
        if run.js:
            key.click()
        else:
            with run.page.expect_navigation():
                key.click()


def log_in(run: Run, numero: str, pin: str) -> None:
    """« Se connecter »: numéro, the PIN on the keypad, « Valider »."""
    run.page.get_by_label(LOGIN_NUMERO).fill(numero)
    type_pin(run, pin)
    act(run, button(run.page, "Valider"))


def identify(run: Run, agent: dict) -> None:
    """The identity step of « 1ère connexion » or « Mot de passe oublié »: numéro, birth year and month."""
    page = run.page
    page.get_by_label("Numéro C.G.O.S").fill(agent["numero"])
    page.get_by_label("Année de naissance").fill(agent["year"])
    page.get_by_label("Mois de naissance").select_option(label=agent["month"])
    act(run, button(page, "Continuer"))


def confirm_address(run: Run, address: str) -> None:
    """Type an address twice, « Confirmer »."""
    page = run.page
    page.get_by_role("textbox", name="Adresse mail", exact=True).fill(address)
    page.get_by_label("Confirmation d'adresse mail").fill(address)
    act(run, button(page, "Confirmer"))


def newest_mail(app, address: str, needle: str = ""):
    """The newest mail to `address` whose text holds `needle`: (text, HTML), waiting for it."""
    deadline = time.monotonic() + 10
    while True:
        with app.app_context():
            rows = db.session.scalars(
                db.select(OutboundMail).where(OutboundMail.recipient == address).order_by(OutboundMail.id.desc())
            ).all()
            for row in rows:
                opened = open_mail(row)
                if needle in (opened.text_body or ""):
                    return opened.text_body, opened.html_body
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} with « {needle} »")
        time.sleep(0.2)


def shoot_mail(run: Run, name: str, mail_html: str | None) -> None:
    """The mail's HTML part as a phone's mail app shows it, in a tab of its own."""
    if not mail_html:
        return
    tab = run.context.new_page()
    try:
        tab.set_content(mail_html)
        run.shoot(name, page=tab, mail=True)
    finally:
        tab.close()


def mail_link(text: str, contains: str) -> str:
    """The URL on a line of its own in a mail's text that contains `contains`."""
    return next(url for url in re.findall(r"^(https?://\S+)\s*$", text, re.M) if contains in url)


# --- The agent's journeys ------------------------------------------------------------------


def login(run: Run) -> None:
    """Sophie: the login page, three digits, an incomplete PIN, wrong PINs with the warnings, the lockout."""
    page = run.page
    page.goto("/")
    run.shoot("login")
    page.get_by_label(LOGIN_NUMERO).fill(SOPHIE["numero"])
    type_pin(run, SOPHIE["pin"][:3])
    run.shoot("login-3-digits")
    act(run, button(page, "Valider"))
    wait_errors(page)
    run.shoot("login-incomplete-pin")
    for attempt in range(1, 6):
        log_in(run, SOPHIE["numero"], "000000")
        if attempt == 5:
            wait_heading(page, "Renvoi du mot de passe")
            run.shoot("login-lockout")
        elif attempt != 2:
            wait_errors(page)
            run.shoot(f"login-wrong-pin-{attempt}")


def forgotten_password(run: Run, app) -> None:
    """« Mot de passe oublié ? », then Luc's old password on the keyboard, carried to its renewal, up to the mail."""
    page = run.page
    page.goto("/")
    act(run, page.get_by_role("link", name="Mot de passe oublié ?"))
    wait_heading(page, "Renvoi du mot de passe")
    run.shoot("forgot")
    act(run, button(page, "Continuer"))
    wait_errors(page)
    run.shoot("forgot-errors")
    page.goto("/")
    act(run, page.get_by_role("link", name="Saisir mon mot de passe au clavier"))
    run.shoot("login-keyboard")
    page.get_by_label(LOGIN_NUMERO).fill(LUC["numero"])
    page.get_by_label(KEYPAD).fill(LUC["password"])
    act(run, button(page, "Valider"))
    wait_heading(page, "Renvoi du mot de passe")
    run.shoot("forgot-legacy-password")
    identify(run, LUC)
    page.get_by_label("Confirmation d'adresse mail").wait_for()
    run.shoot("forgot-mail")
    confirm_address(run, LUC_MAIL)
    wait_heading(page, "Confirmation envoi du mot de passe provisoire")
    run.shoot("forgot-sent")
    shoot_mail(run, "mail-provisional-password", newest_mail(app, LUC_MAIL, "Mot de passe provisoire")[1])


def first_connection(run: Run) -> None:
    """« 1ère connexion »: errors, « Validation impossible », Marie's masked address, a wrong one, sent."""
    page = run.page
    page.goto("/")
    act(run, page.get_by_role("navigation").get_by_role("link", name="1ère connexion", exact=True))
    wait_heading(page, "Vous n'avez pas encore de mot de passe")
    run.shoot("first")
    act(run, button(page, "Continuer"))
    wait_errors(page)
    run.shoot("first-errors")
    page.goto("/premiere-connexion")
    identify(run, SOPHIE)
    wait_heading(page, "Validation impossible")
    run.shoot("first-validation-impossible")
    page.goto("/premiere-connexion")
    identify(run, MARIE)
    wait_heading(page, "Confirmation de votre adresse mail")
    run.shoot("first-mail")
    confirm_address(run, "marie.durand@example.org")
    wait_errors(page)
    run.shoot("first-mail-wrong")
    confirm_address(run, MARIE["email"])
    wait_heading(page, "Confirmation envoi du mot de passe provisoire")
    run.shoot("first-sent")


def wrong_mail_branch(run: Run) -> None:
    """Nadia: « Demande de modification », then three wrong addresses lead to the questionnaire."""
    page = run.page
    page.goto("/premiere-connexion")
    identify(run, NADIA)
    wait_heading(page, "Confirmation de votre adresse mail")
    act(run, page.get_by_role("link", name="Demande de modification de mon adresse mail"))
    run.shoot("first-mail-change-request")
    page.goto("/premiere-connexion")
    identify(run, NADIA)
    wait_heading(page, "Confirmation de votre adresse mail")
    for attempt in (1, 2, 3):
        confirm_address(run, "nadia.h@example.org")
        if attempt == 2:
            wait_errors(page)
            run.shoot("first-mail-wrong-2")
    wait_heading(page, "Vous avez constaté que votre adresse de messagerie est inexacte")
    run.shoot("first-mail-wrong-3")
    act(run, page.get_by_role("link", name="Compléter le questionnaire"))
    run.shoot("quest-from-wrong-mail")


def questionnaire(run: Run) -> None:
    """Jean has no address: « Compléter le questionnaire », then each of its pages up to « Envoyer »."""
    page = run.page
    page.goto("/premiere-connexion")
    identify(run, JEAN)
    page.get_by_role("link", name="Compléter le questionnaire").wait_for()
    run.shoot("first-no-mail")
    act(run, page.get_by_role("link", name="Compléter le questionnaire"))
    for number in range(1, 13):
        title = page.locator("h1").inner_text().strip()
        if page.locator(".panel--success").count() or "envoyé" in title:
            run.shoot("quest-sent")
            return
        prefix = f"quest-{number}"
        run.shoot(f"{prefix}-{slug(title)}")
        submit = questionnaire_submit(page)
        if number == 1:
            act(run, submit)
            wait_errors(page)
            run.shoot(f"{prefix}-errors")
        answer_questionnaire_page(run, prefix)
        act(run, questionnaire_submit(page))
        if page.locator(".error-summary").count():
            raise AssertionError(f"the questionnaire refused Jean's answers on « {title} »")
    raise AssertionError("the questionnaire did not end within 12 pages")


def questionnaire_submit(page: Page):
    """« Envoyer » where there is one, else « Continuer »."""
    send = button(page, "Envoyer")
    return send if send.count() else button(page, "Continuer")


def answer_questionnaire_page(run: Run, prefix: str) -> None:
    """Answer whatever fields of Jean's questionnaire this page holds."""
    page = run.page
    for label, value in JEAN_ANSWERS.items():
        field = page.locator("main").get_by_role("textbox", name=label, exact=True)
        if field.count() and field.is_visible() and field.is_editable() and not field.input_value():
            field.fill(value)
    if page.locator("main").get_by_role("textbox", name="Ville de votre établissement").count():
        choose_establishment(run, prefix, "Saint-", r"^Saint-Brieuc \(", None, "Centre Hospitalier Yves Le Foll")
    payslip = page.locator("main input[type=file]")
    if payslip.count() and not page.locator(".kept-file").count():
        payslip.set_input_files({"name": "bulletin.pdf", "mimeType": "application/pdf", "buffer": PDF})


def choose_establishment(run: Run, prefix: str, city_query: str, city: str, query: str | None, name: str) -> None:
    """« Ville de votre établissement », then « Nom de votre établissement », chosen from the lists offered.

    A choice offered is a radio to tick or a button that chooses it (and, without JavaScript, submits).
    """
    page = run.page
    main = page.locator("main")
    field = main.get_by_role("textbox", name="Ville de votre établissement")
    if run.js:
        field.press_sequentially(city_query, delay=30)
    else:
        field.fill(city_query)
        act(run, page.get_by_role("button", name="Rechercher : Ville de votre établissement"))
    commune = offered(page.locator("#commune-results"), re.compile(city), exact=False)
    commune.wait_for()
    if run.js:
        settle(page)
    run.shoot(f"{prefix}-city-results")
    commune_was_radio = pick(run, commune)
    chosen = main.get_by_text(re.compile(r"^Établissement choisi :"))
    if query:
        search = main.get_by_role("textbox", name="Nom de votre établissement")
        if run.js:
            settle(page)
            search.press_sequentially(query, delay=30)
        else:
            search.fill(query)
    search_button = page.get_by_role("button", name="Rechercher : Nom de votre établissement")
    if not run.js and (query or commune_was_radio) and search_button.count():
        act(run, search_button)
    establishment = offered(page.locator("#establishment-results"), name, exact=True)
    establishment.or_(chosen).first.wait_for()
    if run.js:
        settle(page)
    if not chosen.count():
        if establishment.evaluate("choice => choice.type") != "radio":
            run.shoot(f"{prefix}-establishment-results")
        pick(run, establishment)
    run.shoot(f"{prefix}-establishment-chosen")


def offered(results, name, exact: bool):
    """A choice in a list of results: a radio, or a button."""
    return (
        results.get_by_role("radio", name=name, exact=exact)
        .or_(results.get_by_role("button", name=name, exact=exact))
        .first
    )


def pick(run: Run, choice) -> bool:
    """Tick a radio, or press a choice's button; whether it was a radio."""
    if choice.evaluate("choice => choice.type") == "radio":
        if not choice.is_checked():
            choice.check()
        if run.js:
            settle(run.page)
        return True
    act(run, choice)
    return False


def first_login(run: Run, app) -> None:
    """Marie logs in with the mailed PIN: charter, new PIN (a mismatch), personal data (a bad phone), home."""
    page = run.page
    text, mail_html = newest_mail(app, MARIE["email"], "Mot de passe provisoire")
    pin = re.search(r"^Mot de passe provisoire : (\d{6})\s*$", text, re.M).group(1)
    page.goto("/")
    log_in(run, MARIE["numero"], pin)
    wait_heading(page, "Conditions générales d'utilisation")
    run.shoot("account-charter")
    act(run, button(page, "Accepter"))
    wait_heading(page, "Changement du mot de passe provisoire")
    run.shoot("account-new-pin")
    page.get_by_label("Nouveau mot de passe").fill("739154")
    page.get_by_label("Confirmation du mot de passe").fill("739145")
    act(run, button(page, "Valider"))
    wait_errors(page)
    run.shoot("account-new-pin-mismatch")
    page.get_by_label("Nouveau mot de passe").fill("739154")
    page.get_by_label("Confirmation du mot de passe").fill("739154")
    act(run, button(page, "Valider"))
    wait_heading(page, "Données personnelles")
    run.shoot("account-personal-data")
    page.get_by_label("Portable").fill("06 12")
    act(run, button(page, "Valider"))
    wait_errors(page)
    run.shoot("account-personal-data-bad-phone")
    page.get_by_label("Portable").fill("06 12 34 56 78")
    act(run, button(page, "Valider"))
    wait_heading(page, re.compile(r"^Bienvenue"))
    run.shoot("account-home")
    act(run, page.get_by_role("button", name="Se déconnecter"))
    wait_heading(page, "Accès à l'Espace Agent avec votre mot de passe")
    run.shoot("account-logged-out")


def number_request(run: Run, app, base: str) -> None:
    """« Demande de n°C.G.O.S »: a wrong key, two known NIRs, then an unknown one through the registration."""
    page = run.page
    page.goto("/")
    act(run, page.get_by_role("navigation").get_by_role("link", name="Demande de n°C.G.O.S", exact=True))
    wait_heading(page, "Vous n'avez pas encore de numéro C.G.O.S")
    run.shoot("nir")
    submit_nir(run, NEW_NIR[:13] + f"{int(NEW_NIR[13:]) % 97 + 1:02d}")
    wait_errors(page)
    run.shoot("nir-wrong-key")
    submit_nir(run, MARIE_NIR)
    page.get_by_label("Confirmation d'adresse mail").wait_for()
    run.shoot("nir-known")
    confirm_address(run, MARIE["email"])
    wait_heading(page, "Votre numéro C.G.O.S vous a été envoyé")
    run.shoot("nir-known-sent")
    shoot_mail(run, "mail-numero-known", newest_mail(app, MARIE["email"], "Numéro C.G.O.S :")[1])
    page.goto("/demande-numero")
    submit_nir(run, JEAN_NIR)
    page.get_by_text("vous rapprocher de votre délégation régionale").wait_for()
    run.shoot("nir-known-no-mail")
    page.goto("/demande-numero")
    submit_nir(run, spaced(NEW_NIR))
    wait_heading(page, "Votre identité")
    registration(run, app, base)


def spaced(nir: str) -> str:
    """A NIR as written on a carte Vitale."""
    return " ".join((nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]))


def submit_nir(run: Run, nir: str) -> None:
    """Type the NIR, « Continuer »."""
    run.page.get_by_label("Numéro de sécurité sociale").fill(nir)
    act(run, button(run.page, "Continuer"))


def registration(run: Run, app, base: str) -> None:
    """The question pages, « Vérifiez vos réponses », the sent page, the mail's link, the numéro page."""
    page = run.page
    run.shoot("reg-identity")
    act(run, button(page, "Continuer"))
    wait_errors(page)
    run.shoot("reg-identity-errors")
    page.get_by_label("Civilité").select_option(label="Madame")
    page.get_by_role("textbox", name="Nom", exact=True).fill(NEWCOMER["last_name"])
    page.get_by_label("Prénom").fill(NEWCOMER["first_name"])
    page.get_by_label("Date de naissance").fill(NEWCOMER["birth_date"])
    page.get_by_label("Email personnel").fill(NEWCOMER["email"])
    act(run, button(page, "Continuer"))
    wait_heading(page, "Votre adresse")
    run.shoot("reg-address")
    act(run, button(page, "Continuer"))
    wait_errors(page)
    run.shoot("reg-address-errors")
    page.get_by_label("N° et voie").fill(NEWCOMER["street"])
    page.get_by_label("Code postal").fill(NEWCOMER["postal_code"])
    page.get_by_role("combobox", name="Ville", exact=True).fill(NEWCOMER["city"])
    act(run, button(page, "Continuer"))
    wait_heading(page, "Votre établissement")
    run.shoot("reg-establishment")
    choose_establishment(
        run, "reg", "Renn", r"^Rennes \(", "Universitaire", "Centre Hospitalier Universitaire de Rennes"
    )
    page.get_by_label("Date d'entrée dans votre établissement").fill(NEWCOMER["entry_date"])
    page.get_by_label("Votre position statutaire").select_option(label=NEWCOMER["position"])
    act(run, button(page, "Continuer"))
    wait_heading(page, "Votre bulletin de paie ou de pension")
    run.shoot("reg-payslip")
    page.locator("main input[type=file]").set_input_files(
        {"name": "bulletin.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    act(run, button(page, "Continuer"))
    wait_heading(page, "Vérifiez vos réponses")
    run.shoot("reg-check")
    abandon = page.get_by_role("link", name="Abandonner ma demande")
    if abandon.count():
        act(run, abandon)
        run.shoot("reg-abandon")
        page.goto("/demande-numero/inscription/verification")
        wait_heading(page, "Vérifiez vos réponses")
    act(run, button(page, "Envoyer"))
    wait_heading(page, "Confirmez votre adresse mail")
    run.shoot("reg-sent")
    text, mail_html = newest_mail(app, NEWCOMER["email"], "/demande-numero/confirmer/")
    shoot_mail(run, "mail-reg-confirm", mail_html)
    page.goto(mail_link(text, "/demande-numero/confirmer/"))
    wait_heading(page, "Votre numéro C.G.O.S")
    run.shoot("reg-numero")
    text, mail_html = newest_mail(app, NEWCOMER["email"], "Numéro C.G.O.S :")
    shoot_mail(run, "mail-reg-numero", mail_html)
    numero = re.search(r"^Numéro C\.G\.O\.S : (\d{8} [A-Z])\s*$", text, re.M).group(1)
    page.goto("/premiere-connexion")
    identify(run, {"numero": numero, "year": NEWCOMER["year"], "month": NEWCOMER["month"]})
    wait_heading(page, "Demande d'inscription en cours de vérification")
    run.shoot("reg-first-while-pending")
    from tests_support.factories import verify_registrations_of

    with app.test_request_context(base_url=base):
        verify_registrations_of(numero)
        db.session.remove()
    text, mail_html = newest_mail(app, NEWCOMER["email"], "Demander mon mot de passe")
    shoot_mail(run, "mail-reg-verified", mail_html)
    page.goto(mail_link(text, "/premiere-connexion"))
    wait_heading(page, "Vous n'avez pas encore de mot de passe")
    run.shoot("reg-verified-first")


def passkeys(run: Run, portal: "Portal", browser) -> None:
    """Sophie, on a fresh app at http://localhost:PORT: a keypad login, « Créer une clé d'accès », its mail,
    « Mes clés d'accès », renaming it, its deletion's confirmation (cancelled), then a sign-in with it."""
    app = portal.fresh_app(f"{run.name}-passkeys")
    page = run.new_profile(browser, portal.localhost, authenticator=True)
    page.goto("/")
    log_in(run, SOPHIE["numero"], SOPHIE["pin"])
    wait_heading(page, re.compile(r"^Bienvenue"))
    create = button(page, "Créer une clé d'accès")
    create.wait_for()
    run.shoot("pk-home")
    create.click()
    page.get_by_text(PASSKEY_CREATED).wait_for()
    run.shoot("pk-created")
    shoot_mail(run, "mail-pk-added", newest_mail(app, SOPHIE_MAIL, "Une clé d'accès a été ajoutée")[1])
    act(run, page.get_by_role("link", name="Retour à mon Espace Agent"))
    act(run, page.locator("main").get_by_role("link", name="Mes clés d'accès"))
    wait_heading(page, "Mes clés d'accès")
    run.shoot("pk-list")
    act(run, page.get_by_role("link", name=re.compile("^Renommer la clé d'accès")))
    wait_heading(page, "Renommer la clé d'accès")
    run.shoot("pk-rename")
    page.get_by_label("Nom de la clé d'accès").fill("Mon téléphone")
    act(run, button(page, "Enregistrer"))
    page.get_by_text("Votre clé d'accès s'appelle désormais « Mon téléphone »").wait_for()
    run.shoot("pk-renamed")
    act(run, page.get_by_role("link", name="Supprimer la clé d'accès « Mon téléphone »"))
    wait_heading(page, "Supprimer la clé d'accès « Mon téléphone » ?")
    run.shoot("pk-delete-confirm")
    act(run, page.locator("main").get_by_role("link", name="Annuler"))
    wait_heading(page, "Mes clés d'accès")
    act(run, page.get_by_role("button", name="Se déconnecter"))
    wait_heading(page, "Accès à l'Espace Agent avec votre mot de passe")
    sign_in = button(page, "Se connecter avec une clé d'accès")
    sign_in.wait_for()
    run.shoot("pk-login")
    sign_in.click()
    wait_heading(page, re.compile(r"^Bienvenue"))
    run.shoot("pk-signed-in")


def public_pages(run: Run) -> None:
    """The footer's pages and the 404."""
    for path, name in [
        ("/accessibilite", "public-accessibility"),
        ("/mentions-legales", "public-legal-notice"),
        ("/donnees-personnelles", "public-personal-data"),
        ("/aide-et-contact", "public-help"),
        ("/plan-du-site", "public-sitemap"),
        ("/conditions-generales", "public-charter"),
        ("/nulle-part", "public-not-found"),
    ]:
        run.page.goto(path)
        run.shoot(name)


# --- The back office -------------------------------------------------------------------------


def seed_back_office(app) -> None:
    """Work waiting for the delegation: Jean's questionnaire and a confirmed registration."""
    from tests_support import factories

    with app.app_context():
        now = utcnow()
        factories.add_questionnaire(
            factories.agent_row(JEAN["numero"]),
            now - timedelta(hours=3),
            place="Centre Hospitalier Yves Le Foll",
            new_email="jean.martin@example.org",
        )
        digits = "35901234"
        person = factories.add_agent(
            "LE GOFF",
            "Camille",
            f"{digits} {numero_rules.calc_check_letter(digits)}",
            factories.RENNES_CHU,
            email=NEWCOMER["email"],
        )
        factories.add_registration(person, now - timedelta(hours=2))
        db.session.remove()


def back_office_journey(run: Run) -> None:
    """Staff log in (a wrong password, a wrong code), decide a questionnaire and a registration, find Sophie,
    unlock her account, open the dashboard, the staff and the history, log out."""
    page = run.page
    email, password, _ = DEMO_STAFF
    page.goto("/delegation")
    run.shoot("bo-login")
    page.get_by_label("Adresse mail").fill(email)
    page.get_by_label("Mot de passe").fill("mauvais-mot-de-passe")
    act(run, button(page, "Se connecter"))
    wait_errors(page)
    run.shoot("bo-login-wrong-password")
    page.get_by_label("Adresse mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    act(run, button(page, "Se connecter"))
    page.get_by_label("Code de vérification").wait_for()
    run.shoot("bo-code")
    page.get_by_label("Code de vérification").fill("000000")
    act(run, button(page, "Valider"))
    wait_errors(page)
    run.shoot("bo-code-wrong")
    page.get_by_label("Code de vérification").fill(totp.code_at(DEMO_STAFF_TOTP_SECRET, utcnow()))
    act(run, button(page, "Valider"))
    wait_heading(page, "Délégation régionale Bretagne")
    run.shoot("bo-requests")
    back_office_decisions(run)
    back_office_agents(run)


def back_office_decisions(run: Run) -> None:
    """Jean's questionnaire (refused without a motif, then accepted), then the registration verified."""
    page = run.page
    act(run, page.get_by_role("table").get_by_role("link", name=re.compile("MARTIN")))
    wait_heading(page, re.compile(r"^Demande n° \d+"))
    run.shoot("bo-request")
    act(run, button(page, "Demande non prise en compte"))
    wait_errors(page)
    run.shoot("bo-request-no-motif")
    act(run, button(page, "Demande prise en compte"))
    page.get_by_text("La décision est enregistrée").wait_for()
    run.shoot("bo-request-decided")
    act(run, page.get_by_role("link", name=re.compile("LE GOFF")).first)
    wait_heading(page, re.compile(r"^Inscription n° \d+"))
    run.shoot("bo-registration")
    act(run, button(page, "Inscription vérifiée"))
    page.get_by_text("La décision est enregistrée").wait_for()
    run.shoot("bo-registration-verified")


def back_office_agents(run: Run) -> None:
    """The agent search, Sophie's page, her address shown, the unlock, the dashboard, the staff, the history."""
    page = run.page
    search = page.get_by_role("searchbox", name="Rechercher un agent")
    search.fill("2908836")
    act(run, page.get_by_role("button", name="Rechercher", exact=True))
    wait_errors(page)
    run.shoot("bo-search-error")
    page.get_by_role("searchbox", name="Rechercher un agent").fill("bernard sophie")
    act(run, page.get_by_role("button", name="Rechercher", exact=True))
    run.shoot("bo-search-results")
    act(run, page.get_by_role("link", name="Sophie BERNARD"))
    wait_heading(page, "Sophie BERNARD")
    run.shoot("bo-agent")
    act(run, button(page, "Afficher"))
    page.get_by_text("sophie.bernard@example.org").wait_for()
    run.shoot("bo-agent-address-shown")
    act(run, button(page, "Débloquer le compte"))
    wait_heading(page, re.compile("^Débloquer le compte"))
    run.shoot("bo-unlock")
    act(run, button(page, "Confirmer"))
    page.get_by_text("Le compte est débloqué").wait_for()
    run.shoot("bo-unlocked")
    act(run, page.get_by_role("link", name="Tableau de bord"))
    wait_heading(page, re.compile("^Tableau de bord"))
    run.shoot("bo-dashboard")
    page.get_by_text("Voir les données", exact=True).click()
    run.shoot("bo-dashboard-data")
    act(run, page.get_by_role("navigation", name="Back office").get_by_role("link", name="Demandes"))
    act(run, page.get_by_role("link", name="Personnel de la délégation"))
    wait_heading(page, "Personnel de la délégation")
    run.shoot("bo-staff")
    act(run, page.get_by_role("link", name=f"Historique de {DEMO_STAFF[0]}"))
    wait_heading(page, re.compile("^Historique"))
    run.shoot("bo-history")
    act(run, page.get_by_role("button", name="Se déconnecter"))
    run.shoot("bo-logged-out")


def staff_passkeys(run: Run, portal: "Portal", browser) -> None:
    """Staff on a fresh app at http://localhost:PORT: password and code, « Mes clés d'accès », create one,
    log out, the password again, then « Utiliser ma clé d'accès » instead of the code."""
    app = portal.fresh_app(f"{run.name}-passkeys")
    seed_back_office(app)
    page = run.new_profile(browser, portal.localhost, authenticator=True)
    email, password, _ = DEMO_STAFF
    page.goto("/delegation")
    staff_password(run, email, password)
    page.get_by_label("Code de vérification").fill(totp.code_at(DEMO_STAFF_TOTP_SECRET, utcnow()))
    act(run, button(page, "Valider"))
    wait_heading(page, "Délégation régionale Bretagne")
    act(run, page.get_by_role("link", name="Mes clés d'accès").first)
    wait_heading(page, "Mes clés d'accès")
    create = button(page, "Créer une clé d'accès")
    create.wait_for()
    run.shoot("bo-pk-list")
    create.click()
    page.get_by_text(PASSKEY_CREATED).wait_for()
    run.shoot("bo-pk-created")
    act(run, page.get_by_role("button", name="Se déconnecter"))
    staff_password(run, email, password)
    wait_heading(page, "Confirmez votre connexion")
    use = button(page, "Utiliser ma clé d'accès")
    use.wait_for()
    run.shoot("bo-pk-second-factor")
    use.click()
    wait_heading(page, "Délégation régionale Bretagne")
    run.shoot("bo-pk-signed-in")


def staff_password(run: Run, email: str, password: str) -> None:
    """The back office's first step: address and password, « Se connecter »."""
    page = run.page
    page.get_by_label("Adresse mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    act(run, button(page, "Se connecter"))


# --- Server, runs, index -----------------------------------------------------------------------


class Portal:
    """One HTTP server on a free port; each run swaps in an app on its own copy of the demo database."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.app = None
        self.config = {
            "SECRET_KEY": secrets.token_hex(32),
            "PASSWORD_PEPPER": secrets.token_hex(32),
            "BCRYPT_COST": 4,
            "SESSION_COOKIE_SECURE": False,
            "DEV_MAILBOX": True,
            "MAIL_SERVER": None,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        prepared = create_app({**self.config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite3'}"})
        result = prepared.test_cli_runner().invoke(args=["setup", "--demo"])
        if result.exit_code != 0:
            raise RuntimeError(f"setup --demo failed:\n{result.output}")
        with prepared.app_context():
            db.engine.dispose()
        # Each request's and each security event's log line: errors are enough here.
        logging.getLogger("cgos").setLevel(logging.WARNING)
        self.server = make_server("127.0.0.1", 0, self.dispatch, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        # The same server as a passkey's RP ID can be: browsers refuse an IP address.
        self.localhost = f"http://localhost:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def dispatch(self, environ, start_response):
        """Serve with the current run's app."""
        return self.app(environ, start_response)

    def fresh_app(self, name: str):
        """A new app (empty attempt counters) on a new copy of the demo database, served from now on."""
        self.retire()
        database = self.folder / f"{name}.sqlite3"
        shutil.copy(self.folder / "demo.sqlite3", database)
        self.app = create_app(
            {
                **self.config,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "UPLOAD_FOLDER": str(self.folder / f"{name}-uploads"),
            }
        )
        return self.app

    def retire(self) -> None:
        """Let the previous run's app go."""
        if self.app is not None:
            stop_sender(self.app)
            with self.app.app_context():
                db.engine.dispose()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        self.retire()


def all_runs() -> list[Run]:
    """The agent's runs at each phone size and the back office's at each size, JavaScript on then off."""
    runs = []
    for js in (True, False):
        runs += [Run("agent", size, js) for size in PHONES]
        runs += [Run("bo", size, js) for size in DESKS]
    return runs


def walk(run: Run, portal: Portal, browser) -> None:
    """Every journey of the run, on a fresh app."""
    app = portal.fresh_app(run.name)
    run.open(browser, portal.base)
    if run.kind == "bo":
        seed_back_office(app)
        run.journey("back office", back_office_journey)
        if run.js:
            run.journey("clés d'accès du personnel", staff_passkeys, portal, browser)
    else:
        run.journey("se connecter", login)
        run.journey("mot de passe oublié", forgotten_password, app)
        run.journey("1ère connexion", first_connection)
        run.journey("adresse inexacte", wrong_mail_branch)
        run.journey("questionnaire", questionnaire)
        run.journey("première connexion de Marie", first_login, app)
        run.journey("demande de n°C.G.O.S", number_request, app, portal.base)
        run.journey("pages publiques", public_pages)
        if run.js:
            run.journey("clés d'accès", passkeys, portal, browser)
    run.close()


def write_index() -> int:
    """index.html (a row per step, a column per run), steps.json and steps.csv from every run's record."""
    steps = []
    for record in sorted(OUT.glob("*/*/steps.json")) + sorted(OUT.glob("back-office/*/*/steps.json")):
        folder = record.parent.relative_to(OUT).as_posix()
        for step in json.loads(record.read_text()):
            steps.append(
                {**step, "png": f"{folder}/{step['png']}", "html": step["html"] and f"{folder}/{step['html']}"}
            )
    (OUT / "steps.json").write_text(json.dumps(steps, ensure_ascii=False, indent=1))
    columns = ["run", "step", "url", "h1", "viewport_height", "primary", "primary_bottom", "fits", "page_height"]
    with open(OUT / "steps.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*columns, "focus", "png", "html"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(steps)
    tables = [index_table(title, steps, kind) for title, kind in (("Agent", "agent"), ("Back office", "bo"))]
    (OUT / "index.html").write_text(
        "<!doctype html><html lang='fr'><meta charset='utf-8'><title>Captures d'écran</title>"
        "<style>body{font:13px sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "vertical-align:top;padding:2px}img{width:120px;display:block;object-fit:cover;object-position:top}"
        "th[scope=row]{text-align:left}.below{color:#b00;font-weight:bold}.fits{color:#060}"
        "thead th{position:sticky;top:0;background:#fff}</style>"
        "<h1>Captures d'écran</h1><p>Chaque vignette montre le premier écran ; elle ouvre la page entière. "
        "Dessous : le bas du bouton principal sur la page, en rouge s'il est sous la ligne de flottaison. "
        "Survolez une vignette pour le titre, le bouton et le focus ; "
        "<a href='steps.csv'>steps.csv</a>, <a href='steps.json'>steps.json</a>.</p>" + "".join(tables) + "</html>",
        encoding="utf-8",
    )
    return len(steps)


def index_table(title: str, steps: list[dict], kind: str) -> str:
    """A table of one kind of run: a row per step, a column per run, each cell the step's first screen."""
    runs = [run for run in all_runs() if run.kind == kind and any(step["run"] == run.name for step in steps)]
    cell = {(step["run"], step["step"]): step for step in steps}
    names = list(dict.fromkeys(step["step"] for step in steps if step["run"] in {run.name for run in runs}))
    rows = []
    for name in names:
        cells = [f"<th scope='row'>{html.escape(name)}</th>"]
        for run in runs:
            step = cell.get((run.name, name))
            if step is None:
                cells.append("<td></td>")
                continue
            fold = "" if step["fits"] is None else (" fits" if step["fits"] else " below")
            bottom = "" if step["primary_bottom"] is None else f"{step['primary_bottom']} px"
            tip = html.escape(f"{step['h1'] or ''} | bouton : {step['primary'] or '-'} | focus : {step['focus']}")
            height = round(120 * run.size[1] / run.size[0])
            cells.append(
                f"<td><a href='{step['png']}' title='{tip}'><img loading='lazy' src='{step['png']}' "
                f"style='height:{height}px' alt='{html.escape(name)}, {run.name}'></a>"
                f"<span class='{fold.strip()}'>{bottom}</span></td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th scope='col'>{html.escape(run.name)}</th>" for run in runs)
    return (
        f"<h2>{title}</h2><table><thead><tr><th scope='col'>étape</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def main(selected: list[str]) -> int:
    """Walk the selected runs (all by default), then write the index."""
    runs = [run for run in all_runs() if not selected or run.name in selected]
    unknown = set(selected) - {run.name for run in all_runs()}
    if unknown:
        print(f"unknown run(s): {', '.join(sorted(unknown))}; known: {[run.name for run in all_runs()]}")
        return 2
    if not selected:
        shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="cgos-screens-"))
    started = time.monotonic()
    portal = None
    try:
        portal = Portal(folder)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            for run in runs:
                walk(run, portal, browser)
                print(f"{run.name}: {len(run.steps)} steps ({time.monotonic() - started:.0f} s)")
            browser.close()
    finally:
        if portal is not None:
            portal.stop()
        shutil.rmtree(folder, ignore_errors=True)
    count = write_index()
    failures = [failure for run in runs for failure in run.failures]
    print(f"{count} steps in {OUT.relative_to(ROOT)}/index.html ({time.monotonic() - started:.0f} s)")
    for failure in failures:
        print(f"stopped: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
