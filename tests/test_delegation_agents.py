"""Find and help an agent: « Rechercher un agent », the agent's page, and each action on the account."""

import re
from datetime import timedelta

import pytest

from cgos.extensions import db
from cgos.identifiers import numero as numero_rules
from cgos.mail import open_mail
from cgos.models import Agent, OutboundMail, SecurityEvent, utcnow
from tests_support.factories import RENNES_CHU, add_agent, add_questionnaire, agent_row
from tests_support.personas import JEAN, LUC, MARIE, SOPHIE
from tests_support.staff import log_in_staff


def search(browser, query: str):
    """Type in « Rechercher un agent » and « Rechercher »."""
    return browser.get("/delegation/agents", query_string={"q": query})


def results(page) -> list[str]:
    """The names of the agents found."""
    return [link.get_text(strip=True) for link in page.main.select(".agent-results a")]


def mails() -> list[OutboundMail]:
    """The queued mails, oldest first."""
    return list(db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id)))


def staff_events(kind: str) -> list[SecurityEvent]:
    """The audit rows of a kind."""
    return list(db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == kind)))


def confirm(browser, agent_id: int, action: str, **fields):
    """Open an action's confirmation page, then « Confirmer »."""
    page = browser.get(f"/delegation/agents/{agent_id}/{action}")
    assert page.status == 200
    assert page.main.find("button", string="Confirmer")
    return browser.submit(f"/delegation/agents/{agent_id}/{action}", fields, selector="form[method=post]")


def test_the_search_field_is_on_every_back_office_page(either):
    log_in_staff(either)
    for url in ("/delegation/demandes", "/delegation/tableau-de-bord", "/delegation/agents"):
        page = either.get(url)
        field = page.soup.find("input", attrs={"name": "q"})
        assert page.soup.find("label", attrs={"for": field["id"]}).get_text(strip=True) == "Rechercher un agent"
        assert field.find_parent("form")["method"] == "get"


def test_the_search_needs_staff(agent):
    assert agent.client.get("/delegation/agents?q=dupont").status_code == 303


@pytest.mark.parametrize("query", ["35127846 S", "35127846s", " 3512 7846 s ", "35.127.846-S"])
def test_search_by_numero_in_any_spelling_the_login_accepts(either, query):
    log_in_staff(either)
    assert results(search(either, query)) == ["Marie DUPONT"]


def test_a_numero_with_a_wrong_letter_is_its_own_error(either):
    log_in_staff(either)
    page = search(either, "35127846 T")
    assert page.status == 422 and page.title.startswith("Erreur : ")
    assert page.field_error("q") and "lettre" in page.field_error("q")


@pytest.mark.parametrize("query", ["dupont marie", "DUPONT", "marie dupont", "Dupont M", "dûpônt"])
def test_search_by_name_ignores_accents_case_and_order(either, query):
    log_in_staff(either)
    assert results(search(either, query)) == ["Marie DUPONT"]


def test_search_by_name_finds_accented_names_typed_without_accents(either):
    add_agent("GÉRARD", "Hélène", "12345678 R", RENNES_CHU)
    log_in_staff(either)
    assert results(search(either, "gerard helene")) == ["Hélène GÉRARD"]
    assert results(search(either, "Hélène Gérard")) == ["Hélène GÉRARD"]


def test_search_by_mail_in_any_case(either):
    log_in_staff(either)
    assert results(search(either, "Marie.Dupont@EXAMPLE.org")) == ["Marie DUPONT"]
    assert results(search(either, "personne@example.org")) == []


def test_nothing_found_says_so(either):
    log_in_staff(either)
    page = search(either, "zzzz")
    assert "Aucun agent de la délégation ne correspond" in page.main.find(attrs={"role": "status"}).get_text()


def test_a_one_letter_search_asks_for_more(either):
    log_in_staff(either)
    page = search(either, "d")
    assert page.status == 422 and "au moins 2 lettres" in page.field_error("q")


def test_results_are_capped(agent, monkeypatch):
    from cgos.backoffice import agents

    monkeypatch.setattr(agents, "MAX_RESULTS", 2)
    for digits, first in (("12345678", "Anne"), ("23456789", "Bruno"), ("34567890", "Chloé")):
        add_agent("LEBRUN", first, digits + numero_rules.calc_check_letter(digits), RENNES_CHU)
    log_in_staff(agent)
    page = search(agent, "lebrun")
    assert results(page) == ["Anne LEBRUN", "Bruno LEBRUN"]
    assert "précisez la recherche" in page.text


