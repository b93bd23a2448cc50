"""First login with a provisional password (charter, new PIN, personal data) and the agent's home."""

import re
from datetime import timedelta

import pytest

from cgos.credentials.hashing import hash_secret
from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import OutboundMail, PasswordState, utcnow
from tests_support.factories import agent_row
from tests_support.flows import link_in
from tests_support.personas import MARIE, SOPHIE

PROVISIONAL = "739154"


@pytest.fixture
def marie(app):
    """Marie DUPONT with a fresh provisional password."""
    agent = agent_row(MARIE)
    agent.provisional_pin_hash = hash_secret(PROVISIONAL)
    agent.provisional_issued_at = utcnow()
    agent.password_state = PasswordState.PROVISIONAL
    db.session.commit()
    return agent


def heading(page) -> str:
    """The page's h1."""
    return page.soup.h1.get_text(strip=True)


def test_first_login_goes_through_every_step_in_order(either, marie):
    page = either.log_in(MARIE.numero, PROVISIONAL)
    assert heading(page) == "Conditions générales d'utilisation"
    assert page.main.find("button", string="Accepter") and page.main.find("button", string="Refuser")
    assert page.main.find("a", string=re.compile("Impression des conditions générales"))
    page = either.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    assert heading(page) == "Changement du mot de passe provisoire"
    assert page.main.find("input", attrs={"type": "checkbox", "name": "show"})
    page = either.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284617"})
    assert heading(page) == "Données personnelles"
    assert page.soup.find(id="email")["value"] == "marie.dupont@example.org"
    page = either.submit("/espace-agent/donnees-personnelles", {"phone_mobile": "06 12 34 56 78"})
    assert heading(page) == "Bienvenue, Marie DUPONT"
    db.session.refresh(marie)
    assert marie.password_state == PasswordState.PERSONAL
    assert marie.provisional_pin_hash is None and marie.charter_accepted_at and marie.personal_data_confirmed_at
    assert marie.phone_mobile == "+33612345678"


@pytest.mark.parametrize(
    "url",
    [
        "/espace-agent/",
        "/espace-agent/mot-de-passe-provisoire",
        "/espace-agent/donnees-personnelles",
        "/espace-agent/mes-donnees",
        "/espace-agent/mot-de-passe",
    ],
)
def test_no_step_can_be_skipped_by_typing_a_url(agent, marie, url):
    agent.log_in(MARIE.numero, PROVISIONAL)
    response = agent.client.get(url)
    assert response.status_code == 303 and response.headers["Location"].endswith("/espace-agent/conditions-generales")
    if url != "/espace-agent/":
        token = agent.get("/espace-agent/conditions-generales").form_data()["csrf_token"]
        response = agent.client.post(
            url, data={"csrf_token": token, "new_pin": "284617", "confirmation": "284617", "email": "x@example.org"}
        )
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/espace-agent/conditions-generales")


def test_the_pin_step_cannot_be_skipped_after_the_charter(agent, marie):
    agent.log_in(MARIE.numero, PROVISIONAL)
    agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    response = agent.client.get("/espace-agent/donnees-personnelles")
    assert response.headers["Location"].endswith("/espace-agent/mot-de-passe-provisoire")


def test_refusing_the_charter_logs_out_with_an_explanation(agent, marie):
    agent.log_in(MARIE.numero, PROVISIONAL)
    page = agent.submit("/espace-agent/conditions-generales", {"decision": "refuse"})
    assert "Vous avez refusé les conditions générales d'utilisation" in page.text
    assert agent.client.get("/espace-agent/").status_code == 303
    db.session.refresh(marie)
    assert marie.charter_accepted_at is None


