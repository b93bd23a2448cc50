"""Passkeys (« clés d'accès »): the login page's button, home, « Mes clés d'accès », the mails (issue 23).

The ceremonies' refusals are in tests/security/test_passkey_attacks.py; the browser's side in
tests/e2e/test_passkey_flows.py.
"""

import re
from base64 import urlsafe_b64encode

import pytest

from cgos import charter
from cgos.credentials.issuing import issue_provisional_password
from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import Agent, OutboundMail, Passkey, PasswordState, SecurityEvent, utcnow
from cgos.passkeys.naming import device_name, unique_name
from tests_support.authenticator import SoftAuthenticator
from tests_support.factories import agent_row
from tests_support.passkeys import PasskeyBrowser, csrf_token, give_passkey
from tests_support.personas import MARIE, SOPHIE

LIST_URL = "/espace-agent/cles-d-acces"
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Mobile/15E148 Safari/604.1",
            "iPhone — Safari",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "iPhone — Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Android — Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "Android — Samsung Internet",
        ),
        (WINDOWS_EDGE, "Windows — Edge"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Mac — Firefox",
        ),
        ("curl/8.5.0", "Clé d'accès"),
        (None, "Clé d'accès"),
    ],
)
def test_a_new_passkey_is_named_after_the_device_and_browser(user_agent, name):
    assert device_name(user_agent) == name


def test_a_second_passkey_of_the_same_name_is_numbered():
    assert unique_name("iPhone — Safari", {"iPhone — Safari", "iPhone — Safari (2)"}) == "iPhone — Safari (3)"
    assert unique_name("Windows — Edge", {"iPhone — Safari"}) == "Windows — Edge"


def sophie() -> Agent:
    """Sophie BERNARD, who has a personal PIN."""
    return agent_row(SOPHIE)


def mails_to(address: str) -> list[str]:
    """The text of the mails queued for an address, oldest first."""
    rows = db.session.scalars(
        db.select(OutboundMail).where(OutboundMail.recipient == address).order_by(OutboundMail.id)
    )
    return [open_mail(row).text_body for row in rows]


def events(kind: str) -> list[SecurityEvent]:
    """Security events of one kind."""
    return list(db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == kind)))


@pytest.fixture
def logged_in(either):
    """Sophie logged in with her PIN (full pages or htmx fragments)."""
    either.log_in(SOPHIE.numero, SOPHIE.pin)
    return either


@pytest.fixture
def with_passkey(logged_in):
    """Sophie logged in, with a passkey created from her iPhone."""
    assert PasskeyBrowser(logged_in.client).create_passkey().status_code == 200
    return logged_in


# --- Login page and home ------------------------------------------------------------------------


def test_the_login_page_offers_a_passkey_below_valider_hidden_until_the_script_shows_it(either):
    page = either.get("/")
    box = page.main.select_one("[data-passkey-sign-in]")
    assert box.has_attr("hidden"), "without JavaScript or WebAuthn, nothing changes"
    assert box.find("button", string="Se connecter avec une clé d'accès")["type"] == "button"
    assert box["data-options-url"] == "/connexion-cle-d-acces/options" and box["data-url"] == "/connexion-cle-d-acces"
    buttons = [b.get_text(" ", strip=True) for b in page.main.find_all("button") if not b.has_attr("hidden")]
    assert buttons.index("Se connecter avec une clé d'accès") > buttons.index("Valider")
    assert box.select_one("[data-passkey-message]")["aria-live"] == "assertive", (
        "the live region exists before it speaks"
    )
    assert page.soup.find(id="numero")["autocomplete"] == "username", "the script adds « webauthn » where it can"


def test_home_offers_to_create_a_passkey_and_links_to_the_list(logged_in):
    page = logged_in.get("/espace-agent/")
    box = page.main.select_one("[data-passkey-create]")
    assert box.has_attr("hidden")
    assert box.find("button", string="Créer une clé d'accès")
    assert page.main.find("a", string="Mes clés d'accès")["href"] == LIST_URL


# --- Creating one -------------------------------------------------------------------------------


def test_the_creation_options_ask_for_a_discoverable_verified_passkey_showing_the_agent(logged_in):
    browser = PasskeyBrowser(logged_in.client)
    token = csrf_token(logged_in.client, "/espace-agent/")
    options = browser.post("/espace-agent/cles-d-acces/options", token).get_json()
    assert options["rp"] == {"id": "localhost", "name": "Espace Agent C.G.O.S"}
    assert options["user"]["name"] == "29088361 J"
    assert options["user"]["displayName"] == "Sophie BERNARD (29088361 J)"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []


