"""Passkeys in a real browser (issue 23): Chromium's virtual authenticator, driven through the DevTools protocol.

The site is opened as http://localhost:PORT: browsers refuse an IP address as RP ID, and
localhost is a secure context over plain http. axe must find nothing at all (any impact)
on the pages this issue adds.
"""

import base64
import re

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from playwright.sync_api import Page, expect
from test_login_flows import LOGIN_HEADING, js_on_only, log_in, log_out

from tests_support.authenticator import SoftAuthenticator
from tests_support.browser import heading
from tests_support.factories import agent_row
from tests_support.passkeys import give_passkey
from tests_support.personas import SOPHIE

pytestmark = pytest.mark.e2e

SIGN_IN = "Se connecter avec une clé d'accès"
CREATE = "Créer une clé d'accès"
MY_PASSKEYS = "Mes clés d'accès"
js_off_only = pytest.mark.parametrize("js", [False], ids=["js-off"], indirect=True)
# Chromium's virtual authenticator answers the numéro field's autofill request at once, where a
# person would pick the passkey in the list: turned off where a test uses the button.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"


@pytest.fixture
def live_server(live_server) -> str:
    """The conftest's live server, as http://localhost:PORT (a browser refuses 127.0.0.1 as RP ID)."""
    return live_server.replace("127.0.0.1", "localhost")


def tab_to(page: Page, target, presses: int = 60) -> None:
    """Press Tab until `target` has the focus: it can be reached with the keyboard alone."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached with Tab")


def stored_credentials(authenticator: dict) -> list[dict]:
    """The passkeys the virtual authenticator holds."""
    return authenticator["cdp"].send("WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]})["credentials"]


@js_on_only
def test_a_passkey_created_after_a_keypad_login_signs_in_and_is_renamed_then_deleted(
    page: Page, authenticator, audit, mailbox
):
    page.goto("/")
    log_in(page, SOPHIE.numero, SOPHIE.pin, js=True)
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()
    audit(page)
    page.get_by_role("button", name=CREATE).click()

    expect(heading(page, MY_PASSKEYS)).to_be_visible()
    expect(page.get_by_text("Votre clé d'accès « Linux — Chrome » est créée")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Linux — Chrome")).to_be_visible()
    expect(page.get_by_text("Jamais utilisée")).to_be_visible()
    audit(page)
    [credential] = stored_credentials(authenticator)
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    assert "Une clé d'accès a été ajoutée" in mailbox.wait_for(SOPHIE.email).get_body(("plain",)).get_content()

    page.add_init_script(NO_AUTOFILL)
    log_out(page)
    button = page.get_by_role("button", name=SIGN_IN)
    expect(button).to_be_visible()
    valider = page.get_by_role("button", name="Valider", exact=True)
    assert button.bounding_box()["y"] > valider.bounding_box()["y"], "below « Valider »"
    audit(page)
    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()

    page.get_by_role("link", name=MY_PASSKEYS).click()
    expect(heading(page, MY_PASSKEYS)).to_be_visible()
    expect(page.get_by_text("Jamais utilisée")).to_have_count(0)
    expect(page.get_by_role("button", name=CREATE)).to_be_visible()  # shown in content htmx swapped in
    rename = page.get_by_role("link", name="Renommer la clé d'accès « Linux — Chrome »")
    tab_to(page, rename)
    page.keyboard.press("Enter")
    expect(heading(page, "Renommer la clé d'accès")).to_be_visible()
    audit(page)
    page.get_by_label("Nom de la clé d'accès").fill("Mon téléphone")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Votre clé d'accès s'appelle désormais « Mon téléphone »")).to_be_visible()

    page.get_by_role("link", name="Supprimer la clé d'accès « Mon téléphone »").click()
    expect(heading(page, "Supprimer la clé d'accès « Mon téléphone » ?")).to_be_visible()
    audit(page)
    mailbox.clear()
    page.get_by_role("button", name="Supprimer la clé d'accès").click()
    expect(page.get_by_text("Vous n'avez pas encore de clé d'accès.")).to_be_visible()
    mail = mailbox.wait_for(SOPHIE.email).get_body(("plain",)).get_content()
    assert "« Mon téléphone » a été supprimée" in mail


@js_on_only
def test_a_refused_or_cancelled_passkey_is_said_in_french(page: Page, authenticator):
    """No passkey for this site on the phone, or the fingerprint refused: a message, and the keypad still works."""
    authenticator["cdp"].send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator["id"], "isUserVerified": False}
    )
    page.add_init_script(NO_AUTOFILL)
    page.goto("/")
    page.get_by_role("button", name=SIGN_IN).click()
    expect(
        page.get_by_text(re.compile("La connexion avec une clé d'accès a été annulée ou n'a pas abouti"))
    ).to_be_visible()
    log_in(page, SOPHIE.numero, SOPHIE.pin, js=True)
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()


@js_on_only
def test_the_numero_fields_autofill_signs_in_with_the_phones_passkey(page: Page, authenticator, live_app):
    """Conditional mediation: the passkey is offered in the numéro field's autofill (picked at once here)."""
    phone = SoftAuthenticator()
    with live_app.app_context():
        sophie = agent_row(SOPHIE)
        give_passkey(sophie, phone)
    [credential] = phone.credentials
    key = credential.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    authenticator["cdp"].send(
        "WebAuthn.addCredential",
        {
            "authenticatorId": authenticator["id"],
            "credential": {
                "credentialId": base64.b64encode(credential.id).decode(),
                "isResidentCredential": True,
                "rpId": "localhost",
                "privateKey": base64.b64encode(key).decode(),
                "userHandle": base64.b64encode(credential.user_handle).decode(),
                "signCount": 0,
            },
        },
    )
    page.goto("/")
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()