def test_the_charter_can_be_printed(either):
    page = either.get("/conditions-generales")
    assert page.status == 200 and "Charte d'utilisation de l'Espace Agent" in page.text


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("111111", "un seul chiffre répété"),
        ("123456", "suite"),
        ("987654", "suite"),
        ("140385", "date de naissance"),
        ("850314", "date de naissance"),
        ("739154", "différent du mot de passe provisoire"),
        ("12345", "exactement 6 chiffres"),
        ("12a456", "exactement 6 chiffres"),
    ],
)
def test_weak_pins_are_refused_with_the_reason(either, marie, pin, reason):
    either.log_in(MARIE.numero, PROVISIONAL)
    either.get("/espace-agent/conditions-generales")
    either.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    page = either.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": pin, "confirmation": pin})
    assert page.status == 422
    assert reason in page.field_error("new_pin")
    assert page.title.startswith("Erreur : ")
    db.session.refresh(marie)
    assert marie.password_state == PasswordState.PROVISIONAL


def test_the_two_pins_must_match(agent, marie):
    agent.log_in(MARIE.numero, PROVISIONAL)
    agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    page = agent.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284618"})
    assert page.field_error("confirmation") == "Les deux mots de passe saisis ne sont pas identiques."


def complete_first_login(agent, pin="284617"):
    """Log Marie in with her provisional PIN and go through the three steps."""
    agent.log_in(MARIE.numero, PROVISIONAL)
    agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    agent.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": pin, "confirmation": pin})
    return agent.submit("/espace-agent/donnees-personnelles", {})


def test_the_provisional_pin_is_single_use_once_personalised(agent, marie, new_agent, app):
    complete_first_login(agent)
    other = new_agent(app)
    assert "Bienvenue" not in other.log_in(MARIE.numero, PROVISIONAL).text
    assert "Bienvenue" in other.log_in(MARIE.numero, "284617").text


def test_a_password_change_revokes_other_sessions(agent, marie, new_agent, app):
    complete_first_login(agent)
    other = new_agent(app)
    other.log_in(MARIE.numero, "284617")
    agent.get("/espace-agent/mot-de-passe")
    page = agent.submit(
        "/espace-agent/mot-de-passe", {"current_pin": "284617", "new_pin": "590273", "confirmation": "590273"}
    )
    assert "Votre mot de passe a été modifié." in page.text
    assert agent.client.get("/espace-agent/").status_code == 200
    assert other.client.get("/espace-agent/").status_code == 303
    assert "Bienvenue" in new_agent(app).log_in(MARIE.numero, "590273").text


def test_changing_the_pin_needs_the_current_one(either, marie):
    complete_first_login(either)
    either.get("/espace-agent/mot-de-passe")
    page = either.submit(
        "/espace-agent/mot-de-passe", {"current_pin": "000000", "new_pin": "590273", "confirmation": "590273"}
    )
    assert page.status == 422
    assert page.field_error("current_pin") == "Le mot de passe actuel est incorrect."


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": ""}, "email", "Saisissez votre adresse mail personnelle."),
        ({"email": "marie@"}, "email", "Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr."),
        ({"phone_mobile": "12"}, "phone_mobile", "Saisissez un numéro de téléphone valide"),
        ({"phone_work": "+33 1 23"}, "phone_work", "Saisissez un numéro de téléphone valide"),
    ],
)
def test_personal_data_errors(either, marie, fields, field, message):
    either.log_in(MARIE.numero, PROVISIONAL)
    either.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    either.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284617"})
    page = either.submit("/espace-agent/donnees-personnelles", fields)
    assert page.status == 422
    assert page.field_error(field).startswith(message)


def test_a_new_mail_address_needs_its_link(agent, marie, new_agent, app, monkeypatch):
    agent.log_in(MARIE.numero, PROVISIONAL)
    agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    agent.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284617"})
    page = agent.submit("/espace-agent/donnees-personnelles", {"email": "marie.new@example.org"})
    assert "Un lien de confirmation a été envoyé à marie.new@example.org" in page.text
    db.session.refresh(marie)
    assert marie.email == "marie.dupont@example.org" and marie.pending_email == "marie.new@example.org"
    mails = {m.recipient: m for m in db.session.scalars(db.select(OutboundMail))}
    assert set(mails) == {"marie.new@example.org", "marie.dupont@example.org"}
    assert "marie.new@example.org" not in mails["marie.dupont@example.org"].text_body
    link = re.search(r"^(https?://\S+)$", open_mail(mails["marie.new@example.org"]).text_body, re.M).group(1)
    path = link.split("localhost", 1)[1]

    visitor = new_agent(app)
    page = visitor.get(path)
    assert page.status == 200 and "Votre nouvelle adresse mail est enregistrée" in page.text
    db.session.refresh(marie)
    assert marie.email == "marie.new@example.org" and marie.pending_email is None
    again = visitor.get(path)
    assert again.status == 410 and "déjà été utilisé" in again.text


