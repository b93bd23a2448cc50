"""Attacks on the back office's authorisation: staff of one delegation reaching another's agents,
requests, payslips or export lines, by id, by search or by export (issue 13)."""

from datetime import timedelta

import pytest

from cgos.extensions import db
from cgos.models import Agent, OutboundMail, SecurityEvent, utcnow
from tests_support.factories import (
    PARIS_APHP,
    RENNES_CHU,
    add_agent,
    add_questionnaire,
    add_registration,
    add_staff,
    agent_row,
    staff_row,
)
from tests_support.personas import BRETAGNE_STAFF, ILE_DE_FRANCE_STAFF, MARIE, NADIA, SOPHIE
from tests_support.staff import log_in_staff

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def paris_agent(app) -> Agent:
    """Nadia HADDAD, agent of an establishment of Paris: Île-de-France's, never Bretagne's."""
    return agent_row(NADIA)


@pytest.fixture
def bretagne_staff(agent):
    """A browser logged in as Bretagne staff."""
    log_in_staff(agent)
    return agent


def test_another_delegations_agent_page_is_not_found_by_id(bretagne_staff, paris_agent):
    assert bretagne_staff.client.get(f"/delegation/agents/{paris_agent.id}").status_code == 404


@pytest.mark.parametrize("action", ["debloquer", "renvoyer-numero", "desactiver", "reactiver"])
def test_no_action_reaches_another_delegations_agent(bretagne_staff, paris_agent, action):
    url = f"/delegation/agents/{paris_agent.id}/{action}"
    assert bretagne_staff.client.get(url).status_code == 404
    token = bretagne_staff.get("/delegation/agents").soup.select_one("form.logout input[name=csrf_token]")["value"]
    response = bretagne_staff.client.post(url, data={"csrf_token": token, "reason": "Essai"})
    assert response.status_code == 404
    db.session.refresh(paris_agent)
    assert paris_agent.disabled_at is None
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0
    assert not db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.agent_id == paris_agent.id))


