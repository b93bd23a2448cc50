"""« 1ère connexion »: an agent who never had a password gets a provisional one by mail."""

from flask import Blueprint

from ..extensions import db
from ..htmx import render_page
from ..identification.steps import ProvisionalPasswordSteps
from ..models import PasswordState, Registration, RequestStatus

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
        return render_page("first_connection/already_registered.html", tab="first_connection")
    return registration_being_checked(agent, "first_connection")


steps = ProvisionalPasswordSteps(
    name="first_connection",
    tab="first_connection",
    identify_template="first_connection/identify.html",
    show_masked_address=True,
    gate=already_registered,
)
steps.register(bp)