def request_mail_change(agent) -> str:
    """Ask, from « Mes données », for marie.new@example.org; the path of the link mailed to it."""
    agent.get("/espace-agent/mes-donnees")
    agent.submit("/espace-agent/mes-donnees", {"email": "marie.new@example.org", "current_pin": "284617"})
    return link_in(db.session.scalar(db.select(OutboundMail).where(OutboundMail.recipient == "marie.new@example.org")))


def test_a_mail_change_link_expires_after_48_hours(clock, agent, marie):
    complete_first_login(agent)
    path = request_mail_change(agent)
    clock.shift(timedelta(hours=48, minutes=1))
    page = agent.get(path)
    assert page.status == 410 and "48 heures" in page.text
    db.session.refresh(marie)
    assert marie.email == "marie.dupont@example.org"


def test_each_mail_change_link_outcome_has_its_status_title_and_heading(clock, agent, marie):
    complete_first_login(agent)
    path = request_mail_change(agent)

    def seen(url):
        """Status, title and heading of a link's page."""
        page = agent.get(url)
        return page.status, page.title.split(" – ")[0], page.soup.h1.get_text(strip=True)

    assert seen("/espace-agent/adresse-mail/not-a-token") == (404, "Lien invalide", "Lien invalide")
    sent = utcnow()
    clock.shift(timedelta(hours=48, minutes=1))
    assert seen(path) == (410, "Lien expiré", "Lien expiré")
    clock.move_to(sent)
    assert seen(path) == (200, "Adresse mail confirmée", "Adresse mail confirmée")
    assert seen(path) == (410, "Lien déjà utilisé", "Lien déjà utilisé")


def test_a_tampered_link_is_refused(agent):
    assert agent.get("/espace-agent/adresse-mail/not-a-token").status == 404


def test_home_shows_who_the_agent_is(either, marie):
    complete_first_login(either)
    page = either.get("/espace-agent/")
    assert heading(page) == "Bienvenue, Marie DUPONT"
    assert "35127846 S" in page.text and "Centre Hospitalier Universitaire de Rennes" in page.text
    links = {a.get_text(strip=True) for a in page.main.select("a")}
    assert {"Modifier mon mot de passe", "Modifier mes données personnelles"} <= links


def test_pages_of_the_space_need_a_login(agent):
    response = agent.client.get("/espace-agent/", follow_redirects=True)
    assert "Connectez-vous pour accéder à votre Espace Agent." in response.get_data(as_text=True)


def test_changing_the_mail_from_home_asks_for_the_current_password(either, marie):
    complete_first_login(either)
    page = either.get("/espace-agent/mes-donnees")
    current = page.soup.find(id="current_pin")
    assert page.soup.find("label", attrs={"for": "current_pin"}).get_text(strip=True) == "Mot de passe actuel"
    assert (current["type"], current["inputmode"], current["autocomplete"]) == (
        "password",
        "numeric",
        "current-password",
    )
    page = either.submit("/espace-agent/mes-donnees", {"phone_mobile": "06 12 34 56 78"})
    assert "Vos données personnelles sont enregistrées." in page.text
    either.get("/espace-agent/mes-donnees")
    page = either.submit("/espace-agent/mes-donnees", {"email": "marie.new@example.org"}, follow=False)
    assert page.status == 422 and page.title.startswith("Erreur : ")
    assert page.error_summary() == ["Saisissez votre mot de passe actuel."]
    page = either.submit("/espace-agent/mes-donnees", {"email": "marie.new@example.org", "current_pin": "284617"})
    assert "Un lien de confirmation a été envoyé à marie.new@example.org" in page.text
    db.session.refresh(marie)
    assert marie.pending_email == "marie.new@example.org" and marie.email == "marie.dupont@example.org"