def test_an_agent_page_shows_identity_establishment_and_masks_the_mail(either):
    marie = agent_row(MARIE)
    log_in_staff(either)
    page = either.get(f"/delegation/agents/{marie.id}")
    assert page.status == 200
    for text in ("35127846 S", "DUPONT", "Marie", "14 mars 1985", "Centre Hospitalier Universitaire de Rennes"):
        assert text in page.main.get_text(" ")
    assert "marie.dupont@example.org" not in page.text
    assert "mar*****@example.org" in page.main.get_text()
    assert "Jamais connecté" in page.main.select_one(".account-state").get_text()
    assert page.main.find("button", string="Débloquer le compte")
    assert page.main.find("button", string="Renvoyer le numéro C.G.O.S")
    assert page.main.find("button", string="Désactiver")
    assert not page.main.find("button", string="Réactiver")
    assert "PIN" not in page.main.get_text() and not page.main.find("input", attrs={"type": "password"})
    (event,) = staff_events("agent_viewed")
    assert event.agent_id == marie.id and event.staff_id is not None


def test_showing_the_mail_is_recorded_with_the_staff_id(either):
    marie = agent_row(MARIE)
    log_in_staff(either)
    either.get(f"/delegation/agents/{marie.id}")
    page = either.submit(f"/delegation/agents/{marie.id}/adresse-mail", selector="form[method=post]")
    assert "marie.dupont@example.org" in page.main.get_text()
    (event,) = staff_events("agent_email_shown")
    assert event.agent_id == marie.id and event.staff_id is not None


def test_a_shown_address_beyond_ascii_is_spelled_out_for_staff(agent):
    """N7: an address on file with a look-alike letter (Cyrillic « а ») shows its punycode beside it."""
    marie = agent_row(MARIE)
    marie.email = "marie.dupont@ex\u0430mple.org"
    db.session.commit()
    log_in_staff(agent)
    agent.get(f"/delegation/agents/{marie.id}")
    page = agent.submit(f"/delegation/agents/{marie.id}/adresse-mail", selector="form[method=post]")
    assert "marie.dupont@xn--exmple-4nf.org" in page.main.select_one("code").get_text()


def state(browser, person: Agent) -> str:
    """The account state as the agent's page words it."""
    return browser.get(f"/delegation/agents/{person.id}").main.select_one(".account-state").get_text(" ", strip=True)


def test_the_account_state_in_words(agent):
    log_in_staff(agent)
    assert "Mot de passe personnel." in state(agent, agent_row(SOPHIE))
    assert "Ancien mot de passe" in state(agent, agent_row(LUC))
    marie = agent_row(MARIE)
    marie.provisional_issued_at = utcnow() - timedelta(days=2)
    db.session.commit()
    words = state(agent, marie)
    assert re.search(r"Mot de passe provisoire envoyé le .+ \(expire le .+\)", words)
    marie.provisional_issued_at = utcnow() - timedelta(days=45)
    db.session.commit()
    assert "a expiré le" in state(agent, marie)
    marie.pin_blocked_at = utcnow()
    db.session.commit()
    assert "Mot de passe bloqué depuis le" in state(agent, marie)
    marie.disabled_at = utcnow()
    db.session.commit()
    assert "Compte désactivé le" in state(agent, marie)


def test_a_locked_account_shows_until_when_and_the_failures(app, agent, new_agent):
    caller = new_agent(app)
    for _ in range(6):
        caller.log_in(SOPHIE.numero, "111111")
    log_in_staff(agent)
    sophie = agent_row(SOPHIE)
    page = agent.get(f"/delegation/agents/{sophie.id}")
    words = page.main.select_one(".account-state").get_text(" ", strip=True)
    assert "Connexion bloquée jusqu'à" in words
    assert "tentatives erronées aujourd'hui (blocage au-delà de 20)" in words
    assert "échec de connexion" in page.main.get_text()


def test_unlocking_clears_every_counter_and_tells_the_agent(app, either, new_agent):
    caller = new_agent(app)
    for _ in range(6):
        caller.log_in(SOPHIE.numero, "111111")
    sophie = agent_row(SOPHIE)
    sophie.pin_blocked_at = utcnow()
    db.session.commit()
    log_in_staff(either)
    page = confirm(either, sophie.id, "debloquer")
    assert "Le compte est débloqué" in page.text
    words = page.main.select_one(".account-state").get_text(" ", strip=True)
    assert "bloqué" not in words and "tentative" not in words
    db.session.refresh(sophie)
    assert sophie.pin_blocked_at is None
    (event,) = staff_events("account_unlocked")
    assert event.agent_id == sophie.id and event.staff_id is not None
    mail = mails()[-1]
    assert mail.recipient == "sophie.bernard@example.org" and "débloqué" in open_mail(mail).text_body
    assert caller.log_in(SOPHIE.numero, SOPHIE.pin).soup.find("button", string="Se déconnecter")


