"""The pages every visitor may read (footer), the brand, the icons, descriptions and phone links."""

import gzip
import re
from datetime import UTC, date, datetime

import pytest
from bs4 import BeautifulSoup
from flask import render_template

from cgos.extensions import db
from cgos.models import Delegation
from tests_support.pages import Page

FOOTER_PAGES = {
    "Accessibilité : partiellement conforme": ("/accessibilite", "Déclaration d'accessibilité"),
    "Mentions légales": ("/mentions-legales", "Mentions légales"),
    "Données personnelles": ("/donnees-personnelles", "Données personnelles"),
    "Conditions générales d'utilisation": ("/conditions-generales", "Conditions générales d'utilisation"),
    "Aide et contact": ("/aide-et-contact", "Aide et contact"),
    "Plan du site": ("/plan-du-site", "Plan du site"),
}
PUBLIC_PAGES = [
    "/",
    "/premiere-connexion",
    "/mot-de-passe-oublie",
    "/demande-numero",
    "/questionnaire-adresse-mail",
    *(path for path, _ in FOOTER_PAGES.values()),
]


def test_the_footer_links_every_public_page(client):
    footer = Page(client.get("/")).soup.find("footer")
    links = {a.get_text(strip=True): a["href"] for a in footer.find_all("a") if a["href"].startswith("/")}
    assert links == {label: path for label, (path, _) in FOOTER_PAGES.items()}
    assert footer.find("nav")["aria-label"]


@pytest.mark.parametrize("label", FOOTER_PAGES)
def test_each_footer_page_as_page_and_fragment(either, label):
    path, heading = FOOTER_PAGES[label]
    page = either.get(path)
    assert page.status == 200
    assert page.main.find("h1").get_text(strip=True) == heading
    assert page.title.startswith(heading)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_has_its_own_description(client, path):
    soup = Page(client.get(path)).soup
    description = soup.find("meta", attrs={"name": "description"})["content"]
    assert 50 <= len(description) <= 200
    others = [p for p in PUBLIC_PAGES if p != path]
    assert description not in {
        Page(client.get(p)).soup.find("meta", attrs={"name": "description"})["content"] for p in others
    }, f"{path} shares its description"


def test_the_brand_block_and_icons_are_in_the_head_and_header(client):
    soup = Page(client.get("/")).soup
    header = soup.find("header")
    logo = header.find("img")
    assert logo["alt"] == "C.G.O.S" and "logo.svg" in logo["src"]
    assert "Améliorons notre vie" in header.get_text()
    icons = {link["rel"][0]: link["href"] for link in soup.find_all("link", rel=["icon", "apple-touch-icon"])}
    assert icons["apple-touch-icon"].startswith("/static/apple-touch-icon.png?v=")
    for href in {link["href"] for link in soup.find_all("link")}:
        assert client.get(href).status_code == 200, href


@pytest.mark.parametrize(
    "path, content_type, magic",
    [
        ("/favicon.ico", "image/vnd.microsoft.icon", b"\x00\x00\x01\x00"),
        ("/apple-touch-icon.png", "image/png", b"\x89PNG"),
        ("/static/favicon.svg", "image/svg+xml", b"<svg"),
        ("/static/logo.svg", "image/svg+xml", b"<svg"),
    ],
)
def test_the_icons_browsers_ask_for_exist(client, path, content_type, magic):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == content_type
    assert response.get_data().startswith(magic)


def test_the_touch_icon_is_180_pixels(client):
    data = client.get("/apple-touch-icon.png").get_data()
    assert int.from_bytes(data[16:20], "big") == int.from_bytes(data[20:24], "big") == 180


def test_help_lists_every_delegation_with_a_tel_link(client, app):
    soup = Page(client.get("/aide-et-contact")).soup
    with app.app_context():
        delegations = db.session.scalars(db.select(Delegation)).all()
    assert delegations
    items = soup.select(".contact-list li")
    assert len(items) == len(delegations)
    for item in items:
        link = item.find("a")
        digits = re.sub(r"\D", "", link.get_text())
        assert link["href"] == "tel:+33" + digits[1:]


