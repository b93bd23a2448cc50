"""The mail queue: every mail is a row written with the change that needs it.

`send_mail()` only queues: no web request opens an SMTP connection. A sender
sends the committed rows with Flask-Mail: with MAIL_DELIVERY = "thread" a
background thread of each web process (woken by the commit, else polling each
second), with "worker" only `flask mail worker` (polling each second). A mail
that fails is tried again after 30 s, doubling up to an hour; `flask mail
send-pending` sends everything at once. Mails are read and claimed a hundred
at a time (a conditional UPDATE) before they are sent over one SMTP
connection, so two senders never send the same row twice, and each is
recorded as sent in its own commit once the server took it.

A secret a mail carries (a provisional PIN, a confirmation link) is never
stored in clear: the bodies hold a marker where it goes, the values are kept
Fernet-encrypted in `sealed_secrets` under keys that are not in the database
(MAIL_SECRET_KEY, a list newest first, or SECRET_KEY when unset: see
cgos/sealing.py), put in place only when the message is built for SMTP, and
erased once the mail is sent. `keys rotate` re-seals them with the newest key.
"""

import json
import logging
import re
import secrets as random_secrets
import smtplib
import threading
from dataclasses import dataclass
from datetime import timedelta

import flask_mail
from cryptography.fernet import InvalidToken, MultiFernet
from flask import Flask, current_app, g, render_template, url_for
from markupsafe import escape
from sqlalchemy import delete, event, or_, update
from sqlalchemy.orm import selectinload

from . import sealing, uploads
from .extensions import db
from .models import MailAttachment, OutboundMail, utcnow

log = logging.getLogger(__name__)
# A claimed mail whose sender died is tried again after this delay.
CLAIM_TIMEOUT = timedelta(minutes=5)
# After a failed try a mail waits RETRY_FIRST, doubled at each failure, never more than RETRY_MAX.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# A sender looks for due mails this often (at once when its own process commits one).
POLL_INTERVAL = 1.0
# A sender reads, claims and sends the queue this many mails at a time.
BATCH = 100
# Where a secret goes in a stored body: its name and a random tag of this mail.
MARKER = re.compile(r"\[secret:\w+:[0-9a-f]{16}\]")
# What the dev mailbox shows of a secret erased after sending.
ERASED = "[effacé après l'envoi]"


class SecretUnavailable(Exception):
    """The sealed secrets of a mail cannot be opened (the key changed): it is not sent."""


def _fernet() -> MultiFernet:
    """The mail-secret cipher, keyed from MAIL_SECRET_KEY or SECRET_KEY, never from the database."""
    return sealing.cipher(sealing.MAIL_PURPOSE)


def _seal(values: dict[str, str]) -> str:
    """Encrypt marker -> secret pairs for storage."""
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def _unseal(sealed: str | None) -> dict[str, str]:
    """The marker -> secret pairs of a mail; empty when it has none left."""
    if not sealed:
        return {}
    try:
        return json.loads(_fernet().decrypt(sealed.encode()))
    except InvalidToken as error:
        raise SecretUnavailable from error


@dataclass(frozen=True)
class OpenedMail:
    """A mail's bodies as its recipient reads them, secrets in place."""

    text_body: str
    html_body: str | None


def _fill(body: str | None, values: dict[str, str], html: bool) -> str | None:
    """Put each secret where its marker is; a marker with no secret left reads as erased."""
    if body is None:
        return None
    for marker, value in values.items():
        body = body.replace(marker, str(escape(value)) if html else value)
    return MARKER.sub(ERASED, body)


def open_mail(row: OutboundMail) -> OpenedMail:
    """The bodies with their secrets (for SMTP and the dev mailbox); erased ones show as such."""
    try:
        values = _unseal(row.sealed_secrets)
    except SecretUnavailable:
        values = {}
    return OpenedMail(_fill(row.text_body, values, html=False), _fill(row.html_body, values, html=True))


class _Connection(flask_mail.Connection):
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


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, on PUBLIC_BASE_URL when it is set."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def send_mail(recipient: str, subject: str, template: str, attachments=(), secrets=None, **context) -> OutboundMail:
    """Queue a mail rendered from `mail/<template>.txt` and `.html`; it goes out after commit.

    `attachments` are (path under UPLOAD_FOLDER, file name, MIME type).
    `secrets` (template name -> value: a PIN, a link with a token) reach the
    templates as markers; their values are stored encrypted until the mail is sent.
    """
    tag = random_secrets.token_hex(8)
    markers = {name: f"[secret:{name}:{tag}]" for name in secrets or {}}
    context.update(markers)
    row = OutboundMail(
        recipient=recipient,
        subject=subject,
        text_body=render_template(f"mail/{template}.txt", **context),
        html_body=render_template(f"mail/{template}.html", **context),
        sealed_secrets=_seal({markers[name]: value for name, value in secrets.items()}) if secrets else None,
    )
    row.attachments = [MailAttachment(path=p, filename=f, mimetype=m) for p, f, m in attachments]
    db.session.add(row)
    g.setdefault("queued_mails", []).append(row)
    return row


def retry_delay(attempts: int) -> timedelta:
    """How long a mail that failed `attempts` times waits before the next try: 30 s doubling, at most an hour."""
    doublings = min(max(attempts - 1, 0), 7)  # 30 s × 2^7 is past the hour already
    return min(RETRY_FIRST * 2**doublings, RETRY_MAX)