def test_the_first_login_step_does_not_ask_for_the_password_just_typed(agent, marie):
    agent.log_in(MARIE.numero, PROVISIONAL)
    agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    page = agent.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284617"})
    assert page.soup.find(id="email") is not None and page.soup.find(id="current_pin") is None


def test_each_first_login_step_shows_where_it_is(either, marie):
    page = either.log_in(MARIE.numero, PROVISIONAL)
    assert page.soup.select_one(".steps").get_text(strip=True) == "Étape 1 sur 3"
    assert "(étape 1 sur 3)" in page.title
    page = either.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    assert page.soup.select_one(".steps").get_text(strip=True) == "Étape 2 sur 3"
    page = either.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284617"})
    assert page.soup.select_one(".steps").get_text(strip=True) == "Étape 3 sur 3"


def test_the_charter_shows_the_guide_text_and_records_the_version_accepted(either, marie):
    page = either.log_in(MARIE.numero, PROVISIONAL)
    assert "Bienvenue sur l'espace agent du site www.cgos.info" in page.text
    assert "★ Actuellement, cette nouvelle fonctionnalité est ouverte uniquement aux agents" in page.text
    assert "Conformément au règlement général" not in page.text, "no invented clause"
    either.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    db.session.refresh(marie)
    assert marie.charter_version == "2026-12" and marie.charter_accepted_at is not None


def test_the_charter_ends_its_list_of_regions_instead_of_a_literal_ellipsis(either, marie):
    """Issue 22, item 10: the guide's ★ line stopped at « et … », read as unfinished in a text to accept."""
    page = either.log_in(MARIE.numero, PROVISIONAL)
    star = next(p.get_text(" ", strip=True) for p in page.main.select(".charter p") if p.get_text().startswith("★"))
    assert star.endswith("Nord-Pas de Calais Picardie et d'autres régions progressivement.")
    assert "…" not in page.main.select_one(".charter").get_text()
    assert page.main.find(string=re.compile("Version 2026-12 de la charte"))


def test_agents_who_accepted_the_charter_with_the_ellipsis_accept_the_completed_one(agent, app, new_agent):
    """The text changed, so its version did: whoever accepted 2026-11 is asked again, once."""
    sophie = agent_row(SOPHIE)
    sophie.charter_version = "2026-11"
    db.session.commit()
    page = agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert heading(page) == "Conditions générales d'utilisation"
    assert "La charte d'utilisation a changé" in page.text
    page = agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    assert heading(page) == "Bienvenue, Sophie BERNARD"
    db.session.refresh(sophie)
    assert sophie.charter_version == "2026-12"
    assert heading(new_agent(app).log_in(SOPHIE.numero, SOPHIE.pin)) == "Bienvenue, Sophie BERNARD"


def test_a_new_charter_version_is_accepted_again_at_the_next_login(make_app, new_agent, tmp_path):
    """As Keycloak's « Terms and Conditions » required action: the operator's new file, no code change."""
    charter = tmp_path / "charte.html"
    charter.write_text("<!-- charter-version: 2027-01 -->\n<p>Nouvelle charte officielle du C.G.O.S.</p>\n")
    app = make_app(CHARTER_PATH=str(charter))
    with app.app_context():
        agent = new_agent(app)
        page = agent.log_in(SOPHIE.numero, SOPHIE.pin)
        assert heading(page) == "Conditions générales d'utilisation"
        assert "La charte d'utilisation a changé" in page.text
        assert "Nouvelle charte officielle du C.G.O.S." in page.text and page.soup.select_one(".steps") is None
        assert agent.get("/espace-agent/", follow_redirects=True).soup.h1.get_text(strip=True) == heading(page)
        page = agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
        assert heading(page) == "Bienvenue, Sophie BERNARD"
        sophie = agent_row(SOPHIE)
        assert sophie.charter_version == "2027-01"
        again = new_agent(app)
        assert heading(again.log_in(SOPHIE.numero, SOPHIE.pin)) == "Bienvenue, Sophie BERNARD"
