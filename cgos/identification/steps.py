"""The identify → confirm the mail → provisional password steps, shared by two tabs.

« 1ère connexion » and « Mot de passe oublié ? » ask the same things and end
the same way; what differs (who may go on, whether the address on file is
shown masked) is given by each blueprint. The wizard's state (who was
identified) is kept on the server, so it survives a reload and the back button
while the signed, readable session cookie holds only a handle.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import request, session, url_for

from .. import events, flow_state
from ..credentials import limits
from ..credentials.issuing import issue_provisional_password
from ..delegations import delegation_for
from ..extensions import db
from ..htmx import render_page, see_other
from ..credentials.accounts import find_agent
from ..models import Agent
from .forms import IdentityForm, MailConfirmationForm
from .services import identify, same_address

NO_MATCH = (
    "Les informations saisies ne correspondent à aucun agent connu du C.G.O.S. Vérifiez votre "
    "numéro C.G.O.S, votre année et votre mois de naissance."
)
WRONG_ADDRESS = "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
WIZARD_LIFETIME = timedelta(hours=1)


def too_many(limit: limits.Limit, identifier: str) -> dict:
    """The error shown when a limit is reached: when to try again."""
    return {"form": limits.too_many_message(limit, identifier)}


def check_retyped_address(agent: Agent, typed: str) -> str:
    """`"right"`, `"wrong"` or `"blocked"`: past MAIL_CONFIRMATION_LIMIT every try is blocked, the right one too.

    The try is counted before the comparison (so simultaneous tries cannot slip
    past the limit) and given back when the address is right: only wrong ones count.
    """
    if limits.MAIL_CONFIRMATION.reached(agent.numero) or not limits.MAIL_CONFIRMATION.hit(agent.numero):
        return "blocked"
    if same_address(typed, agent.email):
        limits.MAIL_CONFIRMATION.refund(agent.numero)
        return "right"
    return "blocked" if limits.MAIL_CONFIRMATION.reached(agent.numero) else "wrong"


@dataclass
class ProvisionalPasswordSteps:
    """One tab's use of the shared steps."""

    name: str  # the blueprint, also the per-address limit's scope and the flow state's purpose
    tab: str
    identify_template: str
    show_masked_address: bool
    # A page that stops an agent at the first step (« Validation impossible »), or None.
    gate: object = None
    context: dict = field(default_factory=dict)

    @property
    def address_limit(self) -> limits.AddressLimit:
        """Submissions of this tab's forms per client address."""
        return limits.AddressLimit(self.name)

    @property
    def identification_limit(self) -> limits.Limit:
        """Identification tries per numéro, one count across both tabs and the questionnaire."""
        return limits.IDENTIFICATION

    def _page(self, template: str, status: int = 200, **context):
        """Render a step with this tab's context."""
        return render_page(template, status=status, tab=self.tab, steps=self.name, **self.context, **context)

    def agent(self) -> Agent | None:
        """The agent identified at the first step in this browser."""
        agent_id = (flow_state.load(self.name) or {}).get("agent")
        return db.session.get(Agent, agent_id) if isinstance(agent_id, int) else None

    def identity_step(self):
        """Step 1: numéro C.G.O.S, birth year and month."""
        form = IdentityForm()
        if request.method == "GET":
            return self._page(self.identify_template, form=form, errors={})
        if not self.address_limit.hit_here():
            return self._page(self.identify_template, 429, form=form,
                              errors=too_many(self.address_limit, limits.client_address()))
        if not form.validate():
            return self._page(self.identify_template, 422, form=form, errors={})
        if not self.identification_limit.hit(form.numero.data):
            return self._page(self.identify_template, 429, form=form,
                              errors=too_many(self.identification_limit, form.numero.data))
        agent = identify(form.numero.data, form.birth_year.data, form.birth_month.data)
        if agent is None:
            events.record(events.IDENTIFICATION_FAILURE, find_agent(form.numero.data), self.name)
            db.session.commit()
            return self._page(self.identify_template, 422, form=form, errors={"form": NO_MATCH})
        flow_state.save(self.name, {"agent": agent.id}, WIZARD_LIFETIME)
        return see_other(url_for(f"{self.name}.confirm_mail"))

    def mail_step(self):
        """Step 2: the address on file typed twice; the provisional password goes there."""
        agent = self.agent()
        if agent is None:
            return see_other(url_for(f"{self.name}.identify"))
        if agent.disabled_at is not None:
            return self._page("identification/disabled.html", delegation=delegation_for(agent))
        if self.gate is not None and (stop := self.gate(agent)) is not None:
            return stop
        if not agent.email:
            return self._page("identification/no_mail.html", delegation=delegation_for(agent))
        form = MailConfirmationForm()
        context = {"form": form, "errors": {}, "masked": agent.email if self.show_masked_address else None}
        if request.method == "GET":
            return self._page("identification/confirm_mail.html", **context)
        if not self.address_limit.hit_here():
            context["errors"] = too_many(self.address_limit, limits.client_address())
            return self._page("identification/confirm_mail.html", 429, **context)
        if not form.validate():
            return self._page("identification/confirm_mail.html", 422, **context)
        outcome = check_retyped_address(agent, form.email.data)
        if outcome == "blocked":
            return self._page("identification/wrong_mail.html", 422)
        if outcome == "wrong":
            form.email.errors.append(WRONG_ADDRESS)
            return self._page("identification/confirm_mail.html", 422, **context)
        issue_provisional_password(agent)
        flow_state.discard(self.name, commit=False)
        db.session.commit()
        session["provisional_sent"] = True
        return see_other(url_for(f"{self.name}.sent"))

    def sent(self):
        """« Confirmation envoi du mot de passe provisoire »."""
        if not session.get("provisional_sent"):
            return see_other(url_for(f"{self.name}.identify"))
        return self._page("identification/sent.html")

    def register(self, bp, prefix: str = "") -> None:
        """Add the three steps to a blueprint."""
        bp.add_url_rule(prefix, "identify", self.identity_step, methods=["GET", "POST"])
        bp.add_url_rule(f"{prefix}/adresse-mail", "confirm_mail", self.mail_step, methods=["GET", "POST"])
        bp.add_url_rule(f"{prefix}/confirmation", "sent", self.sent)
