"""« Mot de passe oublié ? »: identify, confirm the mail on file, get a provisional password.

The same screens serve an agent whose old alphanumeric password must be
replaced (« je demande un nouveau mot de passe à 6 chiffres »).
"""

from flask import Blueprint, request

from ..first_connection.routes import registration_being_checked
from ..identification.steps import ProvisionalPasswordSteps

bp = Blueprint("forgotten_password", __name__, url_prefix="/mot-de-passe-oublie")


class ForgottenPasswordSteps(ProvisionalPasswordSteps):
    """The shared steps, telling a legacy-password agent why they are here."""

    def _page(self, template: str, status: int = 200, **context):
        """Every step knows whether the agent came to replace a legacy password."""
        context.setdefault("legacy", request.args.get("motif") == "ancien")
        return super()._page(template, status, **context)


def not_checked_yet(agent):
    """No provisional password before the delegation accepted the registration that created the agent."""
    return registration_being_checked(agent, "login")


steps = ForgottenPasswordSteps(
    name="forgotten_password",
    tab="login",
    identify_template="forgotten_password/identify.html",
    show_masked_address=False,
    gate=not_checked_yet,
)
steps.register(bp)
