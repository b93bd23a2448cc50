"""« Mot de passe oublié ? »: identify, confirm the mail on file, get a provisional password.

The steps are shared with « 1ère connexion » (`cgos/provisional_password/steps.py`).
The same screens serve an agent whose old alphanumeric password must be
replaced (« je demande un nouveau mot de passe à 6 chiffres »): the login page
links here with `?motif=ancien`, and every step then says why they are here.
"""

from flask import Blueprint, request

from ..first_connection.routes import registration_being_checked
from ..provisional_password import steps

bp = Blueprint("forgotten_password", __name__, url_prefix="/mot-de-passe-oublie")


def not_checked_yet(agent):
    """No provisional password before the delegation accepted the registration that created the agent."""
    return registration_being_checked(agent, "login")


def legacy_notice() -> dict:
    """Whether the agent came to replace a legacy password (« motif=ancien »)."""
    return {"legacy": request.args.get("motif") == "ancien"}


FLOW = steps.Flow(
    name="forgotten_password",
    tab="login",
    template="forgotten_password/identify.html",
    show_masked_address=False,
    gate=not_checked_yet,
    context=legacy_notice,
)


@bp.route("", methods=["GET", "POST"])
def identify():
    """Step 1: numéro C.G.O.S, birth year and month."""
    return steps.identify(FLOW)


@bp.route("/adresse-mail", methods=["GET", "POST"])
def confirm_mail():
    """Step 2: the address on file typed twice; the provisional password goes there."""
    return steps.confirm_mail(FLOW)


@bp.route("/confirmation")
def sent():
    """Step 3: « Confirmation envoi du mot de passe provisoire »."""
    return steps.sent(FLOW)
