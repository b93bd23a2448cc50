"""« Mot de passe oublié ? »: identify, confirm the mail on file, get a provisional password.

The same screens serve an agent whose old alphanumeric password must be
replaced (« je demande un nouveau mot de passe à 6 chiffres »). The state of
the wizard is kept in the signed session, so it survives a reload.
"""

from flask import Blueprint, abort, request, session, url_for

from .. import ratelimits
from ..account.services import delegation_for, issue_provisional_password
from ..extensions import db
from ..htmx import render_form_errors, render_page, see_other
from ..identification.forms import IdentityForm, MailConfirmationForm
from ..identification.services import identify, same_address
from ..models import Agent
from ..templating import french_time

bp = Blueprint("forgotten_password", __name__, url_prefix="/mot-de-passe-oublie")

STATE_KEY = "forgotten_password"
NO_MATCH = (
    "Les informations saisies ne correspondent à aucun agent connu du C.G.O.S. Vérifiez votre "
    "numéro C.G.O.S, votre année et votre mois de naissance."
)
WRONG_ADDRESS = (
    "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
)


def too_many_attempts(scope: str, config_key: str = "ADDRESS_RATE_LIMIT", identifier: str | None = None):
    """The page that answers when a limit is reached: when to try again."""
    identifier = identifier or ratelimits.client_address()
    retry = ratelimits.retry_at(config_key, scope, identifier)
    return {"form": f"Trop de demandes ont été faites : réessayez à partir de {french_time(retry)}."}


def wizard_agent() -> Agent | None:
    """The agent identified at the first step, if this browser went through it."""
    agent_id = session.get(STATE_KEY, {}).get("agent")
    return db.session.get(Agent, agent_id) if isinstance(agent_id, int) else None


@bp.route("", methods=["GET", "POST"], endpoint="identify")
def identify_step():
    """Step 1: numéro C.G.O.S, birth year and month."""
    form = IdentityForm()
    legacy = request.args.get("motif") == "ancien"
    if request.method == "GET":
        return render_page("forgotten_password/identify.html", form=form, legacy=legacy, errors={})
    if not ratelimits.hit_address("forgotten_password"):
        return render_page("forgotten_password/identify.html", status=429, form=form, legacy=legacy,
                           errors=too_many_attempts("forgotten_password"))
    if not form.validate():
        return render_form_errors("forgotten_password/identify.html", form=form, legacy=legacy, errors={})
    if not ratelimits.hit("IDENTIFICATION_RATE_LIMIT", "forgotten_password", form.numero.data):
        errors = too_many_attempts("forgotten_password", "IDENTIFICATION_RATE_LIMIT", form.numero.data)
        return render_page("forgotten_password/identify.html", status=429, form=form, legacy=legacy, errors=errors)
    agent = identify(form.numero.data, form.birth_year.data, form.birth_month.data)
    if agent is None:
        return render_form_errors("forgotten_password/identify.html", form=form, legacy=legacy,
                                  errors={"form": NO_MATCH})
    session[STATE_KEY] = {"agent": agent.id}
    return see_other(url_for(".confirm_mail"))


@bp.route("/adresse-mail", methods=["GET", "POST"])
def confirm_mail():
    """Step 2: the mail address on file, typed twice; the provisional password goes there."""
    agent = wizard_agent()
    if agent is None:
        return see_other(url_for(".identify"))
    if not agent.email:
        return render_page("forgotten_password/no_mail.html", delegation=delegation_for(agent))
    form = MailConfirmationForm()
    if request.method == "GET":
        return render_page("forgotten_password/confirm_mail.html", form=form, errors={})
    if not ratelimits.hit_address("forgotten_password"):
        return render_page("forgotten_password/confirm_mail.html", status=429, form=form,
                           errors=too_many_attempts("forgotten_password"))
    if not form.validate():
        return render_form_errors("forgotten_password/confirm_mail.html", form=form, errors={})
    if not same_address(form.email.data, agent.email):
        form.email.errors.append(WRONG_ADDRESS)
        return render_form_errors("forgotten_password/confirm_mail.html", form=form, errors={})
    issue_provisional_password(agent)
    db.session.commit()
    session.pop(STATE_KEY, None)
    session["provisional_sent"] = True
    return see_other(url_for(".sent"))


@bp.get("/confirmation")
def sent():
    """« Confirmation envoi du mot de passe provisoire »."""
    if not session.get("provisional_sent"):
        abort(404)
    return render_page("forgotten_password/sent.html")
