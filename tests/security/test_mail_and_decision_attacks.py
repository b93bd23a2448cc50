"""Attacks on the mail queue (secrets at rest) and on the delegation's decisions (M3, M4, L4, L13, I6)."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from cgos.credentials.hashing import hash_secret
from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import (
    Agent,
    AuthSession,
    DelegationStaff,
    MailAttachment,
    MailChangeRequest,
    OutboundMail,
    PasswordState,
    SecurityEvent,
    utcnow,
)
from tests_support.factories import SAINT_BRIEUC_CH, add_questionnaire, agent_row, staff_row
from tests_support.flows import register, request_provisional_password
from tests_support.personas import MARIE, SOPHIE
from tests_support.staff import log_in_staff, password_step

MARIE_PROVISIONAL = "739154"
ATTACKER = "nouvelle.adresse@attacker-mail.fr"


def dump() -> str:
    """Every row of every table, as a database dump shows it."""
    lines = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            lines.append(" | ".join(str(value) for value in row))
    return "\n".join(lines)


def mail_rows() -> str:
    """The queue's rows, read straight from the database (no ORM, no decryption)."""
    rows = db.session.execute(text("SELECT * FROM outbound_mail")).all()
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


def text_of(message) -> str:
    """The plain-text part of a mail the SMTP server received."""
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def questionnaire_for(agent: Agent, first_name: str = "Nadia", last_name: str = "Haddad") -> MailChangeRequest:
    """A pending questionnaire for `agent`, in Bretagne, typed by someone with the attacker's address."""
    return add_questionnaire(
        agent, place=SAINT_BRIEUC_CH, new_email=ATTACKER, last_name=last_name, first_name=first_name, payslip_size=15
    )


def mails_to(address: str) -> list[OutboundMail]:
    """The queued mails to one address."""
    return list(db.session.scalars(db.select(OutboundMail).where(OutboundMail.recipient == address)))


# M3: secrets at rest in the mail queue


def test_a_database_dump_holds_no_usable_provisional_pin_before_or_after_sending(mail_app, smtp, new_agent):
    smtp.stop()
    page = request_provisional_password(new_agent(mail_app), SOPHIE)
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    queued = mail_rows()
    assert "sophie.bernard@example.org" in queued, "the mail is queued, SMTP being down"
    stolen = re.findall(r"provisoire : (\S+)", queued)

    smtp.start()
    result = mail_app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    [message] = smtp.inbox.to(SOPHIE.email)
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", text_of(message), re.M).group(1)
    sent = mail_rows()
    assert pin not in queued and pin not in sent
    row = db.session.scalar(db.select(OutboundMail))
    assert row.sent_at is not None and row.sealed_secrets is None, "the sealed secret is erased once sent"

    stolen += re.findall(r"provisoire : (\S+)", sent)
    for candidate in set(stolen):
        if re.fullmatch(r"\d{6}", candidate):
            page = new_agent(mail_app).log_in(SOPHIE.numero, candidate)
            assert "/espace-agent" not in page.response.request.path, "a PIN read from the dump logs in"
    assert new_agent(mail_app).log_in(SOPHIE.numero, pin).response.request.path.startswith("/espace-agent")


def test_a_database_dump_holds_no_mail_change_link(mail_app, smtp, new_agent):
    marie = agent_row(MARIE)
    marie.provisional_pin_hash = hash_secret(MARIE_PROVISIONAL)
    marie.provisional_issued_at = utcnow()
    marie.password_state = PasswordState.PROVISIONAL
    db.session.commit()
    agent = new_agent(mail_app)
    agent.log_in(MARIE.numero, MARIE_PROVISIONAL)
    agent.submit("/espace-agent/conditions-generales", {"decision": "accept"})
    agent.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "284617", "confirmation": "284617"})
    agent.submit("/espace-agent/donnees-personnelles", {"email": "marie.new@example.org"})
    assert mail_app.test_cli_runner().invoke(args=["mail", "send-pending"]).exit_code == 0
    [message] = smtp.inbox.to("marie.new@example.org")
    link = re.search(r"^(https?://\S+)$", text_of(message), re.M).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1].split("=")[-1]
    assert len(token) > 20
    assert token not in dump()


def test_a_database_dump_holds_no_registration_link(app, new_agent):
    register(new_agent(app))
    row = db.session.scalar(db.select(OutboundMail))
    link = re.search(r"^https?://localhost(/\S+)$", open_mail(row).text_body, re.M).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert len(token) > 20 and token not in dump()
    assert new_agent(app).get(link).status == 200, "the link the agent receives still works"