def test_resending_the_numero_goes_to_the_address_on_file(either):
    marie = agent_row(MARIE)
    log_in_staff(either)
    page = confirm(either, marie.id, "renvoyer-numero")
    assert "Le numéro C.G.O.S est envoyé" in page.text
    (mail,) = mails()
    assert mail.recipient == "marie.dupont@example.org"
    assert re.search(r"^Numéro C.G.O.S : 35127846 S$", open_mail(mail).text_body, re.M)
    (event,) = staff_events("numero_resent")
    assert event.staff_id is not None


def test_no_resend_without_an_address_on_file(agent):
    jean = agent_row(JEAN)
    log_in_staff(agent)
    page = agent.get(f"/delegation/agents/{jean.id}")
    assert not page.main.find("button", string="Renvoyer le numéro C.G.O.S")
    assert "aucune adresse au fichier" in page.main.get_text()
    page = agent.get(f"/delegation/agents/{jean.id}/renvoyer-numero", follow_redirects=True)
    assert "ne s'applique pas" in page.text and mails() == []


def test_disabling_needs_a_reason_ends_sessions_and_refuses_login(app, either, new_agent):
    sophie_browser = new_agent(app)
    sophie_browser.log_in(SOPHIE.numero, SOPHIE.pin)
    sophie = agent_row(SOPHIE)
    log_in_staff(either)
    page = confirm(either, sophie.id, "desactiver")
    assert page.status == 422 and page.field_error("reason") == "Indiquez le motif : il est envoyé à l'agent."
    page = confirm(either, sophie.id, "desactiver", reason="Départ de l'établissement")
    assert "Le compte est désactivé" in page.text
    assert page.main.find("button", string="Réactiver") and not page.main.find("button", string="Désactiver")
    (event,) = staff_events("account_disabled")
    assert event.detail == "Départ de l'établissement" and event.staff_id is not None
    (mail,) = mails()
    assert "Motif : Départ de l'établissement" in open_mail(mail).text_body
    assert sophie_browser.client.get("/espace-agent/").status_code == 303
    page = sophie_browser.log_in(SOPHIE.numero, SOPHIE.pin)
    assert "contactez-la" in " ".join(page.error_summary())


def test_reactivating_lets_the_agent_in_again(app, either, new_agent):
    sophie = agent_row(SOPHIE)
    sophie.disabled_at = utcnow()
    db.session.commit()
    log_in_staff(either)
    page = confirm(either, sophie.id, "reactiver", reason="Erreur de désactivation")
    assert "Le compte est réactivé" in page.text
    (event,) = staff_events("account_reactivated")
    assert event.staff_id is not None
    (mail,) = mails()
    assert "réactivé" in open_mail(mail).text_body
    page = new_agent(app).log_in(SOPHIE.numero, SOPHIE.pin)
    assert page.soup.find("button", string="Se déconnecter")


def test_an_action_is_taken_only_once_confirmed(agent):
    marie = agent_row(MARIE)
    log_in_staff(agent)
    page = agent.get(f"/delegation/agents/{marie.id}/desactiver")
    assert page.main.find("a", string="Annuler")["href"] == f"/delegation/agents/{marie.id}"
    db.session.refresh(marie)
    assert marie.disabled_at is None and mails() == [] and staff_events("account_disabled") == []


def test_actions_refuse_a_forged_request(agent):
    marie = agent_row(MARIE)
    log_in_staff(agent)
    assert agent.client.post(f"/delegation/agents/{marie.id}/desactiver", data={"reason": "x"}).status_code == 400
    assert agent.client.get(f"/delegation/agents/{marie.id}/supprimer").status_code == 404


def test_the_agent_page_lists_pending_requests(either):
    marie = agent_row(MARIE)
    item = add_questionnaire(marie, utcnow() - timedelta(days=1))
    log_in_staff(either)
    page = either.get(f"/delegation/agents/{marie.id}")
    link = page.main.find("a", string=re.compile("Changement d'adresse mail"))
    assert link["href"] == f"/delegation/demandes/{item.id}"


# --- « Historique »: every staff action in French (I7) ----------------------------------------

# Recorded for agents only, never with a staff id: « Historique » never lists them.
AGENT_ONLY_KINDS = {
    "lockout",
    "pin_blocked",
    "login_alert",
    "password_change",
    "provisional_password_issued",
    "email_change_requested",
    "email_changed",
    "identification_failure",
    "registration_confirmed",
    "numero_recovered",
}


def test_every_event_kind_a_staff_action_records_has_a_french_label():
    """A new kind must be labelled, or declared agent-only here: no technical name reaches « Historique »."""
    from cgos.backoffice.history import ACTIONS
    from cgos.events import Event

    assert {str(kind) for kind in Event if kind not in ACTIONS} == AGENT_ONLY_KINDS
    assert all("_" not in label and label[0].isupper() for label in ACTIONS.values())


