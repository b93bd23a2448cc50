"""« 1ère connexion »: an agent who never had a password gets a provisional one by mail."""

from flask import Blueprint

from ..htmx import render_page
from ..identification.steps import ProvisionalPasswordSteps
from ..models import PasswordState

bp = Blueprint("first_connection", __name__, url_prefix="/premiere-connexion")


def already_registered(agent):
    """« Validation impossible » for an agent who already personalised a password."""
    if agent.password_state in (PasswordState.PERSONAL, PasswordState.LEGACY):
        return render_page("first_connection/already_registered.html", tab="first_connection")
    return None


steps = ProvisionalPasswordSteps(
    name="first_connection",
    tab="first_connection",
    identify_template="first_connection/identify.html",
    show_masked_address=True,
    gate=already_registered,
)
steps.register(bp)
