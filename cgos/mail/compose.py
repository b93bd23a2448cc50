"""Compose a mail from its templates and queue it: a row written with the change that needs it."""

import secrets as random_secrets

from flask import current_app, g, render_template, url_for

from ..extensions import db
from ..models import MailAttachment, OutboundMail
from .sealed import seal


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
        sealed_secrets=seal({markers[name]: value for name, value in secrets.items()}) if secrets else None,
    )
    row.attachments = [MailAttachment(path=p, filename=f, mimetype=m) for p, f, m in attachments]
    db.session.add(row)
    g.setdefault("queued_mails", []).append(row)
    return row
