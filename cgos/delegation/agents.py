"""Find and help an agent: search, the agent's page, and the actions staff take on the phone.

Staff see their own delegation's agents only (those of an establishment of its
region, and those with no establishment on file); any other is not found.
Every action is confirmed on its own page, recorded with the staff id, and
mailed to the agent where it concerns them. Staff never see or set a PIN.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, g, request, url_for
from sqlalchemy import func, or_, select
from stdnum.exceptions import ValidationError

from .. import events
from ..auth import revoke_sessions, staff_required
from ..credentials import limits
from ..delegations import delegation_for
from ..events import Event
from ..extensions import db
from ..htmx import render_form_errors, render_page, see_other
from ..identifiers import french_message
from ..identifiers import numero as numero_rules
from ..mail import external_url, send_mail
from ..models import (
    Agent,
    Commune,
    Delegation,
    Establishment,
    MailChangeRequest,
    Registration,
    SecurityEvent,
    utcnow,
)
from ..places.search import starts_with
from ..reference_data import normalize_search_text
from . import account_state
from .forms import AgentSearchForm, ReasonForm
from .routes import REASON_REQUIRED, bp, pending_questionnaires, pending_registrations

MAX_RESULTS = 50
LAST_EVENTS = 10
LOGIN_EVENTS = (Event.LOGIN_SUCCESS, Event.LOGIN_FAILURE, Event.LOCKOUT, Event.PIN_BLOCKED)
QUERY_TOO_SHORT = "Saisissez au moins 2 lettres du nom, un numéro C.G.O.S ou une adresse mail."


LOGIN_EVENT_LABELS = {
    Event.LOGIN_SUCCESS: "connexion réussie",
    Event.LOGIN_FAILURE: "échec de connexion",
    Event.LOCKOUT: "connexion bloquée après plusieurs échecs",
    Event.PIN_BLOCKED: "mot de passe bloqué (plafond journalier atteint)",
}


@bp.app_template_global()
def agent_search_form() -> AgentSearchForm:
    """An empty « Rechercher un agent » form, for the back-office toolbar."""
    return AgentSearchForm(formdata=None)


@bp.app_template_global()
def login_event_label(event: SecurityEvent) -> str:
    """A login event in words for staff."""
    return LOGIN_EVENT_LABELS.get(event.kind, event.kind)


def own_agents(delegation: Delegation):
    """The agents a delegation handles: its region's establishments, and agents with none on file."""
    return (
        select(Agent)
        .outerjoin(Establishment, Agent.establishment_id == Establishment.id)
        .outerjoin(Commune, Establishment.commune_insee == Commune.insee)
        .where(or_(Agent.establishment_id.is_(None), Commune.region_code == delegation.region_code))
    )


def is_own(agent: Agent, delegation: Delegation) -> bool:
    """The same rule as own_agents, for one agent already loaded."""
    if agent.establishment_id is None:
        return True
    handling = delegation_for(agent)
    return handling is not None and handling.id == delegation.id


def own_agent(agent_id: int) -> Agent:
    """An agent of the logged-in staff's delegation; any other is a 404."""
    agent = db.session.get(Agent, agent_id)
    if agent is None or not is_own(agent, g.staff.delegation):
        abort(404)
    return agent


def name_condition(query: str):
    """Names in any order: `marie dupont` finds `dupont marie` (last name first in search_name)."""
    words = normalize_search_text(query).split()
    orders = {" ".join(words[i:] + words[:i]) for i in range(len(words))}
    return or_(*(starts_with(Agent.search_name, order) for order in sorted(orders)))


def search_condition(query: str):
    """What the typed text means: a mail address, a numéro C.G.O.S or a name; raises ValueError with the message."""
    query = query.strip()
    if "@" in query:
        return func.lower(Agent.email) == query.lower()
    compact = numero_rules.compact(query)
    if compact[:1].isdigit():
        try:
            return Agent.numero == numero_rules.validate(query)
        except ValidationError as error:
            raise ValueError(french_message(error, "numero")) from None
    if len(normalize_search_text(query).replace(" ", "")) < 2:
        raise ValueError(QUERY_TOO_SHORT)
    return name_condition(query)


@bp.get("/agents")
@staff_required
def search_agents():
    """« Rechercher un agent »: the delegation's agents matching a numéro, a name or a mail address."""
    form = AgentSearchForm(request.args)
    query = (form.q.data or "").strip()
    if not query:
        return render_page("delegation/agents.html", form=form, agents=None, more=False)
    try:
        condition = search_condition(query)
    except ValueError as error:
        form.q.errors = [str(error)]
        return render_form_errors("delegation/agents.html", form=form, agents=None, more=False)
    statement = (
        own_agents(g.staff.delegation).where(condition).order_by(Agent.search_name, Agent.numero).limit(MAX_RESULTS + 1)
    )
    found = list(db.session.scalars(statement))
    return render_page("delegation/agents.html", form=form, agents=found[:MAX_RESULTS], more=len(found) > MAX_RESULTS)


def counters(agent: Agent) -> account_state.Counters:
    """The agent's failed-login counters, read from the limiter storage."""
    locked = limits.LOGIN_LOCKOUT.reached(agent.numero)
    return account_state.Counters(
        locked_until=limits.LOGIN_LOCKOUT.retry_at(agent.numero) if locked else None,
        daily_failures=limits.LOGIN_DAILY.attempts(agent.numero),
        daily_cap=limits.LOGIN_DAILY.amount,
    )


