"""The mail queue: every mail is a row written with the change that needs it.

`send_mail()` only queues. Once the request's transaction is committed, the
mails it queued are sent with Flask-Mail; when SMTP fails they stay queued
and `flask mail send-pending` sends them later. A mail is claimed before it is
sent, so two senders never send the same row twice.

A secret a mail carries (a provisional PIN, a confirmation link) is never
stored in clear: the bodies hold a marker where it goes, the values are kept
Fernet-encrypted in `sealed_secrets` under a key that is not in the database
(HKDF of MAIL_SECRET_KEY, or of SECRET_KEY when unset), put in place only
when the message is built for SMTP, and erased once the mail is sent.
"""

import base64
import json
import logging
import re
import secrets as random_secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta

import flask_mail
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app, g, render_template, url_for
from markupsafe import escape
from sqlalchemy import delete, event, or_, update

from . import uploads
from .extensions import db
from .models import MailAttachment, OutboundMail, utcnow

log = logging.getLogger(__name__)
# A claimed mail whose sender died is tried again after this delay.
CLAIM_TIMEOUT = timedelta(minutes=5)
# Where a secret goes in a stored body: its name and a random tag of this mail.
MARKER = re.compile(r"\[secret:\w+:[0-9a-f]{16}\]")
# What the dev mailbox shows of a secret erased after sending.
ERASED = "[effacé après l'envoi]"


class SecretUnavailable(Exception):
    """The sealed secrets of a mail cannot be opened (the key changed): it is not sent."""


def _fernet() -> Fernet:
    """The mail-secret cipher, keyed from MAIL_SECRET_KEY or SECRET_KEY, never from the database."""
    material = current_app.config.get("MAIL_SECRET_KEY") or current_app.config["SECRET_KEY"]
    if isinstance(material, str):
        material = material.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cgos outbound mail secrets").derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


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
    try:
        values = _unseal(row.sealed_secrets)
    except SecretUnavailable:
        row.last_error = "SecretUnavailable: the mail secret key changed since the mail was queued"
        db.session.commit()
        log.error("mail %s not sent: its secrets cannot be opened with the current key", row.id)
        return False
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
    row.sealed_secrets = None
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
        db.session.scalars(db.select(OutboundMail).where(OutboundMail.sent_at.is_(None)).order_by(OutboundMail.id))
    )


def send_pending() -> tuple[int, int]:
    """Send every queued mail: (sent, still pending)."""
    rows = pending_mails()
    sent = deliver_all(rows)
    return sent, len(rows) - sent


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