@js_on_only
def test_a_browser_without_webauthn_or_on_an_ip_address_shows_no_passkey_button(page: Page, live_server):
    page.goto(live_server.replace("localhost", "127.0.0.1") + "/")
    expect(heading(page, LOGIN_HEADING)).to_be_visible()
    expect(page.get_by_role("button", name=SIGN_IN)).to_have_count(0)
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto("/")
    expect(heading(page, LOGIN_HEADING)).to_be_visible()
    expect(page.get_by_role("button", name=SIGN_IN)).to_have_count(0)


@js_off_only
def test_without_javascript_the_login_is_unchanged_and_passkeys_are_listed_renamed_and_deleted(
    page: Page, live_app, audit
):
    with live_app.app_context():
        sophie = agent_row(SOPHIE)
        give_passkey(sophie, SoftAuthenticator())
    page.goto("/")
    expect(page.get_by_role("button", name=SIGN_IN)).to_have_count(0)
    log_in(page, SOPHIE.numero, SOPHIE.pin, js=False)
    expect(heading(page, "Bienvenue, Sophie BERNARD")).to_be_visible()
    expect(page.get_by_role("button", name=CREATE)).to_have_count(0)

    page.get_by_role("link", name=MY_PASSKEYS).click()
    expect(page.get_by_role("heading", level=2, name="Téléphone")).to_be_visible()
    expect(page.get_by_text("Pour créer une clé d'accès, ouvrez cette page")).to_be_visible()
    audit(page)
    page.get_by_role("link", name="Renommer la clé d'accès « Téléphone »").click()
    page.get_by_label("Nom de la clé d'accès").fill("")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_title(re.compile("^Erreur : "))
    audit(page)
    page.get_by_label("Nom de la clé d'accès").fill("Téléphone pro")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("link", name="Supprimer la clé d'accès « Téléphone pro »").click()
    audit(page)
    page.get_by_role("button", name="Supprimer la clé d'accès").click()
    expect(page.get_by_text("Vous n'avez pas encore de clé d'accès.")).to_be_visible()