def test_another_delegations_agent_mail_cannot_be_revealed(bretagne_staff, paris_agent):
    token = bretagne_staff.get("/delegation/agents").soup.select_one("form.logout input[name=csrf_token]")["value"]
    response = bretagne_staff.client.post(
        f"/delegation/agents/{paris_agent.id}/adresse-mail", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert b"nadia.haddad" not in response.data


def test_an_unknown_agent_id_is_not_found_either(bretagne_staff):
    assert bretagne_staff.client.get("/delegation/agents/999999").status_code == 404


@pytest.mark.parametrize("query", ["75236094 N", "75236094n", "haddad", "Nadia Haddad", "nadia.haddad@example.org"])
def test_another_delegations_agent_is_never_found_by_search(bretagne_staff, paris_agent, query):
    page = bretagne_staff.get("/delegation/agents", query_string={"q": query})
    assert page.status == 200
    assert "HADDAD" not in page.main.get_text() and f"/delegation/agents/{paris_agent.id}" not in str(page.main)


def test_the_other_delegation_cannot_reach_bretagnes_agents_either(app, agent):
    add_staff(ILE_DE_FRANCE_STAFF)
    log_in_staff(agent, ILE_DE_FRANCE_STAFF)
    marie = agent_row(MARIE)
    assert agent.client.get(f"/delegation/agents/{marie.id}").status_code == 404
    assert "DUPONT" not in agent.get("/delegation/agents", query_string={"q": "dupont"}).main.get_text()


def test_an_agents_page_lists_only_the_delegations_own_requests(app, agent):
    """An agent with no establishment may have asked another delegation: that request stays out of reach."""
    orphan = add_agent("SANSLIEU", "Paul", "12345678 R", None)
    elsewhere = add_questionnaire(orphan, utcnow() - timedelta(days=1), place=PARIS_APHP)
    log_in_staff(agent)
    page = found_by_numero(agent, orphan)
    assert f"/delegation/demandes/{elsewhere.id}" not in str(page.main)
    assert "Aucune demande en attente." in page.main.get_text()
    assert agent.client.get(f"/delegation/demandes/{elsewhere.id}").status_code == 404


def test_another_delegations_request_and_payslip_stay_out_of_reach(app, agent, tmp_path):
    from cgos import uploads

    nadia = agent_row(NADIA)
    stored = "attaque-bulletin.pdf"
    folder = uploads.absolute(stored).parent
    folder.mkdir(parents=True, exist_ok=True)
    uploads.absolute(stored).write_bytes(PDF)
    item = add_questionnaire(nadia, utcnow() - timedelta(days=1), place=PARIS_APHP, payslip_path=stored)
    log_in_staff(agent)
    assert agent.client.get(f"/delegation/demandes/{item.id}").status_code == 404
    assert agent.client.get(f"/delegation/demandes/{item.id}/bulletin").status_code == 404
    dashboard = agent.get("/delegation/tableau-de-bord").main.get_text()
    assert "HADDAD" not in dashboard


def test_another_delegations_requests_never_reach_the_export(app, agent):
    nadia = agent_row(NADIA)
    add_questionnaire(nadia, utcnow() - timedelta(days=3), place=PARIS_APHP)
    orphan = add_agent("SANSLIEU", "Paul", "12345678 R", None)
    add_questionnaire(orphan, utcnow() - timedelta(days=2), place=PARIS_APHP)
    add_questionnaire(agent_row(MARIE), utcnow() - timedelta(days=1))
    log_in_staff(agent)
    text = agent.client.get("/delegation/tableau-de-bord/demandes-en-attente.csv").get_data(as_text=True)
    assert "DUPONT" in text
    assert "HADDAD" not in text and "75236094" not in text and "SANSLIEU" not in text


def test_agents_cannot_use_the_back_office(agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    sophie = agent_row(SOPHIE)
    for url in (
        f"/delegation/agents/{sophie.id}",
        "/delegation/agents?q=bernard",
        "/delegation/tableau-de-bord",
        "/delegation/tableau-de-bord/demandes-en-attente.csv",
    ):
        assert agent.client.get(url).status_code == 303


def test_a_staff_action_without_the_csrf_token_is_refused(bretagne_staff):
    marie = agent_row(MARIE)
    response = bretagne_staff.client.post(f"/delegation/agents/{marie.id}/desactiver", data={"reason": "x"})
    assert response.status_code == 400
    db.session.refresh(marie)
    assert marie.disabled_at is None


def test_staff_never_see_a_pin_or_nir(bretagne_staff):
    sophie = agent_row(SOPHIE)
    page = bretagne_staff.get(f"/delegation/agents/{sophie.id}")
    text = page.text
    assert "482915" not in text and "2 90 06 29" not in text and sophie.pin_hash not in str(page.soup)


# N9: an id too large for the database's integer gave a 500 (OverflowError on SQLite, DataError on PostgreSQL).
OVERSIZED_ID = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"/delegation/agents/{OVERSIZED_ID}"),
        ("POST", f"/delegation/agents/{OVERSIZED_ID}/adresse-mail"),
        ("GET", f"/delegation/agents/{OVERSIZED_ID}/debloquer"),
        ("POST", f"/delegation/agents/{OVERSIZED_ID}/desactiver"),
        ("GET", f"/delegation/demandes/{OVERSIZED_ID}"),
        ("POST", f"/delegation/demandes/{OVERSIZED_ID}"),
        ("GET", f"/delegation/demandes/{OVERSIZED_ID}/bulletin"),
        ("GET", f"/delegation/inscriptions/{OVERSIZED_ID}"),
        ("POST", f"/delegation/inscriptions/{OVERSIZED_ID}"),
        ("GET", f"/delegation/inscriptions/{OVERSIZED_ID}/bulletin"),
        ("GET", f"/delegation/personnel/{OVERSIZED_ID}/historique"),
        ("GET", "/delegation/agents/2147483648"),
    ],
)
def test_an_oversized_id_on_a_back_office_route_is_not_found(bretagne_staff, method, url):
    token = bretagne_staff.get("/delegation/agents").soup.select_one("form.logout input[name=csrf_token]")["value"]
    data = {"csrf_token": token, "reason": "Essai", "decision": "reject"} if method == "POST" else None
    assert bretagne_staff.client.open(url, method=method, data=data).status_code == 404


def test_the_largest_id_the_database_holds_is_still_looked_up(bretagne_staff):
    assert bretagne_staff.client.get("/delegation/agents/2147483647").status_code == 404
    marie = agent_row(MARIE)
    assert bretagne_staff.client.get(f"/delegation/agents/{marie.id}").status_code == 200


def stored_payslip(name: str) -> str:
    """A payslip file in the upload folder; its stored path."""
    from cgos import uploads

    uploads.absolute(name).parent.mkdir(parents=True, exist_ok=True)
    uploads.absolute(name).write_bytes(PDF)
    return name


@pytest.mark.parametrize("confirmed", [False, True], ids=["unconfirmed", "confirmed-for-a-known-nir"])
def test_the_payslip_of_a_registration_without_an_agent_is_not_downloaded_by_id(app, agent, confirmed):
    """I3: the detail page refused a registration no agent came from, its payslip did not."""
    person = add_agent("INSCRIT", "Léa", "12345678 R", RENNES_CHU)
    item = add_registration(person, utcnow() - timedelta(days=1))
    item.payslip_path = stored_payslip("inscription.pdf")
    item.agent_id = None
    item.confirmed_at = utcnow() if confirmed else None
    db.session.commit()
    log_in_staff(agent)
    assert agent.client.get(f"/delegation/inscriptions/{item.id}").status_code == 404
    response = agent.client.get(f"/delegation/inscriptions/{item.id}/bulletin")
    assert response.status_code == 404 and response.data != PDF
    assert not db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.kind == "payslip_downloaded"))


