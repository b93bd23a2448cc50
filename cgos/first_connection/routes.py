"""« 1ère connexion »: an agent who never had a password gets a provisional one by mail.

Identify, confirm the mail on file, get a provisional password: the steps are
shared with « Mot de passe oublié » (`cgos/provisional_password/steps.py`); this
flow shows the address on file masked and stops agents already registered.
"""

from flask import Blueprint

from ..extensions import db
from ..htmx import render_page
from ..models import PasswordState, Registration, RequestStatus
from ..provisional_password import steps
from ..templating import format_numero

bp = Blueprint("first_connection", __name__, url_prefix="/premiere-connexion")


def registration_being_checked(agent, tab: str):
    """A page saying so, for an agent created by a registration the delegation has not accepted yet."""
    registration = db.session.scalar(
        db.select(Registration).where(Registration.agent_id == agent.id, Registration.status == RequestStatus.PENDING)
    )
    if registration is None:
        return None
    return render_page("first_connection/registration_pending.html", tab=tab, delegation=registration.delegation)


def already_registered(agent):
    """« Validation impossible » for an agent who already personalised a password, or one not checked yet."""
    if agent.password_state in (PasswordState.PERSONAL, PasswordState.LEGACY):
        return render_page(
            "first_connection/already_registered.html", tab="first_connection", numero=format_numero(agent.numero)
        )
    return registration_being_checked(agent, "first_connection")


FLOW = steps.Flow(
    name="first_connection",
    tab="first_connection",
    template="first_connection/identify.html",
    show_masked_address=True,
    gate=already_registered,
)


@bp.route("", methods=["GET", "POST"])
def identify():
    """Step 1: numéro C.G.O.S, birth year and month."""
    return steps.identify(FLOW)


@bp.route("/adresse-mail", methods=["GET", "POST"])
def confirm_mail():
    """Step 2: the address on file, shown masked, typed twice; the provisional password goes there."""
    return steps.confirm_mail(FLOW)


@bp.route("/confirmation")
def sent():
    """Step 3: « Confirmation envoi du mot de passe provisoire »."""
    return steps.sent(FLOW)