def test_the_dev_mailbox_still_shows_the_pin_it_keeps_sealed(make_app, new_agent):
    app = make_app(DEV_MAILBOX=True)
    with app.app_context():
        request_provisional_password(new_agent(app), SOPHIE)
        row = db.session.scalar(db.select(OutboundMail))
        page = new_agent(app).get(f"/dev/mails/{row.id}")
        pin = re.search(r"Mot de passe provisoire : (\d{6})", page.text).group(1)
        assert pin not in mail_rows()
        assert new_agent(app).log_in(SOPHIE.numero, pin).response.request.path.startswith("/espace-agent")
        db.session.remove()
        db.engine.dispose()


def test_a_sealed_secret_cannot_be_opened_with_another_secret_key(make_app, new_agent):
    app = make_app()
    with app.app_context():
        request_provisional_password(new_agent(app), SOPHIE)
        row = db.session.scalar(db.select(OutboundMail))
        copy = {"text_body": row.text_body, "html_body": row.html_body, "sealed_secrets": row.sealed_secrets}
        assert re.search(r"provisoire : \d{6}", open_mail(OutboundMail(**copy)).text_body), "the right key opens it"
        db.session.remove()
        db.engine.dispose()
    other = make_app(SECRET_KEY="another-secret-key")
    with other.app_context():
        opened = open_mail(OutboundMail(**copy)).text_body
        assert not re.search(r"provisoire : \d{6}", opened) and "effacé" in opened
        db.session.remove()
        db.engine.dispose()


def test_a_mail_whose_secret_cannot_be_opened_is_not_sent_without_it(mail_app, smtp, new_agent):
    smtp.stop()
    request_provisional_password(new_agent(mail_app), SOPHIE)
    mail_app.config["SECRET_KEY"] = "rotated-secret-key"
    smtp.start()
    result = mail_app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 1 and "0 mail(s) envoyé(s), 1 en attente" in result.output
    assert smtp.inbox.messages == []
    row = db.session.scalar(db.select(OutboundMail))
    assert row.sent_at is None and row.last_error.startswith("SecretUnavailable")


def test_sent_mails_are_emptied_after_the_retention_days(app, runner):
    old, recent = utcnow() - timedelta(days=31), utcnow() - timedelta(days=29)
    kept = OutboundMail(
        recipient="a@example.org",
        subject="Ancien",
        text_body="corps",
        html_body="<p>corps</p>",
        created_at=old,
        sent_at=old,
    )
    kept.attachments = [MailAttachment(path="x.pdf", filename="bulletin.pdf", mimetype="application/pdf")]
    young = OutboundMail(
        recipient="b@example.org", subject="Récent", text_body="corps", created_at=recent, sent_at=recent
    )
    unsent = OutboundMail(recipient="c@example.org", subject="En attente", text_body="corps", created_at=old)
    db.session.add_all([kept, young, unsent])
    db.session.commit()
    result = runner.invoke(args=["mail", "purge"])
    assert result.exit_code == 0 and "1 mail(s) vidé(s)" in result.output
    db.session.expire_all()
    assert kept.text_body == "" and kept.html_body is None and kept.attachments == []
    assert kept.recipient == "a@example.org" and kept.subject == "Ancien" and kept.sent_at is not None
    assert young.text_body == "corps" and unsent.text_body == "corps"
    assert db.session.scalar(db.select(db.func.count(MailAttachment.id))) == 0


# M4 (acceptance side) and L13


def test_accepting_a_questionnaire_warns_the_old_address_and_ends_the_agent_sessions(app, new_agent):
    sophie_browser = new_agent(app)
    assert sophie_browser.log_in(SOPHIE.numero, SOPHIE.pin).response.request.path.startswith("/espace-agent")
    sophie = agent_row(SOPHIE)
    item = questionnaire_for(sophie)
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/demandes/{item.id}")
    staff.submit(f"/delegation/demandes/{item.id}", {"decision": "accept"})
    db.session.refresh(sophie)
    assert sophie.email == ATTACKER
    [warning] = mails_to(SOPHIE.email)
    body = re.sub(r"\s+", " ", open_mail(warning).text_body)
    assert "votre adresse mail a été modifiée" in body.lower()
    assert "si vous n'êtes pas à l'origine de cette demande, contactez votre délégation" in body.lower()
    assert item.delegation.phone in body
    assert all(
        s.revoked_at is not None
        for s in db.session.scalars(db.select(AuthSession).where(AuthSession.agent_id == sophie.id))
    )
    assert not sophie_browser.get("/espace-agent/").response.headers.get("Location", "").startswith("/espace-agent")


@pytest.mark.parametrize("decision", [{"decision": "accept"}, {"decision": "reject", "reason": "Bulletin illisible"}])
def test_decision_mails_never_give_the_agent_name_on_file_to_the_typed_address(app, new_agent, decision):
    item = questionnaire_for(agent_row(SOPHIE))
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/demandes/{item.id}")
    staff.submit(f"/delegation/demandes/{item.id}", decision)
    [mail] = mails_to(ATTACKER)
    for body in (mail.text_body, mail.html_body):
        assert "Sophie" not in body and "BERNARD" not in body.upper()
    assert "Nadia" in mail.text_body