def test_the_payslip_of_a_confirmed_registration_is_still_downloaded(app, agent):
    person = add_agent("INSCRIT", "Léa", "12345678 R", RENNES_CHU)
    item = add_registration(person, utcnow() - timedelta(days=1))
    item.payslip_path = stored_payslip("inscription.pdf")
    db.session.commit()
    log_in_staff(agent)
    assert agent.client.get(f"/delegation/inscriptions/{item.id}/bulletin").data == PDF


# N2: an agent with no establishment on file belonged to every delegation: any staff member found,
# unmasked, disabled or unlocked them. Now they belong to none: found by their exact numéro only,
# each action with a written reason, recorded, mailed to them, and shown to every delegation's lead.
REASON = "Appel de l'agent, identité vérifiée par sa date de naissance"
ORPHAN_MAIL = "paul.sanslieu@example.org"


@pytest.fixture
def orphan(app) -> Agent:
    """Paul SANSLIEU, a retiree with no establishment on file (blocked after too many failures)."""
    return add_agent("SANSLIEU", "Paul", "12345678 R", None, email=ORPHAN_MAIL, pin_blocked_at=utcnow())


def found_by_numero(browser, person: Agent):
    """« Rechercher un agent » with the exact numéro, then the agent's page from the result."""
    page = browser.get("/delegation/agents", query_string={"q": person.numero})
    return browser.get(page.main.find("a", string=person.display_name)["href"])


def csrf_token(browser) -> str:
    """The CSRF token of the back office's logout form."""
    return browser.get("/delegation/agents").soup.select_one("form.logout input[name=csrf_token]")["value"]


def staff_rows(kind: str) -> list[SecurityEvent]:
    """The audit rows of a kind."""
    return list(db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == kind)))


@pytest.mark.parametrize("query", ["sanslieu", "Paul Sanslieu", "sanslieu paul", ORPHAN_MAIL, ORPHAN_MAIL.upper()])
def test_an_agent_without_an_establishment_is_not_found_by_name_or_mail(app, agent, new_agent, orphan, query):
    add_staff(ILE_DE_FRANCE_STAFF)
    for browser, credentials in ((agent, BRETAGNE_STAFF), (new_agent(app), ILE_DE_FRANCE_STAFF)):
        log_in_staff(browser, credentials)
        page = browser.get("/delegation/agents", query_string={"q": query})
        assert page.status == 200 and not page.main.select(".agent-results a")
        assert "Paul SANSLIEU" not in page.main.get_text() and f"/delegation/agents/{orphan.id}" not in str(page.main)


def test_an_agent_without_an_establishment_is_found_by_the_exact_numero_and_the_look_recorded(
    app, agent, new_agent, orphan
):
    idf = add_staff(ILE_DE_FRANCE_STAFF)
    for browser, credentials in ((agent, BRETAGNE_STAFF), (new_agent(app), ILE_DE_FRANCE_STAFF)):
        log_in_staff(browser, credentials)
        page = found_by_numero(browser, orphan)
        assert page.status == 200 and "aucune délégation" in page.main.get_text(" ")
        assert ORPHAN_MAIL not in page.text
    viewers = {row.staff_id for row in staff_rows("agent_viewed") if row.agent_id == orphan.id}
    bretagne = staff_row()
    assert viewers == {idf.id, bretagne.id}


def test_an_agent_without_an_establishment_is_not_reached_by_guessing_its_id(bretagne_staff, orphan):
    """Ids follow each other: walking them would list every such agent without knowing a numéro."""
    for url in ("", "/adresse-mail", "/debloquer", "/desactiver", "/renvoyer-numero"):
        assert bretagne_staff.client.get(f"/delegation/agents/{orphan.id}{url}").status_code == 404
    token = csrf_token(bretagne_staff)
    for url in ("/adresse-mail", "/desactiver", "/debloquer"):
        response = bretagne_staff.client.post(
            f"/delegation/agents/{orphan.id}{url}", data={"csrf_token": token, "reason": REASON}
        )
        assert response.status_code == 404 and ORPHAN_MAIL.encode() not in response.data
    db.session.refresh(orphan)
    assert orphan.disabled_at is None and orphan.pin_blocked_at is not None
    assert not db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.agent_id == orphan.id))
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


ORPHAN_ACTIONS = [
    ("adresse-mail", "agent_email_shown"),
    ("debloquer", "account_unlocked"),
    ("renvoyer-numero", "numero_resent"),
    ("desactiver", "account_disabled"),
    ("reactiver", "account_reactivated"),
]


