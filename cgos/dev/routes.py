"""The development mailbox: every stored mail, only when DEV_MAILBOX is true."""

from flask import Blueprint, abort, current_app

from ..extensions import db
from ..htmx import render_page
from ..mail import open_mail
from ..models import OutboundMail

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.before_request
def only_when_enabled():
    """A 404 unless the dev mailbox is switched on."""
    if current_app.config.get("DEV_MAILBOX") is not True:
        abort(404)


@bp.get("/mails")
def mails():
    """The stored mails, newest first."""
    rows = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc()).limit(100))
    return render_page("dev/mails.html", mails=list(rows))


@bp.get("/mails/<id:mail_id>")
def mail(mail_id: int):
    """One stored mail, as text, with the secrets it still keeps sealed (a PIN, a link)."""
    row = db.session.get(OutboundMail, mail_id) or abort(404)
    return render_page("dev/mail.html", mail=row, text_body=open_mail(row).text_body)