def test_creating_a_passkey_stores_it_records_it_and_mails_the_agent(logged_in):
    response = PasskeyBrowser(logged_in.client).create_passkey()
    assert response.get_json() == {"redirect": LIST_URL}
    [passkey] = db.session.scalars(db.select(Passkey))
    assert (passkey.agent_id, passkey.staff_id, passkey.name) == (sophie().id, None, "iPhone — Safari")
    assert passkey.transports == ["internal", "hybrid"] and len(passkey.user_handle) == 32
    assert passkey.last_used_at is None and passkey.cloned_at is None
    assert [(event.passkey_id, event.detail) for event in events("passkey_added")] == [(passkey.id, None)]
    [mail] = mails_to(SOPHIE.email)
    assert "Une clé d'accès a été ajoutée à votre Espace Agent" in mail and "« iPhone — Safari »" in mail
    assert re.search(r"^http://localhost/espace-agent/cles-d-acces$", mail, re.M)
    page = logged_in.get(LIST_URL)
    assert "Votre clé d'accès « iPhone — Safari » est créée" in page.main.select_one(".notice--success").text


def test_a_second_passkey_keeps_the_agents_user_handle_and_excludes_the_first(with_passkey):
    browser = PasskeyBrowser(with_passkey.client)
    token = csrf_token(with_passkey.client, "/espace-agent/")
    options = browser.post("/espace-agent/cles-d-acces/options", token).get_json()
    first = db.session.scalar(db.select(Passkey))
    assert [item["id"] for item in options["excludeCredentials"]] == [
        urlsafe_b64encode(first.credential_id).decode().rstrip("=")
    ]
    assert browser.post("/espace-agent/cles-d-acces", token, browser.authenticator.create(options, browser.origin))
    names = db.session.scalars(db.select(Passkey.name).order_by(Passkey.id)).all()
    assert names == ["iPhone — Safari", "Clé d'accès"]
    assert len(set(db.session.scalars(db.select(Passkey.user_handle)))) == 1


def test_creating_a_passkey_waits_for_the_pending_first_login_steps(logged_in, monkeypatch):
    token = csrf_token(logged_in.client, "/espace-agent/")
    monkeypatch.setattr(charter, "load", lambda path: charter.Charter("2027-01", "<p>Texte 2027.</p>"))
    response = PasskeyBrowser(logged_in.client).post("/espace-agent/cles-d-acces/options", token)
    assert response.status_code == 401 and response.get_json()["error"]


# --- « Mes clés d'accès » ---------------------------------------------------------------------


def test_the_list_shows_each_passkey_with_its_dates_in_french(with_passkey):
    page = with_passkey.get(LIST_URL)
    assert page.title.startswith("Mes clés d'accès")
    section = page.main.select_one("section.passkey-list__item")
    assert section.h2.get_text(strip=True) == "iPhone — Safari"
    rows = {row.dt.get_text(strip=True): row.dd.get_text(strip=True) for row in section.select("dl div")}
    assert re.fullmatch(r"\d{1,2} \w+ \d{4} à \d{1,2} h \d{2}", rows["Créée le"])
    assert rows["Dernière utilisation"] == "Jamais utilisée"
    links = {a.get_text(" ", strip=True): a["href"] for a in section.find_all("a")}
    passkey_id = db.session.scalar(db.select(Passkey.id))
    assert links["Renommer la clé d'accès « iPhone — Safari »"] == f"{LIST_URL}/{passkey_id}/renommer"
    assert links["Supprimer la clé d'accès « iPhone — Safari »"] == f"{LIST_URL}/{passkey_id}/supprimer"
    assert page.main.select_one("[data-passkey-create]").has_attr("hidden")
    assert page.main.select_one("[data-passkey-unsupported]"), "said without JavaScript"


def test_the_list_shows_the_last_use_and_a_passkey_blocked_as_a_possible_copy(with_passkey, app):
    passkey = db.session.scalar(db.select(Passkey))
    passkey.last_used_at = passkey.cloned_at = utcnow()
    db.session.commit()
    section = with_passkey.get(LIST_URL).main.select_one("section.passkey-list__item")
    rows = {row.dt.get_text(strip=True): row.dd.get_text(strip=True) for row in section.select("dl div")}
    assert rows["Dernière utilisation"] != "Jamais utilisée"
    assert "Bloquée par sécurité" in section.select_one(".notice").text


def test_an_agent_without_passkeys_is_told_so(logged_in):
    page = logged_in.get(LIST_URL)
    assert "Vous n'avez pas encore de clé d'accès." in page.text
    assert not page.main.select("section.passkey-list__item")