def confirmation_page(browser, person: Agent, action: str):
    """Find the agent by numéro, then open the action's confirmation page."""
    if action == "reactiver":
        person.disabled_at = utcnow()
        db.session.commit()
    found_by_numero(browser, person)
    page = browser.get(f"/delegation/agents/{person.id}/{action}")
    assert page.status == 200
    field = page.main.find("textarea", attrs={"name": "reason"})
    assert page.main.find("label", attrs={"for": field["id"]}).get_text(strip=True).startswith("Motif")
    return page


@pytest.mark.parametrize(("action", "kind"), ORPHAN_ACTIONS)
def test_an_action_on_an_agent_without_an_establishment_needs_a_written_reason(bretagne_staff, orphan, action, kind):
    from cgos.backoffice.routes import REASON_REQUIRED

    confirmation_page(bretagne_staff, orphan, action)
    before = (orphan.disabled_at, orphan.pin_blocked_at)
    page = bretagne_staff.submit(
        f"/delegation/agents/{orphan.id}/{action}", {"reason": "   "}, selector="form[method=post]"
    )
    assert page.status == 422 and page.field_error("reason") == REASON_REQUIRED
    assert ORPHAN_MAIL not in page.text
    db.session.expire_all()
    assert (orphan.disabled_at, orphan.pin_blocked_at) == before
    assert staff_rows(kind) == []
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


@pytest.mark.parametrize(("action", "kind"), ORPHAN_ACTIONS)
def test_an_action_on_an_agent_without_an_establishment_is_recorded_with_its_reason_and_mailed(
    bretagne_staff, orphan, action, kind
):
    from cgos.mail import open_mail

    confirmation_page(bretagne_staff, orphan, action)
    page = bretagne_staff.submit(
        f"/delegation/agents/{orphan.id}/{action}", {"reason": REASON}, selector="form[method=post]"
    )
    assert page.status == 200
    (row,) = staff_rows(kind)
    assert row.agent_id == orphan.id and row.staff_id is not None and row.detail == REASON
    (mail,) = db.session.scalars(db.select(OutboundMail)).all()
    body = open_mail(mail).text_body
    assert mail.recipient == ORPHAN_MAIL
    assert f"Motif : {REASON}" in body and "Délégation régionale Bretagne" in body
    if action == "adresse-mail":
        assert ORPHAN_MAIL in page.main.get_text()


def test_an_action_on_an_agent_without_an_address_is_recorded_and_mailed_to_nobody(bretagne_staff, orphan):
    orphan.email = None
    db.session.commit()
    confirmation_page(bretagne_staff, orphan, "debloquer")
    bretagne_staff.submit(f"/delegation/agents/{orphan.id}/debloquer", {"reason": REASON}, selector="form[method=post]")
    db.session.refresh(orphan)
    assert orphan.pin_blocked_at is None
    assert [row.detail for row in staff_rows("account_unlocked")] == [REASON]
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


def test_every_delegations_lead_sees_the_actions_on_agents_without_an_establishment(app, agent, new_agent, orphan):
    """An Île-de-France staff member acts on Paul: the Bretagne lead reads it, with who, where from and why."""
    add_staff(ILE_DE_FRANCE_STAFF)
    idf = new_agent(app)
    log_in_staff(idf, ILE_DE_FRANCE_STAFF)
    confirmation_page(idf, orphan, "desactiver")
    idf.submit(f"/delegation/agents/{orphan.id}/desactiver", {"reason": REASON}, selector="form[method=post]")
    nadia = agent_row(NADIA)
    assert idf.get(f"/delegation/agents/{nadia.id}").status == 200
    assert idf.client.get("/delegation/personnel/agents-sans-etablissement").status_code == 404, "leads only"

    log_in_staff(agent)
    link = agent.get("/delegation/personnel").main.find("a", string="Historique des agents sans établissement")
    page = agent.get(link["href"])
    assert page.status == 200
    rows = [row.get_text(" ", strip=True) for row in page.main.select("tbody tr")]
    (disabled,) = [row for row in rows if "Compte désactivé" in row]
    for text in ("delegation.idf@example.org", "Délégation régionale Île-de-France", "Paul SANSLIEU (12345678 R)"):
        assert text in disabled
    assert REASON in disabled
    assert any("Consultation de la fiche d'un agent" in row for row in rows)
    assert "HADDAD" not in page.main.get_text(), "an agent with an establishment stays with their delegation"


def test_agents_with_an_establishment_stay_with_their_delegation_even_by_numero(bretagne_staff, orphan):
    nadia = agent_row(NADIA)
    page = bretagne_staff.get("/delegation/agents", query_string={"q": "75236094 N"})
    assert "HADDAD" not in page.main.get_text()
    assert bretagne_staff.client.get(f"/delegation/agents/{nadia.id}").status_code == 404
