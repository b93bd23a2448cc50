"""Sending: SMTP with a timeout, a hundred claimed mails per connection, the sender thread and `mail worker`."""

import logging
import smtplib
import threading

import flask_mail
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import selectinload

from .. import uploads
from ..extensions import db
from ..models import OutboundMail, utcnow
from .queue import claim, is_due, pending_mails, record_failure, record_sent
from .sealed import SecretUnavailable, fill, unseal

log = logging.getLogger("cgos.mail")
# A sender looks for due mails this often (at once when its own process commits one).
POLL_INTERVAL = 1.0
# A sender reads, claims and sends the queue this many mails at a time.
BATCH = 100


class Connection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout, so a silent SMTP server cannot hang a request."""

    def configure_host(self) -> smtplib.SMTP:
        """Open the SMTP connection as Flask-Mail does, with MAIL_SMTP_TIMEOUT."""
        timeout = current_app.config["MAIL_SMTP_TIMEOUT"]
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _message(row: OutboundMail) -> flask_mail.Message:
    """The SMTP message of a mail, secrets in place (SecretUnavailable if they cannot be opened)."""
    values = unseal(row.sealed_secrets)
    message = flask_mail.Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=fill(row.text_body, values, html=False),
        html=fill(row.html_body, values, html=True),
    )
    for attachment in row.attachments:
        path = uploads.absolute(attachment.path)
        if path.exists():
            message.attach(attachment.filename, attachment.mimetype, path.read_bytes())
    return message


def _messages(mail_ids: list[int]) -> list[tuple[int, flask_mail.Message]]:
    """The claimed mails as SMTP messages, read in one query; a mail whose secrets cannot be opened stays queued."""
    query = db.select(OutboundMail).where(OutboundMail.id.in_(mail_ids)).order_by(OutboundMail.id)
    rows = db.session.scalars(query.options(selectinload(OutboundMail.attachments))).all()
    messages = []
    for row in rows:
        try:
            messages.append((row.id, _message(row)))
        except SecretUnavailable as error:
            record_failure([row.id], error)
            log.error("mail %s not sent: its secrets cannot be opened with the current key", row.id)
    return messages


def deliver_all(rows: list[OutboundMail]) -> int:
    """Claim the given mails as they were read, then send those claimed over one connection; how many went out.

    Each mail is recorded as sent in its own commit once the SMTP server took it.
    """
    if not rows or not current_app.config.get("MAIL_SERVER"):
        return 0
    claimed = claim(rows)
    if not claimed:
        return 0
    sent = []
    try:
        messages = _messages(claimed)
        with Connection(current_app.extensions["mail"]) as connection:
            for mail_id, message in messages:
                try:
                    connection.send(message)
                except (smtplib.SMTPException, OSError) as error:
                    record_failure([mail_id], error)
                    log.warning("mail %s not sent, kept in the queue: %s", mail_id, type(error).__name__)
                    continue
                record_sent(mail_id)
                sent.append(mail_id)
                log.info("mail %s sent", mail_id)
    except (smtplib.SMTPException, OSError) as error:
        record_failure([mail_id for mail_id in claimed if mail_id not in sent], error)
        log.warning(
            "SMTP unavailable, %d mail(s) kept in the queue: %s", len(claimed) - len(sent), type(error).__name__
        )
    return len(sent)


def _send_pending_batches(now, retry_now: bool) -> tuple[int, int]:
    """Go through the queue BATCH mails at a time, sending those due: (sent, seen)."""
    sent = seen = 0
    last_id = 0
    while batch := pending_mails(after_id=last_id, limit=BATCH):
        last_id = batch[-1].id
        seen += len(batch)
        sent += deliver_all([row for row in batch if is_due(row, now, retry_now)])
    return sent, seen


def send_due(now=None) -> int:
    """Send the pending mails whose time has come (what the thread and the worker do each round)."""
    return _send_pending_batches(now or utcnow(), retry_now=False)[0]


def send_pending() -> tuple[int, int]:
    """Send every queued mail not being sent elsewhere, backoff or not: (sent, still pending)."""
    sent, seen = _send_pending_batches(utcnow(), retry_now=True)
    return sent, seen - sent


class Sender:
    """Sends due mails in a loop until stopped: the background thread of a web process, or `mail worker`.

    It wakes each POLL_INTERVAL, or at once when a commit of its own process
    queued a mail (`wake`); every round runs in a fresh application context.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = None

    def run(self) -> None:
        """Send what is due, then wait for a wake-up or the next poll; until `stop()`."""
        while not self.stopping.is_set():
            self.wake.clear()
            try:
                with self.app.app_context():
                    send_due()
            except Exception:  # a database outage must not end the loop: the next round retries
                log.exception("mail delivery round failed, mails kept in the queue")
            self.wake.wait(POLL_INTERVAL)

    def start(self) -> None:
        """Run in a daemon thread of this process."""
        self.thread = threading.Thread(target=self.run, name="cgos-mail-sender", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """End the loop after the current round, and wait for it."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join()


# Guards the start of an app's sender: two first requests in two threads start one.
_sender_lock = threading.Lock()


def running_sender(app: Flask) -> Sender | None:
    """The sender this process runs for the app, if any (its thread, or the worker's loop)."""
    return app.extensions.get("mail_sender")


def _start_thread_sender() -> None:
    """In "thread" mode, start this process's sender on its first request (after gunicorn's fork)."""
    app = current_app._get_current_object()
    if running_sender(app) or app.config["MAIL_DELIVERY"] != "thread" or not app.config.get("MAIL_SERVER"):
        return
    with _sender_lock:
        if running_sender(app) is None:
            sender = Sender(app)
            sender.start()
            app.extensions["mail_sender"] = sender


def stop_sender(app: Flask) -> None:
    """Stop the app's sender in this process, if it runs (a gunicorn worker leaving, a test ending)."""
    with _sender_lock:
        sender = app.extensions.pop("mail_sender", None)
    if sender is not None:
        sender.stop()


def run_worker(app: Flask, stopping: threading.Event | None = None) -> None:
    """`mail worker`: send in this process until `stopping` is set (SIGTERM, Ctrl-C)."""
    sender = Sender(app)
    if stopping is not None:
        sender.stopping = stopping
    app.extensions["mail_sender"] = sender
    try:
        sender.run()
    finally:
        app.extensions.pop("mail_sender", None)


@event.listens_for(db.session, "after_commit")
def _wake_sender_after_commit(session) -> None:
    """Mails queued before a commit are in the database now: wake this process's sender."""
    if g and g.pop("queued_mails", None):
        sender = running_sender(current_app)
        if sender is not None:
            sender.wake.set()


def init_app(app: Flask) -> None:
    """Check MAIL_DELIVERY; in "thread" mode the first request starts the sender (never the CLI)."""
    if app.config["MAIL_DELIVERY"] not in ("thread", "worker"):
        raise ValueError(f'MAIL_DELIVERY must be "thread" or "worker", not {app.config["MAIL_DELIVERY"]!r}')
    app.before_request(_start_thread_sender)