def agent_page(agent: Agent, show_email: bool = False):
    """The agent's page: identity, establishment, account state, last logins, pending requests."""
    last_logins = db.session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.agent_id == agent.id, SecurityEvent.kind.in_(LOGIN_EVENTS))
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(LAST_EVENTS)
    )
    questionnaires = db.session.scalars(pending_questionnaires().where(MailChangeRequest.agent_id == agent.id))
    registrations = db.session.scalars(pending_registrations().where(Registration.agent_id == agent.id))
    return render_page(
        "delegation/agent.html",
        agent=agent,
        show_email=show_email,
        state=account_state.describe(agent, counters(agent), utcnow()),
        last_logins=list(last_logins),
        questionnaires=list(questionnaires),
        registrations=list(registrations),
        actions=[action for action in ACTIONS.values() if action.applies(agent)],
    )


@bp.get("/agents/<id:agent_id>")
@staff_required
def agent_detail(agent_id: int):
    """One agent of the delegation, the mail address masked; the look is recorded."""
    agent = own_agent(agent_id)
    events.record(Event.AGENT_VIEWED, agent, staff=g.staff)
    db.session.commit()
    return agent_page(agent)


@bp.post("/agents/<id:agent_id>/adresse-mail")
@staff_required
def show_email(agent_id: int):
    """« Afficher »: the agent's page with the mail address in full; the look is recorded."""
    agent = own_agent(agent_id)
    events.record(Event.AGENT_EMAIL_SHOWN, agent, staff=g.staff)
    db.session.commit()
    return agent_page(agent, show_email=True)


def mail_agent(agent: Agent, subject: str, template: str, **context) -> None:
    """The agent's mail about an action taken on their account, when an address is on file."""
    if agent.email:
        send_mail(
            agent.email,
            f"Espace Agent C.G.O.S : {subject}",
            template,
            agent=agent,
            delegation=g.staff.delegation,
            **context,
        )


def unlock(agent: Agent, reason: str | None) -> str:
    """« Débloquer le compte »: the lockout counters cleared, the daily one included."""
    limits.unlock_account(agent)
    events.record(Event.ACCOUNT_UNLOCKED, agent, staff=g.staff)
    mail_agent(agent, "votre compte est débloqué", "account_unlocked", login_url=external_url("login.login"))
    return "Le compte est débloqué : l'agent peut de nouveau se connecter."


def resend_numero(agent: Agent, reason: str | None) -> str:
    """« Renvoyer le numéro C.G.O.S » to the address on file."""
    events.record(Event.NUMERO_RESENT, agent, staff=g.staff)
    mail_agent(agent, "votre numéro C.G.O.S", "numero_reminder", login_url=external_url("login.login"))
    return "Le numéro C.G.O.S est envoyé à l'adresse mail au fichier."


def disable(agent: Agent, reason: str | None) -> str:
    """« Désactiver »: no login any more, sessions ended, the agent told why."""
    agent.disabled_at = utcnow()
    revoke_sessions(agent)
    events.record(Event.ACCOUNT_DISABLED, agent, reason[:200], staff=g.staff)
    mail_agent(agent, "votre compte est désactivé", "account_disabled", reason=reason)
    return "Le compte est désactivé et l'agent en est informé."


def reactivate(agent: Agent, reason: str | None) -> str:
    """« Réactiver »: the agent may log in again."""
    agent.disabled_at = None
    events.record(Event.ACCOUNT_REACTIVATED, agent, reason[:200], staff=g.staff)
    mail_agent(
        agent, "votre compte est réactivé", "account_reactivated", reason=reason, login_url=external_url("login.login")
    )
    return "Le compte est réactivé et l'agent en est informé."


@dataclass(frozen=True)
class Action:
    """One of the agent page's actions: its button, its confirmation page and what « Confirmer » does."""

    slug: str  # its address: /delegation/agents/<id>/<slug>
    label: str  # the button, and the confirmation page's heading
    take: Callable[[Agent, str | None], str]  # does it; returns the message shown on the agent's page
    applies: Callable[[Agent], bool]  # whether the agent page offers it
    needs_reason: bool = False  # the reason is asked, recorded and mailed to the agent
    secondary: bool = False  # shown as a secondary button


ACTIONS = {
    action.slug: action
    for action in (
        Action("debloquer", "Débloquer le compte", unlock, lambda agent: True),
        Action("renvoyer-numero", "Renvoyer le numéro C.G.O.S", resend_numero, lambda agent: bool(agent.email)),
        Action(
            "desactiver",
            "Désactiver",
            disable,
            lambda agent: agent.disabled_at is None,
            needs_reason=True,
            secondary=True,
        ),
        Action(
            "reactiver",
            "Réactiver",
            reactivate,
            lambda agent: agent.disabled_at is not None,
            needs_reason=True,
            secondary=True,
        ),
    )
}


@bp.route("/agents/<id:agent_id>/<action>", methods=["GET", "POST"])
@staff_required
def agent_action(agent_id: int, action: str):
    """Confirm an action on its own page (GET), then take it (POST) and go back to the agent."""
    agent = own_agent(agent_id)
    if action not in ACTIONS:
        abort(404)
    chosen = ACTIONS[action]
    if not chosen.applies(agent):
        flash("Cette action ne s'applique pas à ce compte.", "info")
        return see_other(url_for(".agent_detail", agent_id=agent.id))
    form = ReasonForm()
    context = {"agent": agent, "form": form, "action": chosen}
    if request.method == "GET":
        return render_page("delegation/agent_action.html", **context)
    if not form.validate():
        abort(400)
    reason = (form.reason.data or "").strip() or None
    if chosen.needs_reason and not reason:
        form.reason.errors = [REASON_REQUIRED]
        return render_form_errors("delegation/agent_action.html", **context)
    done = chosen.take(agent, reason)
    db.session.commit()
    flash(done, "success")
    return see_other(url_for(".agent_detail", agent_id=agent.id))
