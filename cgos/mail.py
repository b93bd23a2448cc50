"""The mail queue: every mail is a row written with the change that needs it.

`send_mail()` only queues. Once the request's transaction is committed, the
mails it queued are sent with Flask-Mail; when SMTP fails they stay queued
and `flask mail send-pending` sends them later. A mail is claimed before it is
sent, so two senders never send the same row twice.
"""

import logging
import smtplib
from datetime import timedelta

import flask_mail
from flask import Flask, current_app, g, render_template, url_for
from sqlalchemy import event, or_, update

from .extensions import db
from . import uploads
from .models import MailAttachment, OutboundMail, utcnow

log = logging.getLogger(__name__)
# A claimed mail whose sender died is tried again after this delay.
CLAIM_TIMEOUT = timedelta(minutes=5)


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


def send_mail(recipient: str, subject: str, template: str, attachments=(), **context) -> OutboundMail:
    """Queue a mail rendered from `mail/<template>.txt` and `.html`; it goes out after commit.

    `attachments` are (path under UPLOAD_FOLDER, file name, MIME type).
    """
    row = OutboundMail(
        recipient=recipient,
        subject=subject,
        text_body=render_template(f"mail/{template}.txt", **context),
        html_body=render_template(f"mail/{template}.html", **context),
    )
    row.attachments = [MailAttachment(path=p, filename=f, mimetype=m) for p, f, m in attachments]
    db.session.add(row)
    g.setdefault("queued_mails", []).append(row)
    return row


def _claim(mail_id: int) -> bool:
    """Mark a pending mail as being sent; False if it is sent or another sender has it."""
    now = utcnow()
    result = db.session.execute(
        update(OutboundMail)
        .where(
            OutboundMail.id == mail_id,
            OutboundMail.sent_at.is_(None),
            or_(
                OutboundMail.last_attempt_at.is_(None),
                OutboundMail.last_attempt_at < now - CLAIM_TIMEOUT,
            ),
        )
        .values(last_attempt_at=now, attempts=OutboundMail.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver(row: OutboundMail, connection: flask_mail.Connection) -> bool:
    """Send one queued mail over an open connection; True once it is gone."""
    if not _claim(row.id):
        return False
    message = flask_mail.Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.text_body,
        html=row.html_body,
    )
    for attachment in row.attachments:
        path = uploads.absolute(attachment.path)
        if path.exists():
            message.attach(attachment.filename, attachment.mimetype, path.read_bytes())
    try:
        connection.send(message)
    except (smtplib.SMTPException, OSError) as error:
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        # Release the claim so the next `send-pending` tries again at once.
        row.last_attempt_at = None
        db.session.commit()
        log.warning("mail %s not sent, kept in the queue: %s", row.id, type(error).__name__)
        return False
    row.sent_at = utcnow()
    row.last_error = None
    db.session.commit()
    log.info("mail %s sent", row.id)
    return True


def deliver_all(rows: list[OutboundMail]) -> int:
    """Send the given mails over one connection; how many went out."""
    if not rows or not current_app.config.get("MAIL_SERVER"):
        return 0
    sent = 0
    try:
        with _Connection(current_app.extensions["mail"]) as connection:
            for row in rows:
                sent += deliver(row, connection)
    except (smtplib.SMTPException, OSError) as error:
        for row in rows:
            if row.sent_at is None:
                row.last_error = f"{type(error).__name__}: {error}"[:500]
        db.session.commit()
        log.warning("SMTP unavailable, %d mail(s) kept in the queue: %s", len(rows) - sent, type(error).__name__)
    return sent


def pending_mails() -> list[OutboundMail]:
    """Every mail not sent yet, oldest first."""
    return list(
        db.session.scalars(
            db.select(OutboundMail).where(OutboundMail.sent_at.is_(None)).order_by(OutboundMail.id)
        )
    )


def send_pending() -> tuple[int, int]:
    """Send every queued mail: (sent, still pending)."""
    rows = pending_mails()
    sent = deliver_all(rows)
    return sent, len(rows) - sent


@event.listens_for(db.session, "after_commit")
def _remember_committed_mails(session) -> None:
    """Mails queued before a commit are in the database now: they may go out."""
    if g and g.get("queued_mails"):
        g.setdefault("committed_mails", []).extend(g.pop("queued_mails"))


def _deliver_after_request(response):
    """Send what this request queued and committed."""
    rows = g.pop("committed_mails", [])
    if rows:
        try:
            deliver_all(rows)
        except Exception:  # the page must answer even if delivery breaks: the mail stays queued
            db.session.rollback()
            log.exception("mail delivery failed, mails kept in the queue")
    return response


def init_app(app: Flask) -> None:
    """Deliver queued mails once the request that queued them has committed."""
    app.after_request(_deliver_after_request)
