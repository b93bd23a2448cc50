"""Screenshots of every screen at 390 px, for a reviewer: `make screenshots` (into screenshots/).

Starts the portal on a free port with a fresh demo database (nothing of
instance/ is touched), walks the guide's flows in Debian's Chromium with
JavaScript on (and the keypad once with it off), saves each screen as a
full-page PNG, then the HTML part of every mail sent on the way.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
VIEWPORT = {"width": 390, "height": 844}
SOPHIE, MARIE, JEAN = ("29088361 J", "482915"), ("35127846 S", "1985", "mars"), ("22904518 R", "1979", "novembre")
MARIE_MAIL = "marie.dupont@example.org"
SOPHIE_NIR = "2 90 06 29 019 088 62"
NEW_NIR = "2 88 07 35 238 555 "  # its key is computed below


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nir_with_key(first13: str) -> str:
    """A NIR with its right key (97 - number mod 97)."""
    digits = first13.replace(" ", "")
    return f"{first13}{97 - int(digits) % 97:02d}"


class Shooter:
    """Numbered full-page screenshots; a failing flow is reported and the next one goes on."""

    def __init__(self):
        self.count = 0
        self.failures = []

    def __call__(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        self.count += 1
        page.screenshot(path=OUT / f"{self.count:02d}-{name}.png", full_page=True)

    def flow(self, name: str, steps, *args) -> None:
        try:
            steps(*args)
        except Exception as error:  # a screenshot run reports and goes on
            self.failures.append(f"{name}: {error}")
            print(f"flow « {name} » stopped: {error}", file=sys.stderr)


def login_flows(page: Page, shoot: Shooter) -> None:
    page.goto("/")
    shoot(page, "se-connecter")
    page.get_by_label("Entrez votre N° C.G.O.S (avec la lettre)").fill(SOPHIE[0])
    keypad = page.get_by_role("group", name="Votre mot de passe à 6 chiffres")
    for digit in SOPHIE[1][:3]:
        keypad.get_by_role("button", name=digit, exact=True).click()
    shoot(page, "clavier-3-chiffres")
    page.locator("form").get_by_role("button", name="Valider", exact=True).last.click()
    page.get_by_role("alert").wait_for()
    shoot(page, "se-connecter-erreur")
    page.goto("/?saisie=clavier")
    shoot(page, "saisie-au-clavier")


def first_connection(page: Page, shoot: Shooter) -> None:
    page.goto("/premiere-connexion")
    shoot(page, "premiere-connexion")
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("alert").wait_for()
    shoot(page, "premiere-connexion-erreurs")
    identify(page, *MARIE)
    shoot(page, "adresse-mail-masquee")
    page.get_by_role("textbox", name="Adresse mail", exact=True).fill("autre@example.org")
    page.get_by_label("Confirmation d'adresse mail").fill("autre@example.org")
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_role("alert").wait_for()
    shoot(page, "adresse-mail-inexacte")
    page.get_by_role("textbox", name="Adresse mail", exact=True).fill(MARIE_MAIL)
    page.get_by_label("Confirmation d'adresse mail").fill(MARIE_MAIL)
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_role("heading", level=1, name="Confirmation envoi du mot de passe provisoire").wait_for()
    shoot(page, "mot-de-passe-envoye")
    page.goto("/premiere-connexion")
    identify(page, *JEAN)
    shoot(page, "adresse-non-renseignee")
    page.goto("/adresse-mail-inexacte")
    shoot(page, "demande-de-modification")
    page.goto("/questionnaire-adresse-mail")
    shoot(page, "questionnaire")
    page.get_by_role("button", name="Envoyer").click()
    page.get_by_role("alert").wait_for()
    shoot(page, "questionnaire-erreurs")


def identify(page: Page, numero: str, year: str, month: str) -> None:
    page.get_by_label("Numéro C.G.O.S").fill(numero)
    page.get_by_label("Année de naissance").fill(year)
    page.get_by_label("Mois de naissance").select_option(label=month)
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_load_state("load")
    time.sleep(0.3)


def forgotten_password(page: Page, shoot: Shooter) -> None:
    page.goto("/mot-de-passe-oublie")
    shoot(page, "mot-de-passe-oublie")
    page.goto("/mot-de-passe-oublie?motif=ancien")
    shoot(page, "ancien-mot-de-passe")


def number_request(page: Page, shoot: Shooter) -> None:
    page.goto("/demande-numero")
    shoot(page, "demande-numero")
    nir = page.get_by_label("Numéro de sécurité sociale")
    nir.fill("1 23 45 67 890 123 00")
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("alert").wait_for()
    shoot(page, "demande-numero-erreur")
    page.get_by_label("Numéro de sécurité sociale").fill(SOPHIE_NIR)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("heading", level=1).wait_for()
    shoot(page, "numero-deja-attribue")
    page.goto("/demande-numero")
    page.get_by_label("Numéro de sécurité sociale").fill(nir_with_key(NEW_NIR))
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("heading", level=1).wait_for()
    shoot(page, "inscription")


def first_login(page: Page, shoot: Shooter, base: str) -> None:
    with urllib.request.urlopen(f"{base}/dev/mails") as response:
        listing = response.read().decode()
    last = max(int(n) for n in re.findall(r'href="/dev/mails/(\d+)"', listing))
    pin = None
    for mail_id in range(last, 0, -1):
        with urllib.request.urlopen(f"{base}/dev/mails/{mail_id}") as response:
            found = re.search(r"Mot de passe provisoire : (\d{6})", response.read().decode())
        if found:
            pin = found.group(1)
            break
    log_in(page, MARIE[0], pin)
    page.get_by_role("heading", level=1, name="Conditions générales d'utilisation").wait_for()
    shoot(page, "charte")
    page.get_by_role("button", name="Accepter").click()
    page.get_by_label("Nouveau mot de passe").wait_for()
    shoot(page, "changement-du-mot-de-passe")
    page.get_by_label("Nouveau mot de passe").fill("739154")
    page.get_by_label("Confirmation du mot de passe").fill("739154")
    page.get_by_role("button", name="Valider").click()
    page.get_by_label("Email personnel").wait_for()
    shoot(page, "donnees-personnelles-agent")
    page.get_by_role("button", name="Valider").click()
    page.get_by_role("button", name="Se déconnecter").wait_for()
    shoot(page, "accueil-agent")


def log_in(page: Page, numero: str, pin: str) -> None:
    page.goto("/")
    page.get_by_label("Entrez votre N° C.G.O.S (avec la lettre)").fill(numero)
    keypad = page.get_by_role("group", name="Votre mot de passe à 6 chiffres")
    for digit in pin:
        keypad.get_by_role("button", name=digit, exact=True).click()
    page.locator("form").get_by_role("button", name="Valider", exact=True).last.click()
    page.wait_for_load_state("load")


def public_pages(page: Page, shoot: Shooter) -> None:
    for path, name in [
        ("/accessibilite", "accessibilite"),
        ("/mentions-legales", "mentions-legales"),
        ("/donnees-personnelles", "donnees-personnelles"),
        ("/aide-et-contact", "aide-et-contact"),
        ("/plan-du-site", "plan-du-site"),
        ("/conditions-generales", "conditions-generales"),
        ("/nulle-part", "page-introuvable"),
    ]:
        page.goto(path)
        shoot(page, name)


def without_javascript(page: Page, shoot: Shooter) -> None:
    page.goto("/")
    shoot(page, "sans-js-se-connecter")
    page.get_by_label("Entrez votre N° C.G.O.S (avec la lettre)").fill(SOPHIE[0])
    page.get_by_role("group", name="Votre mot de passe à 6 chiffres").get_by_role("button", name="4").click()
    shoot(page, "sans-js-une-touche")


def mails(page: Page, shoot: Shooter, env: dict) -> None:
    """The HTML part of every mail sent during the run, as a phone's mail app would show it."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from cgos import create_app
    from cgos.extensions import db
    from cgos.mail import open_mail
    from cgos.models import OutboundMail

    app = create_app()
    with app.app_context():
        rows = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id)).all()
        bodies = [(row.id, row.subject, open_mail(row).html_body) for row in rows]
    for mail_id, subject, html in bodies:
        if html:
            page.set_content(html)
            slug = re.sub(r"[^a-z0-9]+", "-", subject.lower())[:40].strip("-")
            shoot(page, f"mail-{mail_id}-{slug}")


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    folder = Path(tempfile.mkdtemp(prefix="cgos-screens-"))
    env = {
        **os.environ,
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'cgos.sqlite3'}",
        "FLASK_UPLOAD_FOLDER": str(folder / "uploads"),
        "FLASK_DEV_MAILBOX": "true",
        "FLASK_SESSION_COOKIE_SECURE": "false",
    }
    env.pop("FLASK_MAIL_SERVER", None)
    subprocess.run([*FLASK, "setup", "--demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen([*FLASK, "run", "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    shoot = Shooter()
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(base + "/favicon.ico")
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            context = browser.new_context(viewport=VIEWPORT, base_url=base, locale="fr-FR")
            page = context.new_page()
            shoot.flow("se connecter", login_flows, page, shoot)
            shoot.flow("1ère connexion", first_connection, page, shoot)
            shoot.flow("mot de passe oublié", forgotten_password, page, shoot)
            shoot.flow("demande de n°", number_request, page, shoot)
            shoot.flow("première connexion de Marie", first_login, context.new_page(), shoot, base)
            shoot.flow("pages publiques", public_pages, browser.new_page(viewport=VIEWPORT, base_url=base), shoot)
            no_js = browser.new_context(viewport=VIEWPORT, base_url=base, java_script_enabled=False)
            shoot.flow("sans JavaScript", without_javascript, no_js.new_page(), shoot)
            shoot.flow("mails", mails, browser.new_page(viewport=VIEWPORT), shoot, env)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{shoot.count} screenshots in {OUT.relative_to(ROOT)}/")
    for failure in shoot.failures:
        print(f"not shot: {failure}", file=sys.stderr)
    return 1 if shoot.failures else 0


if __name__ == "__main__":
    sys.exit(main())
