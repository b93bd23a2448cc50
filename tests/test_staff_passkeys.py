"""Staff passkeys in the back office (issue 23): offered first at the second step, « Mes clés
d'accès » to create, rename and delete them, and the delegation's « Supprimer les clés d'accès »
on an agent's page."""

from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import AuthSession, OutboundMail, Passkey, SecurityEvent
from tests_support.authenticator import SoftAuthenticator
from tests_support.factories import add_agent, agent_row, staff_row
from tests_support.passkeys import give_passkey
from tests_support.personas import BRETAGNE_STAFF, SOPHIE
from tests_support.staff import current_code, log_in_staff
from tests_support.staff_passkeys import StaffPasskeyBrowser, page_token, staff_passkeys


def mails() -> list[OutboundMail]:
    """The queued mails, oldest first."""
    return list(db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id)))


def events_of(kind: str) -> list[SecurityEvent]:
    """The audit rows of a kind, oldest first."""
    return list(
        db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id))
    )


def link_texts(page) -> list[str]:
    """The texts of the main region's links."""
    return [link.get_text(" ", strip=True) for link in page.main.find_all("a")]


# --- The second step ----------------------------------------------------------------------------


def test_a_staff_member_with_a_passkey_is_offered_it_first_with_the_codes_as_links_below(either):
    give_passkey(staff_row(), SoftAuthenticator())
    page = StaffPasskeyBrowser(either).password_step()
    assert page.response.request.path == "/delegation/verification"
    main = page.main
    assert main.h1.get_text(strip=True) == "Confirmez votre connexion"
    box = main.select_one("[data-staff-passkey]")
    assert box.has_attr("hidden"), "shown by the script only where WebAuthn exists"
    assert box.find("button", string="Utiliser ma clé d'accès")["type"] == "button"
    assert box["data-options-url"] == "/delegation/verification/cle-d-acces/options"
    links = {link.get_text(strip=True): link["href"] for link in box.select("ul a")}
    assert links == {
        "Saisir un code de vérification": "/delegation/verification?methode=code",
        "Utiliser un code de secours": "/delegation/verification?methode=secours",
    }
    # Without JavaScript, the code form as before, after the box in the page.
    code_step = main.select_one("[data-code-step]")
    assert box.find_next("div", attrs={"data-code-step": True}) is code_step
    assert code_step.find("label", attrs={"for": "code"}).find(string=True).strip() == "Code de vérification"
    assert code_step.find("button", string="Valider")


def test_without_a_passkey_the_second_step_is_the_code_alone(either):
    page = StaffPasskeyBrowser(either).password_step()
    assert page.main.h1.get_text(strip=True) == "Code de vérification"
    assert not page.main.select("[data-staff-passkey]")
    assert "Utiliser ma clé d'accès" not in link_texts(page)


def test_the_code_link_leads_to_the_code_form_and_back(agent):
    give_passkey(staff_row(), SoftAuthenticator())
    browser = StaffPasskeyBrowser(agent)
    browser.password_step()
    page = agent.get("/delegation/verification?methode=code")
    assert page.main.h1.get_text(strip=True) == "Code de vérification"
    assert not page.main.select("[data-staff-passkey]")
    assert page.main.find("a", string="Utiliser ma clé d'accès")["href"] == "/delegation/verification"
    page = agent.submit("/delegation/verification?methode=code", {"code": current_code()})
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"


def test_the_recovery_code_link_asks_for_a_recovery_code(agent):
    give_passkey(staff_row(), SoftAuthenticator())
    StaffPasskeyBrowser(agent).password_step()
    page = agent.get("/delegation/verification?methode=secours")
    assert page.main.h1.get_text(strip=True) == "Code de secours"
    assert page.soup.find("label", attrs={"for": "code"}).find(string=True).strip() == "Code de secours"
    page = agent.submit("/delegation/verification?methode=secours", {"code": "AAAA-BBBB"})
    assert page.status == 422 and page.field_error("code").startswith("Le code de vérification est incorrect")
    assert page.main.h1.get_text(strip=True) == "Code de secours", "the answer stays on the recovery code"