def test_renaming_a_passkey(with_passkey):
    passkey_id = db.session.scalar(db.select(Passkey.id))
    url = f"{LIST_URL}/{passkey_id}/renommer"
    page = with_passkey.get(url)
    assert page.soup.find(id="name")["value"] == "iPhone — Safari"
    page = with_passkey.submit(url, {"name": "   "})
    assert page.status == 422 and page.title.startswith("Erreur : ")
    assert page.error_summary() == ["Saisissez un nom pour cette clé d'accès."]
    assert page.field_error("name") == "Saisissez un nom pour cette clé d'accès."
    page = with_passkey.submit(url, {"name": "  Mon   téléphone "})
    assert db.session.scalar(db.select(Passkey.name)) == "Mon téléphone"
    assert "s'appelle désormais « Mon téléphone »" in page.main.select_one(".notice--success").text


def test_deleting_a_passkey_is_confirmed_recorded_and_mailed(with_passkey):
    passkey_id = db.session.scalar(db.select(Passkey.id))
    url = f"{LIST_URL}/{passkey_id}/supprimer"
    page = with_passkey.get(url)
    assert page.soup.h1.get_text(strip=True) == "Supprimer la clé d'accès « iPhone — Safari » ?"
    assert page.main.find("button", string="Supprimer la clé d'accès")
    assert page.main.find("a", string="Annuler")["href"] == LIST_URL
    assert db.session.scalar(db.select(Passkey.id)) == passkey_id, "nothing deleted by showing the page"
    page = with_passkey.submit(url)
    assert db.session.scalar(db.select(db.func.count(Passkey.id))) == 0
    assert "Votre clé d'accès « iPhone — Safari » est supprimée" in page.main.select_one(".notice--success").text
    assert [(event.passkey_id, event.detail) for event in events("passkey_deleted")] == [(passkey_id, None)]
    added, deleted = mails_to(SOPHIE.email)
    assert "La clé d'accès « iPhone — Safari » a été supprimée de votre Espace Agent" in deleted


@pytest.mark.parametrize("action", ["renommer", "supprimer"])
def test_another_agents_passkey_is_not_found(logged_in, action):
    marie = agent_row(MARIE)
    passkey = give_passkey(marie, SoftAuthenticator())
    assert logged_in.get(f"{LIST_URL}/{passkey.id}/{action}").status == 404
    token = csrf_token(logged_in.client, LIST_URL)
    response = logged_in.client.post(f"{LIST_URL}/{passkey.id}/{action}", data={"csrf_token": token, "name": "Le mien"})
    assert response.status_code == 404
    assert db.session.get(Passkey, passkey.id).name == "Téléphone"


def test_the_pages_need_a_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 303 and response.headers["Location"] == "/"


# --- Signing in ---------------------------------------------------------------------------------


def test_a_passkey_sign_in_marks_the_last_use(app, with_passkey):
    phone = SoftAuthenticator()
    give_passkey(sophie(), phone)
    assert PasskeyBrowser(app.test_client(), phone).sign_in().status_code == 200
    used = db.session.scalar(db.select(Passkey).where(Passkey.name == "Téléphone"))
    assert used.last_used_at is not None and used.sign_count == 1


def test_a_passkey_sign_in_goes_through_the_pending_first_login_steps(app, monkeypatch):
    phone = SoftAuthenticator()
    give_passkey(sophie(), phone)
    monkeypatch.setattr(charter, "load", lambda path: charter.Charter("2027-01", "<p>Texte 2027.</p>"))
    browser = PasskeyBrowser(app.test_client(), phone)
    assert browser.sign_in().get_json() == {"redirect": "/espace-agent/conditions-generales"}


def test_a_provisional_pin_does_not_delete_the_passkeys(app, new_agent):
    """A lost PIN: « Mot de passe oublié » gives a provisional PIN; the phone's passkey still works."""
    phone = SoftAuthenticator()
    give_passkey(sophie(), phone)
    issue_provisional_password(sophie())
    db.session.commit()
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", mails_to(SOPHIE.email)[-1], re.M).group(1)
    page = new_agent(app).log_in(SOPHIE.numero, pin)
    assert page.soup.h1.get_text(strip=True) == "Changement du mot de passe provisoire"
    assert sophie().password_state == PasswordState.PROVISIONAL
    assert db.session.scalar(db.select(db.func.count(Passkey.id))) == 1
    response = PasskeyBrowser(app.test_client(), phone).sign_in()
    assert response.get_json() == {"redirect": "/espace-agent/mot-de-passe-provisoire"}