def is_due(row: OutboundMail, now, retry_now: bool = False) -> bool:
    """Whether a pending mail may be tried now: never tried, its backoff over, or its sender gone."""
    if row.sent_at is not None:
        return False
    if row.last_attempt_at is None:
        return True
    if row.last_error is None:  # claimed and being sent, unless its sender died
        return row.last_attempt_at < now - CLAIM_TIMEOUT
    return retry_now or row.last_attempt_at <= now - retry_delay(row.attempts)


def _claim(rows: list[OutboundMail]) -> list[int]:
    """Take mails for sending; the ids of those no other sender took since they were read.

    A conditional UPDATE per attempt count read with the rows (before any commit
    reloads them), returning the ids it matched: of several senders that saw the
    same row, exactly one matches it.
    """
    by_attempts: dict[int, list[int]] = {}
    for row in rows:
        by_attempts.setdefault(row.attempts, []).append(row.id)
    claimed = []
    for attempts, ids in by_attempts.items():
        result = db.session.execute(
            update(OutboundMail)
            .where(OutboundMail.id.in_(ids), OutboundMail.sent_at.is_(None), OutboundMail.attempts == attempts)
            .values(last_attempt_at=utcnow(), attempts=OutboundMail.attempts + 1, last_error=None)
            .returning(OutboundMail.id),
            execution_options={"synchronize_session": False},
        )
        claimed += result.scalars().all()
    db.session.commit()
    return sorted(claimed)


def _record_failure(mail_ids: list[int], error: Exception) -> None:
    """Keep mails queued with their error: they are tried again after their backoff."""
    db.session.execute(
        update(OutboundMail)
        .where(OutboundMail.id.in_(mail_ids), OutboundMail.sent_at.is_(None))
        .values(last_error=f"{type(error).__name__}: {error}"[:500]),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _record_sent(mail_id: int) -> None:
    """A mail is gone: its secrets are erased, and no sender takes it again."""
    db.session.execute(
        update(OutboundMail)
        .where(OutboundMail.id == mail_id)
        .values(sent_at=utcnow(), last_error=None, sealed_secrets=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _message(row: OutboundMail) -> flask_mail.Message:
    """The SMTP message of a mail, secrets in place (SecretUnavailable if they cannot be opened)."""
    values = _unseal(row.sealed_secrets)
    message = flask_mail.Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=_fill(row.text_body, values, html=False),
        html=_fill(row.html_body, values, html=True),
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
            _record_failure([row.id], error)
            log.error("mail %s not sent: its secrets cannot be opened with the current key", row.id)
    return messages


def deliver_all(rows: list[OutboundMail]) -> int:
    """Claim the given mails as they were read, then send those claimed over one connection; how many went out.

    Each mail is recorded as sent in its own commit once the SMTP server took it.
    """
    if not rows or not current_app.config.get("MAIL_SERVER"):
        return 0
    claimed = _claim(rows)
    if not claimed:
        return 0
    sent = []
    try:
        messages = _messages(claimed)
        with _Connection(current_app.extensions["mail"]) as connection:
            for mail_id, message in messages:
                try:
                    connection.send(message)
                except (smtplib.SMTPException, OSError) as error:
                    _record_failure([mail_id], error)
                    log.warning("mail %s not sent, kept in the queue: %s", mail_id, type(error).__name__)
                    continue
                _record_sent(mail_id)
                sent.append(mail_id)
                log.info("mail %s sent", mail_id)
    except (smtplib.SMTPException, OSError) as error:
        _record_failure([mail_id for mail_id in claimed if mail_id not in sent], error)
        log.warning(
            "SMTP unavailable, %d mail(s) kept in the queue: %s", len(claimed) - len(sent), type(error).__name__
        )
    return len(sent)


def pending_mails(after_id: int = 0, limit: int | None = None) -> list[OutboundMail]:
    """Mails not sent yet, oldest first, read afresh from the database: those after `after_id`, at most `limit`."""
    query = (
        db.select(OutboundMail)
        .where(OutboundMail.sent_at.is_(None), OutboundMail.id > after_id)
        .order_by(OutboundMail.id)
        .limit(limit)
    )
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


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


def purge_sent(now) -> int:
    """Empty the bodies of mails sent more than MAIL_RETENTION_DAYS ago; recipient, subject and times stay."""
    limit = now - timedelta(days=current_app.config["MAIL_RETENTION_DAYS"])
    old = (
        db.select(OutboundMail.id)
        .where(OutboundMail.sent_at < limit)
        .where(
            or_(
                OutboundMail.text_body != "",
                OutboundMail.html_body.is_not(None),
                OutboundMail.sealed_secrets.is_not(None),
                OutboundMail.attachments.any(),
            )
        )
    )
    ids = list(db.session.scalars(old))
    if ids:
        db.session.execute(delete(MailAttachment).where(MailAttachment.mail_id.in_(ids)))
        db.session.execute(
            update(OutboundMail)
            .where(OutboundMail.id.in_(ids))
            .values(text_body="", html_body=None, sealed_secrets=None)
        )
    db.session.commit()
    return len(ids)


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