def test_a_passkey_second_factor_replaces_the_browsers_previous_session(app, agent, new_agent):
    """The code's finish of the login: the browser's earlier session (an agent's here) is revoked."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    [agents_session] = db.session.scalars(db.select(AuthSession).where(AuthSession.agent_id.is_not(None)))
    phone = StaffPasskeyBrowser(new_agent(app))
    phone.enrol()
    browser = StaffPasskeyBrowser(agent, phone.authenticator)
    browser.password_step()
    assert browser.second_factor().status_code == 200
    db.session.refresh(agents_session)
    assert agents_session.revoked_at is not None
    [passkey] = staff_passkeys(staff_row())
    assert passkey.last_used_at is not None and passkey.sign_count == 1


# --- « Mes clés d'accès » in the back office ------------------------------------------------------


def test_mes_cles_d_acces_is_linked_from_the_requests_page_and_offers_the_creation(either):
    log_in_staff(either)
    page = either.get("/delegation/demandes")
    assert page.main.find("a", string="Mes clés d'accès")["href"] == "/delegation/cles-d-acces"
    page = either.get("/delegation/cles-d-acces")
    assert page.main.h1.get_text(strip=True) == "Mes clés d'accès"
    assert "Vous n'avez pas encore de clé d'accès." in page.text
    box = page.main.select_one("[data-passkey-create]")
    assert box.has_attr("hidden") and box.find("button", string="Créer une clé d'accès")
    assert (box["data-options-url"], box["data-url"]) == (
        "/delegation/cles-d-acces/options",
        "/delegation/cles-d-acces",
    )


def test_a_created_passkey_is_stored_named_after_the_browser_recorded_and_mailed(agent):
    log_in_staff(agent)
    browser = StaffPasskeyBrowser(agent)
    token = page_token(agent, "/delegation/cles-d-acces")
    options = browser.post("/delegation/cles-d-acces/options", token).get_json()
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == BRETAGNE_STAFF.email
    assert options["user"]["displayName"] == f"{BRETAGNE_STAFF.email} (Délégation régionale Bretagne)"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    response = browser.post(
        "/delegation/cles-d-acces", token, browser.authenticator.create(options, browser.origin), **{"User-Agent": "x"}
    )
    assert response.get_json() == {"redirect": "/delegation/cles-d-acces"}
    staff = staff_row()
    [passkey] = staff_passkeys(staff)
    assert passkey.agent_id is None and passkey.name == "Clé d'accès"
    [event] = events_of("passkey_added")
    assert (event.staff_id, event.agent_id, event.passkey_id, event.detail) == (staff.id, None, passkey.id, None)
    [mail] = mails()
    assert mail.recipient == BRETAGNE_STAFF.email
    assert "une clé d'accès a été ajoutée à votre compte" in open_mail(mail).text_body
    page = agent.get("/delegation/cles-d-acces")
    assert page.main.find("h2", string="Clé d'accès")
    assert "« Clé d'accès » est créée" in page.text


def test_a_staff_passkey_is_renamed_and_deleted_once_confirmed(agent):
    browser = StaffPasskeyBrowser(agent)
    log_in_staff(agent)
    browser.create_passkey()
    [passkey] = staff_passkeys(staff_row())
    assert passkey.name == "iPhone — Safari"
    page = agent.get("/delegation/cles-d-acces")
    [rename] = [link for link in page.main.find_all("a") if link.get_text(strip=True).startswith("Renommer")]
    assert " ".join(rename.get_text(" ").split()) == "Renommer la clé d'accès « iPhone — Safari »"
    page = agent.get(rename["href"])
    page = agent.submit(rename["href"], {"name": "  Téléphone   pro "})
    assert "s'appelle désormais « Téléphone pro »" in page.text

    url = f"/delegation/cles-d-acces/{passkey.id}/supprimer"
    page = agent.get(url)
    assert page.main.h1.get_text(strip=True) == "Supprimer la clé d'accès « Téléphone pro » ?"
    assert staff_passkeys(staff_row()), "nothing deleted before « Supprimer la clé d'accès »"
    page = agent.submit(url)
    assert "Vous n'avez pas encore de clé d'accès." in page.text
    assert not staff_passkeys(staff_row())
    [event] = events_of("passkey_deleted")
    assert event.staff_id == staff_row().id
    assert "« Téléphone pro » a été supprimée" in open_mail(mails()[-1]).text_body


def test_the_history_names_the_staff_members_passkey_actions_in_french(agent):
    log_in_staff(agent)
    StaffPasskeyBrowser(agent).create_passkey()
    page = agent.get(f"/delegation/personnel/{staff_row().id}/historique")
    actions = [row.select("td")[1].get_text(strip=True) for row in page.main.select("tbody tr")]
    assert "Clé d'accès créée" in actions


# --- « Supprimer les clés d'accès » on an agent's page --------------------------------------------


def test_the_agent_page_offers_the_deletion_only_to_an_agent_with_passkeys_with_their_count(agent):
    sophie = agent_row(SOPHIE)
    log_in_staff(agent)
    page = agent.get(f"/delegation/agents/{sophie.id}")
    assert not page.main.find("button", string="Supprimer les clés d'accès")
    for _ in range(2):
        give_passkey(sophie, SoftAuthenticator())
    page = agent.get(f"/delegation/agents/{sophie.id}")
    assert page.main.find("button", string="Supprimer les clés d'accès")
    states = [item.get_text(strip=True) for item in page.main.select(".account-state li")]
    assert "2 clés d'accès enregistrées" in states


def test_deleting_an_agents_passkeys_is_confirmed_recorded_mailed_and_ends_the_sessions(app, either, new_agent):
    sophies_browser = new_agent(app)
    sophies_browser.log_in(SOPHIE.numero, SOPHIE.pin)
    sophie = agent_row(SOPHIE)
    for _ in range(2):
        give_passkey(sophie, SoftAuthenticator())
    log_in_staff(either)
    url = f"/delegation/agents/{sophie.id}/supprimer-cles-d-acces"
    page = either.get(url)
    assert page.main.h1.get_text(strip=True) == "Supprimer les clés d'accès : Sophie BERNARD (29088361 J)"
    assert "Les 2 clés d'accès de l'agent sont supprimées" in page.text
    assert db.session.scalar(db.select(db.func.count(Passkey.id))) == 2, "nothing before « Confirmer »"
    page = either.submit(url, selector="form[method=post]")
    assert "Les 2 clés d'accès de l'agent sont supprimées et l'agent en est informé." in page.text
    assert not page.main.find("button", string="Supprimer les clés d'accès")
    assert db.session.scalar(db.select(db.func.count(Passkey.id))) == 0
    [event] = events_of("agent_passkeys_deleted")
    assert (event.agent_id, event.staff_id) == (sophie.id, staff_row().id)
    [mail] = mails()
    body = open_mail(mail).text_body
    assert mail.recipient == "sophie.bernard@example.org"
    assert "votre délégation régionale a supprimé vos 2 clés d'accès" in body
    assert sophies_browser.client.get("/espace-agent/").status_code == 303, "her sessions ended"
    page = either.get(f"/delegation/personnel/{event.staff_id}/historique")
    actions = [row.select("td")[1].get_text(strip=True) for row in page.main.select("tbody tr")]
    assert "Clés d'accès de l'agent supprimées" in actions


def test_deleting_the_passkeys_of_an_agent_without_an_establishment_needs_a_reason(agent):
    paul = add_agent("SANSLIEU", "Paul", "12345678 R", None, email="paul.sanslieu@example.org")
    give_passkey(paul, SoftAuthenticator())
    log_in_staff(agent)
    agent.get("/delegation/agents", query_string={"q": "12345678 R"})
    url = f"/delegation/agents/{paul.id}/supprimer-cles-d-acces"
    agent.get(url)
    page = agent.submit(url, selector="form[method=post]")
    assert page.status == 422 and page.field_error("reason") == "Indiquez le motif : il est envoyé à l'agent."
    agent.submit(url, {"reason": "Téléphone perdu, appel du 6 décembre"}, selector="form[method=post]")
    [event] = events_of("agent_passkeys_deleted")
    assert event.detail == "Téléphone perdu, appel du 6 décembre"
    assert "Motif : Téléphone perdu, appel du 6 décembre" in open_mail(mails()[-1]).text_body