def test_the_history_shows_the_staff_actions_on_agents_in_french(agent):
    sophie = agent_row(SOPHIE)
    sophie.disabled_at = utcnow()
    db.session.commit()
    log_in_staff(agent)
    agent.get(f"/delegation/agents/{sophie.id}")
    agent.submit(f"/delegation/agents/{sophie.id}/adresse-mail", selector="form[method=post]")
    confirm(agent, sophie.id, "reactiver", reason="Erreur de désactivation")
    confirm(agent, sophie.id, "desactiver", reason="Départ de l'établissement")
    confirm(agent, sophie.id, "debloquer")
    confirm(agent, sophie.id, "renvoyer-numero")
    agent.client.get("/delegation/tableau-de-bord/demandes-en-attente.csv")
    staff_id = staff_events("agent_viewed")[0].staff_id
    page = agent.get(f"/delegation/personnel/{staff_id}/historique")
    actions = [row.select("td")[1].get_text(strip=True) for row in page.main.select("tbody tr")]
    for label in (
        "Consultation de la fiche d'un agent",
        "Affichage de l'adresse mail d'un agent",
        "Compte réactivé",
        "Compte désactivé",
        "Compte débloqué",
        "Numéro C.G.O.S renvoyé",
        "Export des demandes en attente",
    ):
        assert label in actions
    assert not [action for action in actions if "_" in action or action[:1].islower()]


# --- Agents with no establishment on file: no delegation's (N2) ---------------------------------


def unattached_agent(**values) -> Agent:
    """Paul SANSLIEU, a retiree imported without an establishment."""
    return add_agent("SANSLIEU", "Paul", "12345678 R", None, email="paul.sanslieu@example.org", **values)


def test_a_numero_search_says_the_agent_belongs_to_no_delegation(either):
    paul = unattached_agent()
    log_in_staff(either)
    (line,) = search(either, "12345678R").main.select(".agent-results li")
    assert "sans établissement, rattaché à aucune délégation" in line.get_text(" ")
    page = either.get(line.a["href"])
    assert "il n'est rattaché à aucune délégation" in page.main.select_one(".notice").get_text()
    show = page.main.find("button", string="Afficher").find_parent("form")
    assert show["method"] == "get" and show["action"] == f"/delegation/agents/{paul.id}/adresse-mail"
    assert not show.find("input", attrs={"name": "csrf_token"})


def test_a_browser_keeps_only_its_latest_agents_found_by_numero(agent, monkeypatch):
    from cgos.backoffice import agents

    monkeypatch.setattr(agents, "FOUND_KEPT", 1)
    paul = unattached_agent()
    other = add_agent("AILLEURS", "Zoé", "23456789" + numero_rules.calc_check_letter("23456789"), None)
    log_in_staff(agent)
    search(agent, "12345678 R")
    assert agent.get(f"/delegation/agents/{paul.id}").status == 200
    search(agent, other.numero)
    assert agent.get(f"/delegation/agents/{other.id}").status == 200
    assert agent.client.get(f"/delegation/agents/{paul.id}").status_code == 404


def test_the_mail_of_a_shown_address_says_who_when_and_why(agent):
    paul = unattached_agent()
    log_in_staff(agent)
    search(agent, "12345678 R")
    agent.get(f"/delegation/agents/{paul.id}/adresse-mail")
    agent.submit(
        f"/delegation/agents/{paul.id}/adresse-mail", {"reason": "Appel <de> l'agent"}, selector="form[method=post]"
    )
    (mail,) = mails()
    assert mail.subject == "Espace Agent C.G.O.S : votre adresse mail a été consultée"
    text = open_mail(mail).text_body
    assert re.search(
        r"^Le \d+ \w+ \d{4} à \d+ h \d\d, un membre du personnel de la Délégation régionale Bretagne", text, re.M
    )
    assert "Motif : Appel <de> l'agent" in text and "02 99" in text
    assert "Appel &lt;de&gt; l&#39;agent" in mail.html_body


def test_showing_the_mail_of_an_agent_of_the_delegation_asks_for_no_reason(agent):
    marie = agent_row(MARIE)
    log_in_staff(agent)
    response = agent.client.get(f"/delegation/agents/{marie.id}/adresse-mail")
    assert response.status_code == 303 and response.headers["Location"] == f"/delegation/agents/{marie.id}"
    assert staff_events("agent_email_shown") == [] and mails() == []


def test_the_history_gives_the_reason_of_an_action_on_an_account(agent):
    sophie = agent_row(SOPHIE)
    log_in_staff(agent)
    confirm(agent, sophie.id, "desactiver", reason="Départ de l'établissement")
    staff_id = staff_events("account_disabled")[0].staff_id
    rows = agent.get(f"/delegation/personnel/{staff_id}/historique").main.select("tbody tr")
    (disabled,) = [row for row in rows if "Compte désactivé" in row.get_text()]
    assert disabled.select("td")[3].get_text(strip=True) == "Motif : Départ de l'établissement"
