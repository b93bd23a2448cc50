"""The public pages every visitor may read: charter, accessibility, legal notice, personal data,
site map, help and contact; and the icons browsers ask for at the site's root."""

from datetime import timedelta

from flask import Blueprint, current_app

from ..assets import send_static
from ..auth import current_charter
from ..extensions import db
from ..htmx import render_page
from ..login.routes import KEYPAD_LIFETIME
from ..maintenance import REGISTRATION_LINK_LIFETIME, UNCONFIRMED_MARGIN
from ..models import Delegation
from ..provisional_password.steps import WIZARD_LIFETIME

bp = Blueprint("public", __name__)


def hours(span: timedelta) -> int:
    """A lifetime in whole hours, as the pages say it."""
    return int(span.total_seconds() // 3600)


@bp.get("/conditions-generales")
def charter_print():
    """The charter on its own page, to read or print."""
    return render_page("public/charter_print.html", charter=current_charter())


@bp.get("/accessibilite")
def accessibility():
    """The accessibility statement (RGAA 4.1 model)."""
    return render_page("public/accessibility.html")


@bp.get("/mentions-legales")
def legal_notice():
    """Who publishes and hosts the service."""
    return render_page("public/legal_notice.html")


@bp.get("/donnees-personnelles")
def personal_data():
    """What the portal keeps, why and for how long: the figures come from the code and its settings."""
    config = current_app.config
    return render_page(
        "public/personal_data.html",
        mail_days=config["MAIL_RETENTION_DAYS"],
        payslip_days=config["PAYSLIP_RETENTION_DAYS"],
        unconfirmed_hours=hours(REGISTRATION_LINK_LIFETIME + UNCONFIRMED_MARGIN),
        link_hours=hours(REGISTRATION_LINK_LIFETIME),
        wizard_hours=hours(WIZARD_LIFETIME),
        keypad_minutes=int(KEYPAD_LIFETIME.total_seconds() // 60),
        idle_minutes=int(config["SESSION_IDLE_TIMEOUT"].total_seconds() // 60),
        session_hours=hours(config["SESSION_ABSOLUTE_LIFETIME"]),
    )


@bp.get("/plan-du-site")
def sitemap():
    """Every public page, in one list."""
    return render_page("public/sitemap.html")


@bp.get("/aide-et-contact")
def help_and_contact():
    """Whom to call: every regional delegation, with its phone number."""
    delegations = db.session.scalars(db.select(Delegation).order_by(Delegation.name)).all()
    return render_page("public/help.html", delegations=delegations)


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers fetch on their own at the root."""
    return send_static("favicon.ico")


@bp.get("/apple-touch-icon.png")
def touch_icon():
    """The home-screen icon iOS fetches on its own at the root."""
    return send_static("apple-touch-icon.png")
