"""The mail queue over a real SMTP server (aiosmtpd): nothing lost, nothing sent twice."""

import re

from cgos.extensions import db
from cgos.mail import send_pending
from cgos.models import OutboundMail
from tests_support.flows import request_provisional_password
from tests_support.personas import MARIE


def test_the_provisional_password_mail_goes_out_with_text_and_html(mail_app, smtp, new_agent):
    page = request_provisional_password(new_agent(mail_app))
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    assert smtp.inbox.messages == [], "the request only queues"
    assert send_pending() == (1, 0)
    [message] = smtp.inbox.messages
    assert message["To"] == "marie.dupont@example.org"
    assert message["Subject"] == "Espace Agent C.G.O.S : votre mot de passe provisoire"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert re.search(r"^Mot de passe provisoire : \d{6}$", text, re.M)
    assert "Merci de surveiller votre messagerie" in text and "Spams" in html
    for nir in (MARIE.nir, MARIE.spaced_nir):
        assert nir not in text and nir not in html
    row = db.session.scalar(db.select(OutboundMail))
    assert row.sent_at is not None and row.attempts == 1


def test_an_smtp_outage_loses_no_mail(mail_app, smtp, new_agent):
    smtp.stop()
    page = request_provisional_password(new_agent(mail_app))
    assert page.status == 200
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"

    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 1 and "0 mail(s) envoyé(s), 1 en attente" in result.output
    row = db.session.scalar(db.select(OutboundMail))
    assert row.sent_at is None and row.last_error

    smtp.start()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and "1 mail(s) envoyé(s), 0 en attente" in result.output
    assert len(smtp.inbox.messages) == 1
    db.session.refresh(row)
    assert row.sent_at is not None and row.last_error is None

    result = runner.invoke(args=["mail", "send-pending"])
    assert "0 mail(s) envoyé(s), 0 en attente" in result.output
    assert len(smtp.inbox.messages) == 1, "never sent twice"


def test_a_mail_being_sent_elsewhere_is_not_sent_again(mail_app, smtp):
    from cgos.models import utcnow

    db.session.add(
        OutboundMail(recipient="a@example.org", subject="s", text_body="t", last_attempt_at=utcnow(), attempts=1)
    )
    db.session.commit()
    assert send_pending() == (0, 1)
    assert smtp.inbox.messages == []


def test_no_pin_reaches_the_logs(mail_app, smtp, new_agent, caplog):
    caplog.set_level("DEBUG")
    request_provisional_password(new_agent(mail_app))
    send_pending()
    text = smtp.inbox.messages[0].get_body(("plain",)).get_content()
    pin = re.search(r"Mot de passe provisoire : (\d{6})", text).group(1)
    # "mail.log" is the test SMTP server's own logger: it receives the mail, it is not the portal.
    portal_logs = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "provisional_password_issued" in portal_logs, "the portal's logs are captured"
    assert pin not in portal_logs
    assert "marie.dupont@example.org" not in portal_logs


def test_without_mail_server_mails_wait_in_the_dev_mailbox(make_app, new_agent):
    app = make_app(DEV_MAILBOX=True)
    with app.app_context():
        agent = new_agent(app)
        request_provisional_password(agent)
        page = agent.get("/dev/mails")
        assert "votre mot de passe provisoire" in page.text
        link = page.main.select_one("ul.links a")["href"]
        assert "Mot de passe provisoire : " in agent.get(link).text


def test_the_dev_mailbox_is_off_by_default(agent):
    assert agent.get("/dev/mails").status == 404