# L4


def test_two_staff_deciding_at_once_give_one_decision_and_one_mail(app, new_agent, monkeypatch):
    import cgos.backoffice.routes as routes

    item = questionnaire_for(agent_row(SOPHIE))
    url = f"/delegation/demandes/{item.id}"
    first, second = new_agent(app), new_agent(app)
    for staff in (first, second):
        log_in_staff(staff)
        staff.get(url)
    both_loaded = threading.Barrier(2, timeout=10)
    real_decide = routes.decide_questionnaire

    def decide_together(*args, **kwargs):
        """Both staff have read the request as pending before either decides."""
        both_loaded.wait()
        return real_decide(*args, **kwargs)

    monkeypatch.setattr(routes, "decide_questionnaire", decide_together)
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(first.submit(url, {"decision": "accept"}))),
        threading.Thread(
            target=lambda: answers.append(second.submit(url, {"decision": "reject", "reason": "Bulletin illisible"}))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 2 and all(a.status == 200 for a in answers)
    db.session.expire_all()
    sophie = agent_row(SOPHIE)
    assert len(mails_to(ATTACKER)) == 1, "one decision, one mail"
    decisions = db.session.scalars(db.select(SecurityEvent.kind).where(SecurityEvent.kind.like("mail_change_%"))).all()
    assert len(decisions) == 1
    assert (sophie.email == ATTACKER) == (item.status == "accepted"), "the address follows the recorded decision"


def test_a_questionnaire_decided_by_other_staff_cannot_be_decided_again_from_a_stale_read(app):
    from cgos.backoffice.services import AlreadyDecided, decide_questionnaire
    from cgos.models import RequestStatus

    item = questionnaire_for(agent_row(SOPHIE))
    staff = db.session.scalar(db.select(DelegationStaff))
    with db.engine.begin() as other_staff:
        other_staff.execute(text("UPDATE mail_change_request SET status = 'rejected' WHERE id = :id"), {"id": item.id})
    assert item.status == RequestStatus.PENDING, "this session still reads it pending"
    with app.test_request_context():
        with pytest.raises(AlreadyDecided):
            decide_questionnaire(item, staff, True, None)
    db.session.rollback()
    assert agent_row(SOPHIE).email == "sophie.bernard@example.org"
    assert mails_to(ATTACKER) == []


def test_a_registration_verified_by_other_staff_cannot_be_rejected_from_a_stale_read(app, new_agent):
    from cgos.backoffice.services import AlreadyDecided, decide_registration
    from cgos.models import Registration

    register(new_agent(app))
    confirmation = open_mail(db.session.scalar(db.select(OutboundMail))).text_body
    new_agent(app).get(re.search(r"^https?://localhost(/\S+)$", confirmation, re.M).group(1))
    registration = db.session.scalar(db.select(Registration))
    assert registration.agent is not None and registration.status == "pending"
    staff = db.session.scalar(db.select(DelegationStaff))
    with db.engine.begin() as other_staff:
        other_staff.execute(text("UPDATE registration SET status = 'accepted' WHERE id = :id"), {"id": registration.id})
    with app.test_request_context():
        with pytest.raises(AlreadyDecided):
            decide_registration(registration, staff, False, "Bulletin illisible")
    db.session.rollback()
    assert registration.agent.disabled_at is None, "the verified agent's account stays open"
    assert (
        db.session.scalar(db.select(db.func.count(OutboundMail.id)).where(OutboundMail.subject.like("%inscription")))
        == 0
    )


# I6: staff in the audit trail


def test_staff_logins_and_decisions_are_recorded_with_the_staff_id(app, new_agent):
    staff_account = staff_row()
    intruder = new_agent(app)
    password_step(intruder, password="Mauvais-Mot-De-Passe")
    staff = new_agent(app)
    log_in_staff(staff)
    item = questionnaire_for(agent_row(SOPHIE))
    staff.get(f"/delegation/demandes/{item.id}")
    staff.submit(f"/delegation/demandes/{item.id}", {"decision": "accept"})
    events = {
        e.kind: e for e in db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.staff_id.is_not(None)))
    }
    assert {"login_failure", "login_success", "mail_change_accepted"} <= set(events)
    assert all(e.staff_id == staff_account.id for e in events.values())
    assert "Mauvais" not in (events["login_failure"].detail or "")
    assert (events["login_failure"].reason, events["login_success"].reason) == ("staff", "staff")
    assert events["mail_change_accepted"].mail_change_request_id == item.id
