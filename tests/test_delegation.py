"""The delegation back office: login, own requests only, decisions, payslip download."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from cgos.extensions import db
from cgos.models import (
    MailAttachment,
    MailChangeRequest,
    OutboundMail,
    SecurityEvent,
    utcnow,
)
from tests_support.factories import add_staff, staff_row
from tests_support.flows import PDF, send_questionnaire
from tests_support.personas import BRETAGNE_STAFF, ILE_DE_FRANCE_STAFF, SOPHIE
from tests_support.staff import log_in_staff


@pytest.fixture
def jean_request(app, new_agent):
    """A questionnaire sent by Jean MARTIN (Bretagne)."""
    send_questionnaire(new_agent(app))
    db.session.query(MailAttachment).delete()
    db.session.query(OutboundMail).delete()
    db.session.commit()
    return db.session.scalar(db.select(MailChangeRequest))


def test_the_back_office_login_page(either):
    page = either.get("/delegation")
    assert page.soup.find("label", attrs={"for": "email"}).find(string=True, recursive=False).strip() == "Adresse mail"
    assert (
        page.soup.find("label", attrs={"for": "password"}).find(string=True, recursive=False).strip() == "Mot de passe"
    )
    assert page.main.find("button", string="Se connecter")
    tabs = page.soup.find("nav", id="tabs")
    assert tabs is None or tabs.has_attr("hidden"), "the back office shows no public tabs"


@pytest.mark.parametrize("overrides", [{"password": "wrong-password"}, {"email": "nobody@example.org"}])
def test_a_wrong_login_gets_one_message(either, overrides):
    page = log_in_staff(either, **overrides)
    assert page.status == 422
    assert page.error_summary() == ["L'adresse mail ou le mot de passe est incorrect."]


def test_staff_lockout(agent):
    for _ in range(5):
        log_in_staff(agent, password="wrong-password")
    page = log_in_staff(agent)
    assert page.status == 429 and "Après plusieurs tentatives erronées" in page.error_summary()[0]


def test_staff_see_their_pending_requests_newest_first_with_age(agent, jean_request):
    page = log_in_staff(agent)
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"
    row = page.main.select_one("tbody tr").get_text(" ", strip=True)
    assert "Jean MARTIN" in row and "22904518 R" in row and "il y a" in row


def test_a_request_page_shows_every_field_and_the_payslip(either, jean_request):
    log_in_staff(either)
    page = either.get(f"/delegation/demandes/{jean_request.id}")
    for text in [
        "22904518 R",
        "2 novembre 1979",
        "jean.martin@example.org",
        "Martin",
        "Jean",
        "Saint-Brieuc",
        "Centre Hospitalier Yves Le Foll",
    ]:
        assert text in page.text
    link = page.main.find("a", string=re.compile("Télécharger"))
    assert link["hx-boost"] == "false", "the body boosts links into #main: a download must opt out"
    response = either.client.get(link["href"])
    assert response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert page.main.find("button", string="Demande prise en compte")
    assert page.main.find("button", string="Demande non prise en compte")
    assert page.soup.find("label", attrs={"for": "reason"}).find(string=True, recursive=False).strip() == "Motif"


def test_another_delegation_gets_a_404(agent, app, jean_request):
    add_staff(ILE_DE_FRANCE_STAFF)
    log_in_staff(agent, ILE_DE_FRANCE_STAFF)
    assert agent.get(f"/delegation/demandes/{jean_request.id}").status == 404
    assert agent.client.get(f"/delegation/demandes/{jean_request.id}/bulletin").status_code == 404
    assert "Jean" not in agent.get("/delegation/demandes").text


def test_the_payslip_is_for_staff_only(agent, jean_request):
    response = agent.client.get(f"/delegation/demandes/{jean_request.id}/bulletin")
    assert response.status_code == 303
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert agent.client.get(f"/delegation/demandes/{jean_request.id}/bulletin").status_code == 303


def test_accepting_changes_the_mail_on_file_and_tells_the_agent(either, jean_request):
    log_in_staff(either)
    either.get(f"/delegation/demandes/{jean_request.id}")
    page = either.submit(f"/delegation/demandes/{jean_request.id}", {"decision": "accept"})
    assert "La décision est enregistrée" in page.text
    db.session.refresh(jean_request)
    assert jean_request.status == "accepted" and jean_request.decided_by.email == BRETAGNE_STAFF.email
    assert jean_request.decided_at is not None
    assert jean_request.agent.email == "jean.martin@example.org"
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "jean.martin@example.org" and "1ère connexion" in mail.text_body
    event = db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.kind == "mail_change_accepted"))
    assert (event.mail_change_request_id, event.registration_id, event.detail) == (jean_request.id, None, None)


def test_rejecting_needs_a_reason_and_mails_it(either, jean_request):
    log_in_staff(either)
    either.get(f"/delegation/demandes/{jean_request.id}")
    page = either.submit(f"/delegation/demandes/{jean_request.id}", {"decision": "reject"})
    assert page.status == 422 and page.field_error("reason") == "Indiquez le motif : il est envoyé à l'agent."
    either.get(f"/delegation/demandes/{jean_request.id}")
    either.submit(f"/delegation/demandes/{jean_request.id}", {"decision": "reject", "reason": "Bulletin illisible"})
    db.session.refresh(jean_request)
    assert jean_request.status == "rejected" and jean_request.decision_reason == "Bulletin illisible"
    assert jean_request.agent.email is None
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "jean.martin@example.org" and "Bulletin illisible" in mail.text_body


def test_a_decision_cannot_be_made_twice(agent, jean_request):
    log_in_staff(agent)
    page = agent.get(f"/delegation/demandes/{jean_request.id}")
    form = page.form_data()
    agent.post(f"/delegation/demandes/{jean_request.id}", {**form, "decision": "accept"})
    page = agent.post(f"/delegation/demandes/{jean_request.id}", {**form, "decision": "reject", "reason": "x"})
    assert "une seule décision est possible" in page.text
    db.session.refresh(jean_request)
    assert jean_request.status == "accepted"
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 1


def test_staff_logout_revokes_the_session(agent, app, new_agent):
    log_in_staff(agent)
    copied = agent.client.get_cookie("cgos_session").value
    token = agent.get("/delegation/demandes").soup.select_one("form.logout input")["value"]
    agent.post("/delegation/deconnexion", {"csrf_token": token})
    thief = new_agent(app)
    thief.client.set_cookie("cgos_session", copied, domain="localhost")
    assert thief.client.get("/delegation/demandes").status_code == 303


def test_payslips_are_purged_after_the_retention_period(agent, app, runner, jean_request):
    log_in_staff(agent)
    agent.get(f"/delegation/demandes/{jean_request.id}")
    agent.submit(f"/delegation/demandes/{jean_request.id}", {"decision": "accept"})
    stored = Path(app.config["UPLOAD_FOLDER"]) / jean_request.payslip_path
    assert "0 bulletin(s)" in runner.invoke(args=["uploads", "purge"]).output
    jean_request.decided_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert "1 bulletin(s)" in runner.invoke(args=["uploads", "purge"]).output
    db.session.refresh(jean_request)
    assert not stored.exists() and jean_request.payslip_path is None and jean_request.payslip_deleted_at
    page = agent.get(f"/delegation/demandes/{jean_request.id}")
    assert "Joint, supprimé le" in page.text


def test_staff_create_command(runner, app):
    result = runner.invoke(
        args=["staff", "create", "Nouveau@Example.org", "--delegation", "53"],
        env={"CGOS_STAFF_PASSWORD": "Un-Mot-De-Passe-Long"},
    )
    assert result.exit_code == 0, result.output
    staff = staff_row("nouveau@example.org")
    assert staff.delegation.code == "bretagne" and staff.password_hash.startswith("$2b$")
    result = runner.invoke(
        args=["staff", "create", "x@example.org", "--delegation", "atlantide"],
        env={"CGOS_STAFF_PASSWORD": "Un-Mot-De-Passe-Long"},
    )
    assert result.exit_code != 0 and "délégation inconnue" in result.output
