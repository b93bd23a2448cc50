"""Mail out of the request path (issue 11, item 2), in both MAIL_DELIVERY modes, over a real SMTP server.

"thread": the first request starts a sender thread in the web process;
"worker": only `mail worker` (here its loop, `run_worker`, in a thread of the test) sends.
"""

import threading
import time
from datetime import timedelta

import pytest

from cgos import mail
from cgos.extensions import db
from cgos.models import OutboundMail, utcnow
from tests_support.flows import request_provisional_password

MODES = ["thread", "worker"]


def wait_until(condition, timeout: float = 15) -> None:
    """Until `condition()` holds (a generous limit: these tests assert outcomes, not times)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(params=MODES)
def delivery(request, make_app, smtp):
    """The app in one delivery mode, with its sender: the web process's thread, or a running worker."""
    mode = request.param
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SMTP_TIMEOUT=2, MAIL_DELIVERY=mode)
    stopping = threading.Event()
    worker = None
    if mode == "worker":
        worker = threading.Thread(target=mail.run_worker, args=(app, stopping))
        worker.start()
    with app.app_context():
        yield app
        stopping.set()
        if worker is not None:
            worker.join()
        mail.stop_sender(app)
        db.session.remove()
        db.engine.dispose()


def mail_row() -> OutboundMail:
    """The one queued mail, read afresh."""
    return db.session.scalar(db.select(OutboundMail).execution_options(populate_existing=True))


def sent_rows() -> int:
    """How many mails went out, read afresh."""
    db.session.rollback()
    return db.session.scalar(
        db.select(db.func.count()).select_from(OutboundMail).where(OutboundMail.sent_at.is_not(None))
    )


@pytest.fixture
def smtp_threads(monkeypatch):
    """The threads that opened an SMTP connection."""
    opened = []
    original = mail.delivery.Connection.configure_host

    def recording(self):
        """Note who connects, then connect."""
        opened.append(threading.get_ident())
        return original(self)

    monkeypatch.setattr(mail.delivery.Connection, "configure_host", recording)
    return opened


def test_a_committed_mail_is_sent_and_no_web_request_opens_an_smtp_connection(delivery, smtp, new_agent, smtp_threads):
    page = request_provisional_password(new_agent(delivery))
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    wait_until(lambda: len(smtp.inbox.messages) == 1)
    assert smtp.inbox.messages[0]["To"] == "marie.dupont@example.org"
    wait_until(lambda: sent_rows() == 1)
    assert smtp_threads, "a sender connected"
    assert threading.get_ident() not in smtp_threads, "the request (run in this thread by the test client) did not"


