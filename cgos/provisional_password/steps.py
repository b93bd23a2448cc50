"""The identify → confirm the mail → provisional password steps, shared by two flows.

« 1ère connexion » (`cgos/first_connection/routes.py`) and « Mot de passe
oublié ? » (`cgos/forgotten_password/routes.py`) ask the same things and end
the same way; each flow's views call these steps with its own `Flow`, which
says what differs (who may go on, whether the address on file is shown
masked). The wizard's state (who was identified) is kept on the server, so it
survives a reload and the back button while the signed, readable session
cookie holds only a handle.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import request, session, url_for

from .. import events, flow_state
from ..credentials import limits
from ..credentials.accounts import find_agent
from ..credentials.issuing import issue_provisional_password
from ..events import Event, Reason
from ..extensions import db
from ..htmx import render_page, see_other
from ..models import Agent
from ..regions import delegation_for
from .forms import IdentityForm, MailConfirmationForm
from .services import find_by_identity, same_address

NO_MATCH = (
    "Les informations saisies ne correspondent à aucun agent connu du C.G.O.S. Vérifiez votre "
    "numéro C.G.O.S, votre année et votre mois de naissance."
)
WRONG_ADDRESS = "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
LAST_TRY = (
    " Attention : si la prochaine adresse saisie est aussi erronée, vous devrez compléter le questionnaire "
    "de changement d'adresse mail."
)
STEP_COUNT = 2


def wrong_address_message(agent: Agent) -> str:
    """The wrong-address error; when one try is left, it says the next wrong one leads to the questionnaire."""
    left = limits.MAIL_CONFIRMATION.amount - limits.MAIL_CONFIRMATION.attempts(agent.numero)
    return WRONG_ADDRESS + (LAST_TRY if left == 1 else "")


WIZARD_LIFETIME = timedelta(hours=1)


def too_many(limit: limits.Limit, identifier: str) -> dict:
    """The error shown when a limit is reached: when to try again."""
    return {"form": limits.too_many_message(limit, identifier)}


class Retyped(enum.Enum):
    """What the address typed at the mail-confirmation step was."""

    RIGHT = "right"
    WRONG = "wrong"
    BLOCKED = "blocked"  # too many wrong ones: even the right one is refused


def check_retyped_address(agent: Agent, typed: str) -> Retyped:
    """Past MAIL_CONFIRMATION_LIMIT every try is BLOCKED, the right one too.

    The try is counted before the comparison (so simultaneous tries cannot slip
    past the limit) and given back when the address is right: only wrong ones count.
    """
    if limits.MAIL_CONFIRMATION.reached(agent.numero) or not limits.MAIL_CONFIRMATION.hit(agent.numero):
        return Retyped.BLOCKED
    if same_address(typed, agent.email):
        limits.MAIL_CONFIRMATION.refund(agent.numero)
        return Retyped.RIGHT
    return Retyped.BLOCKED if limits.MAIL_CONFIRMATION.reached(agent.numero) else Retyped.WRONG


@dataclass(frozen=True)
class Flow:
    """What one flow brings to the shared steps."""

    name: str  # the blueprint, also the per-address limit's scope and the flow state's purpose
    tab: str
    template: str  # the flow's own first step
    show_masked_address: bool
    # A page that stops an agent before the mail step (« Validation impossible »), or None to let them on.
    gate: Callable[[Agent], object] | None = None
    # Extra template context for every step, computed per request.
    context: Callable[[], dict] = field(default=dict)

    @property
    def address_limit(self) -> limits.AddressLimit:
        """Submissions of this flow's forms per client address."""
        return limits.AddressLimit(self.name)


def page(flow: Flow, template: str, status: int = 200, **context):
    """Render a step with the flow's tab and context."""
    return render_page(
        template, status=status, tab=flow.tab, steps=flow.name, step_count=STEP_COUNT, **flow.context(), **context
    )


def identified_agent(flow: Flow) -> Agent | None:
    """The agent identified at the first step of this flow in this browser."""
    agent_id = (flow_state.load(flow.name) or {}).get("agent")
    return db.session.get(Agent, agent_id) if isinstance(agent_id, int) else None


def typed_numero(flow: Flow) -> str | None:
    """The numéro the agent typed at this flow's first step (kept for « Annuler » and the questionnaire)."""
    numero = (flow_state.load(flow.name) or {}).get("numero")
    return numero if isinstance(numero, str) else None


def identify(flow: Flow):
    """Step 1: numéro C.G.O.S, birth year and month (identification tries counted across flows)."""
    # The numéro carried from another page (« Se connecter », « Annuler »): only ever typed by the agent.
    form = IdentityForm(data={"numero": request.args.get("numero", "")[:20]})
    if request.method == "GET":
        return page(flow, flow.template, form=form, errors={})
    if not flow.address_limit.hit_here():
        return page(flow, flow.template, 429, form=form, errors=too_many(flow.address_limit, limits.client_address()))
    if not form.validate():
        return page(flow, flow.template, 422, form=form, errors={})
    if not limits.IDENTIFICATION.hit(form.numero.data):
        return page(flow, flow.template, 429, form=form, errors=too_many(limits.IDENTIFICATION, form.numero.data))
    agent = find_by_identity(form.numero.data, form.birth_year.data, form.birth_month.data)
    if agent is None:
        events.record(Event.IDENTIFICATION_FAILURE, find_agent(form.numero.data), reason=Reason(flow.name))
        db.session.commit()
        return page(flow, flow.template, 422, form=form, errors={"form": NO_MATCH})
    flow_state.save(flow.name, {"agent": agent.id, "numero": form.numero.data}, WIZARD_LIFETIME)
    return see_other(url_for(f"{flow.name}.confirm_mail"))


def confirm_mail(flow: Flow):
    """Step 2: the address on file typed twice; the provisional password goes there."""
    agent = identified_agent(flow)
    if agent is None:
        return see_other(url_for(f"{flow.name}.identify"))
    if agent.disabled_at is not None:
        return page(flow, "provisional_password/disabled.html", delegation=delegation_for(agent))
    if flow.gate is not None and (stop := flow.gate(agent)) is not None:
        return stop
    if not agent.email:
        return page(flow, "provisional_password/no_mail.html", delegation=delegation_for(agent))
    form = MailConfirmationForm()
    context = {
        "form": form,
        "errors": {},
        "masked": agent.email if flow.show_masked_address else None,
        "typed_numero": typed_numero(flow),
    }
    if request.method == "GET":
        return page(flow, "provisional_password/confirm_mail.html", **context)
    if not flow.address_limit.hit_here():
        context["errors"] = too_many(flow.address_limit, limits.client_address())
        return page(flow, "provisional_password/confirm_mail.html", 429, **context)
    if not form.validate():
        return page(flow, "provisional_password/confirm_mail.html", 422, **context)
    outcome = check_retyped_address(agent, form.email.data)
    if outcome is Retyped.BLOCKED:
        return page(flow, "provisional_password/wrong_mail.html", 422)
    if outcome is Retyped.WRONG:
        form.email.errors.append(wrong_address_message(agent))
        return page(flow, "provisional_password/confirm_mail.html", 422, **context)
    issue_provisional_password(agent)
    flow_state.discard(flow.name, commit=False)
    db.session.commit()
    session["provisional_sent"] = True
    return see_other(url_for(f"{flow.name}.sent"))


def sent(flow: Flow):
    """Step 3: « Confirmation envoi du mot de passe provisoire »."""
    if not session.get("provisional_sent"):
        return see_other(url_for(f"{flow.name}.identify"))
    return page(flow, "provisional_password/sent.html")