def test_the_footer_phone_is_a_tel_link(client):
    footer = Page(client.get("/")).soup.find("footer")
    assert footer.find("a", href="tel:+33145708220").get_text(strip=True) == "01 45 70 82 20"


def test_personal_data_says_how_long_as_the_settings_do(make_app):
    app = make_app(MAIL_RETENTION_DAYS=12, PAYSLIP_RETENTION_DAYS=45)
    text = re.sub(r"\s+", " ", app.test_client().get("/donnees-personnelles").get_data(as_text=True))
    assert "supprimé 45 jours après la décision" in text
    assert "effacé 12 jours après l'envoi" in text
    assert "supprimée, avec son bulletin, 72 heures après la demande" in text
    for kept in ("numéro C.G.O.S", "numéro de sécurité sociale", "adresse mail", "téléphone", "bulletin de paie"):
        assert kept in text


def test_the_accessibility_statement_follows_the_rgaa_model(client):
    soup = Page(client.get("/accessibilite")).soup
    sections = [h2.get_text(strip=True) for h2 in soup.find("main").find_all("h2")]
    assert sections == [
        "État de conformité",
        "Résultats des tests",
        "Contenus non accessibles",
        "Établissement de cette déclaration",
        "Retour d'information et contact",
        "Voies de recours",
    ]
    text = soup.get_text(" ")
    assert "partiellement conforme" in text and "RGAA" in text and "Défenseur des droits" in text


def test_pages_stay_small_on_a_first_load(client):
    """Page, stylesheet and script together: at most 30 KB gzipped in 3 requests (the bench's budget)."""
    for path in PUBLIC_PAGES:
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        html = gzip.decompress(response.get_data()).decode()
        total = len(response.get_data())
        assets = re.findall(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"', html)
        for asset in assets:
            total += len(client.get(asset, headers={"Accept-Encoding": "gzip"}).get_data())
        assert total <= 30 * 1024, f"{path}: {total} bytes"
        assert 1 + len(assets) <= 3, f"{path}: {1 + len(assets)} requests ({', '.join(assets)})"


# --- Mails -------------------------------------------------------------------------------------


def render_mail(app, template: str, **context) -> BeautifulSoup:
    """The HTML part of a mail, parsed."""
    with app.test_request_context():
        return Page(html=render_template(f"mail/{template}.html", **context)).soup


def test_a_mail_has_the_brand_header_a_viewport_and_a_real_button(app):
    soup = render_mail(
        app, "provisional_password", pin="123456", login_url="http://localhost/", expires_at=date(2026, 12, 30)
    )
    assert soup.find("meta", attrs={"name": "viewport"})
    assert soup.find("img", alt="C.G.O.S")["src"].endswith("/static/mark.png")
    assert "cgos.info" in soup.find("a", href="https://www.cgos.info").get_text()
    [button] = [a for a in soup.find_all("a") if a.get_text(strip=True) == "Se connecter"]
    assert button["href"] == "http://localhost/" and "background" in button.find_parent("td")["style"]
    assert "Merci de surveiller votre messagerie" in soup.get_text()


def test_confirmation_mails_have_a_button_and_no_long_link_text(app):
    link = "http://localhost/demande-numero/confirmer/" + "x" * 60

    class Registration:
        first_name, last_name = "Marie", "Dupont"

    soup = render_mail(app, "registration_confirm", registration=Registration, link=link, hours=48)
    texts = [a.get_text(strip=True) for a in soup.find_all("a", href=link)]
    assert texts == ["Confirmer mon adresse"]


def test_the_delegation_mail_has_no_agent_facing_footer(app):
    class Questionnaire:
        created_at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        numero, birth_date, new_email = "35127846S", date(1985, 3, 14), "m@example.org"
        last_name, first_name = "DUPONT", "Marie"
        commune = type("C", (), {"name": "Rennes"})
        establishment = type("E", (), {"name": "CHU de Rennes"})

    soup = render_mail(
        app, "questionnaire_to_delegation", questionnaire=Questionnaire, link="http://localhost/delegation/1"
    )
    text = soup.get_text(" ")
    assert "Merci de surveiller votre messagerie" not in text and "NE PAS Y REPONDRE" not in text
    assert soup.find("a", href="http://localhost/delegation/1").get_text(strip=True) == "Traiter la demande"