def test_a_silent_smtp_server_does_not_hold_the_request(make_app, new_agent, smtp_threads):
    """A server that accepts and never answers: the page answers, the mail waits in the queue."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.getsockname()[1], MAIL_SMTP_TIMEOUT=30)
        with app.app_context():
            try:
                page = request_provisional_password(new_agent(app))
                assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
                assert threading.get_ident() not in smtp_threads
                assert mail_row().sent_at is None
            finally:
                silent.close()
                mail.stop_sender(app)
                db.session.remove()
                db.engine.dispose()


def test_an_smtp_outage_then_recovery_loses_nothing(delivery, smtp, new_agent):
    smtp.stop()
    page = request_provisional_password(new_agent(delivery))
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    wait_until(lambda: mail_row().last_error is not None)
    row = mail_row()
    assert row.sent_at is None and row.attempts == 1

    smtp.start()
    # The sender keeps to the backoff: wind the failed try back past it rather than wait 30 s.
    row.last_attempt_at = utcnow() - mail.retry_delay(row.attempts)
    db.session.commit()
    wait_until(lambda: sent_rows() == 1)
    assert len(smtp.inbox.messages) == 1
    row = mail_row()
    assert row.attempts == 2 and row.last_error is None and row.sealed_secrets is None
    assert mail.send_pending() == (0, 0)
    assert len(smtp.inbox.messages) == 1, "never sent twice"


def queue_mails(count: int) -> None:
    """Queue `count` mails straight in the database, as committed requests leave them."""
    db.session.add_all(
        OutboundMail(recipient=f"agent{i}@example.org", subject=f"mail {i}", text_body="t") for i in range(count)
    )
    db.session.commit()


@pytest.mark.parametrize("mode", MODES)
def test_two_senders_never_send_the_same_mail(make_app, smtp, mode):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SMTP_TIMEOUT=2, MAIL_DELIVERY=mode)
    with app.app_context():
        queue_mails(30)
        senders = [mail.delivery.Sender(app), mail.delivery.Sender(app)]
        for sender in senders:
            sender.start()
        try:
            wait_until(lambda: sent_rows() == 30, timeout=60)
        finally:
            for sender in senders:
                sender.stop()
        subjects = sorted(str(m["Subject"]) for m in smtp.inbox.messages)
        assert subjects == sorted(f"mail {i}" for i in range(30)), "each mail exactly once"
        db.session.remove()
        db.engine.dispose()


def test_a_claim_is_won_by_one_of_the_senders_that_read_the_row(make_app):
    app = make_app()
    with app.app_context():
        queue_mails(1)
        seen_by_first = mail_row()
        db.session.expunge(seen_by_first)
        seen_by_second = mail_row()
        assert seen_by_first.attempts == seen_by_second.attempts == 0
        assert mail.queue.claim([seen_by_second]) == [seen_by_second.id]
        assert mail.queue.claim([seen_by_first]) == [], "the stale copy loses"
        db.session.remove()
        db.engine.dispose()


def test_retries_back_off_from_30_seconds_to_an_hour():
    assert [mail.retry_delay(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
    ]
    assert mail.retry_delay(50) == timedelta(hours=1)
    now = utcnow()
    failed = OutboundMail(attempts=2, last_attempt_at=now - timedelta(seconds=59), last_error="OSError")
    assert not mail.is_due(failed, now)
    assert mail.is_due(failed, now + timedelta(seconds=2))
    assert mail.is_due(failed, now, retry_now=True), "`mail send-pending` does not wait"
    being_sent = OutboundMail(attempts=1, last_attempt_at=now, last_error=None)
    assert not mail.is_due(being_sent, now + timedelta(minutes=4), retry_now=True)
    assert mail.is_due(being_sent, now + mail.queue.CLAIM_TIMEOUT + timedelta(seconds=1)), "its sender died"


def test_commands_and_the_test_client_without_mail_server_start_no_sender(make_app, new_agent, smtp):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    with app.app_context():
        queue_mails(1)
        result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
        assert "1 mail(s) envoyé(s), 0 en attente" in result.output
        assert mail.running_sender(app) is None, "a command sends only what it is asked to"
        db.session.remove()
        db.engine.dispose()
    app = make_app(DEV_MAILBOX=True)
    request_provisional_password(new_agent(app))
    assert mail.running_sender(app) is None, "no MAIL_SERVER: nothing to send"


def test_in_worker_mode_the_web_process_sends_nothing(make_app, smtp, new_agent):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_DELIVERY="worker")
    with app.app_context():
        request_provisional_password(new_agent(app))
        assert mail.running_sender(app) is None
        assert mail_row().sent_at is None and smtp.inbox.messages == []
        assert mail.send_pending() == (1, 0), "it waits in the queue for a sender"
        db.session.remove()
        db.engine.dispose()


def test_an_unknown_delivery_mode_is_refused(make_app):
    with pytest.raises(ValueError, match="MAIL_DELIVERY"):
        make_app(MAIL_DELIVERY="cron")


def test_a_queue_longer_than_a_batch_goes_out_whole_each_mail_once(make_app, smtp, monkeypatch):
    monkeypatch.setattr(mail.delivery, "BATCH", 7)
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SMTP_TIMEOUT=2, MAIL_DELIVERY="worker")
    with app.app_context():
        queue_mails(30)
        assert mail.send_due() == 30
        assert sorted(str(m["Subject"]) for m in smtp.inbox.messages) == sorted(f"mail {i}" for i in range(30))
        assert mail.send_due() == 0, "nothing left, nothing sent again"
        db.session.remove()
        db.engine.dispose()


def test_a_mail_whose_secrets_cannot_be_opened_stays_queued_and_the_others_go(make_app, smtp):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SMTP_TIMEOUT=2, MAIL_DELIVERY="worker")
    with app.app_context():
        queue_mails(3)
        broken = db.session.scalar(db.select(OutboundMail).where(OutboundMail.subject == "mail 1"))
        broken.sealed_secrets = "not a Fernet token"
        db.session.commit()
        assert mail.send_due() == 2
        assert sorted(str(m["Subject"]) for m in smtp.inbox.messages) == ["mail 0", "mail 2"]
        broken = db.session.scalar(
            db.select(OutboundMail).where(OutboundMail.subject == "mail 1").execution_options(populate_existing=True)
        )
        assert broken.sent_at is None and "SecretUnavailable" in broken.last_error
        db.session.remove()
        db.engine.dispose()
