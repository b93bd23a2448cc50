"""Find and help an agent: search, the agent's page, and the actions staff take on the phone.

Staff see their own delegation's agents only (those of an establishment of its
region); any other is not found. An agent with no establishment on file belongs
to no delegation: any staff member finds them by their exact numéro only (never
by name or mail, never by walking ids), and each action on them asks for a
reason, is recorded with it, mailed to them, and shown to every delegation's
lead (history.py). Every action is confirmed on its own page, recorded with the
staff id, and mailed to the agent where it concerns them. Staff never see or
set a PIN.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, g, request, url_for
from sqlalchemy import func, or_, select
from stdnum.exceptions import ValidationError

from .. import events, flow_state
from ..auth import duration, revoke_sessions, staff_required
from ..credentials import limits
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
    Passkey,
    Registration,
    SecurityEvent,
    utcnow,
)
from ..passkeys import ceremonies
from ..places.search import starts_with
from ..reference_data import normalize_search_text
from ..regions import delegation_for
from . import account_state, bp
from .forms import AgentSearchForm, ReasonForm
from .routes import REASON_REQUIRED, pending_questionnaires, pending_registrations

MAX_RESULTS = 50
LAST_EVENTS = 10
LOGIN_EVENTS = (Event.LOGIN_SUCCESS, Event.LOGIN_FAILURE, Event.LOCKOUT, Event.PIN_BLOCKED)
QUERY_TOO_SHORT = "Saisissez au moins 2 lettres du nom, un numéro C.G.O.S ou une adresse mail."
# The agents without an establishment this browser found by their exact numéro: the only way to their page.
FOUND_BY_NUMERO = "unattached_agents_found"
# How many of them a browser keeps at once (the oldest forgotten first).
FOUND_KEPT = 20


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


def found_agents(delegation: Delegation, by_numero: bool):
    """The agents a search may find: the delegation's own, and by exact numéro those of no delegation."""
    own = Commune.region_code == delegation.region_code
    return (
        select(Agent)
        .outerjoin(Establishment, Agent.establishment_id == Establishment.id)
        .outerjoin(Commune, Establishment.commune_insee == Commune.insee)
        .where(or_(own, Agent.establishment_id.is_(None)) if by_numero else own)
    )


def is_own(agent: Agent, delegation: Delegation) -> bool:
    """Whether the agent's establishment is in the delegation's region."""
    handling = delegation_for(agent) if agent.establishment_id is not None else None
    return handling is not None and handling.id == delegation.id


@bp.app_template_global()
def unattached(agent: Agent) -> bool:
    """An agent with no establishment on file: no delegation's, reached by exact numéro, every action with a reason."""
    return agent.establishment_id is None


def found_by_numero() -> list[int]:
    """The ids of the agents without an establishment this browser found by their exact numéro."""
    state = flow_state.load(FOUND_BY_NUMERO) or {}
    return [agent_id for agent_id in state.get("ids", []) if isinstance(agent_id, int)]


def remember_found(agents: list[Agent]) -> None:
    """Let this browser open the pages of the agents without an establishment its numéro search found."""
    found = [agent.id for agent in agents if unattached(agent)]
    if found:
        ids = [agent_id for agent_id in found_by_numero() if agent_id not in found] + found
        lifetime = duration("STAFF_SESSION_ABSOLUTE_LIFETIME")
        flow_state.save(FOUND_BY_NUMERO, {"ids": ids[-FOUND_KEPT:]}, lifetime)


def own_agent(agent_id: int) -> Agent:
    """An agent of the logged-in staff's delegation, or one of none found by numéro; any other is a 404."""
    agent = db.session.get(Agent, agent_id)
    if agent is None:
        abort(404)
    reachable = agent.id in found_by_numero() if unattached(agent) else is_own(agent, g.staff.delegation)
    if not reachable:
        abort(404)
    return agent


def name_condition(query: str):
    """Names in any order: `marie dupont` finds `dupont marie` (last name first in search_name)."""
    words = normalize_search_text(query).split()
    orders = {" ".join(words[i:] + words[:i]) for i in range(len(words))}
    return or_(*(starts_with(Agent.search_name, order) for order in sorted(orders)))


def search_condition(query: str):
    """What the typed text means: (condition, whether it is an exact numéro); raises ValueError with the message.

    A mail address, a numéro C.G.O.S or a name.
    """
    query = query.strip()
    if "@" in query:
        return func.lower(Agent.email) == query.lower(), False
    compact = numero_rules.compact(query)
    if compact[:1].isdigit():
        try:
            return Agent.numero == numero_rules.validate(query), True
        except ValidationError as error:
            raise ValueError(french_message(error, "numero")) from None
    if len(normalize_search_text(query).replace(" ", "")) < 2:
        raise ValueError(QUERY_TOO_SHORT)
    return name_condition(query), False


@bp.get("/agents")
@staff_required
def search_agents():
    """« Rechercher un agent »: the delegation's agents matching a numéro, a name or a mail address.

    An exact numéro also finds an agent of no delegation (no establishment on file).
    """
    form = AgentSearchForm(request.args)
    query = (form.q.data or "").strip()
    if not query:
        return render_page("backoffice/agents.html", form=form, agents=None, more=False)
    try:
        condition, by_numero = search_condition(query)
    except ValueError as error:
        form.q.errors = [str(error)]
        return render_form_errors("backoffice/agents.html", form=form, agents=None, more=False)
    statement = (
        found_agents(g.staff.delegation, by_numero)
        .where(condition)
        .order_by(Agent.search_name, Agent.numero)
        .limit(MAX_RESULTS + 1)
    )
    found = list(db.session.scalars(statement))
    if by_numero:
        remember_found(found)
    return render_page("backoffice/agents.html", form=form, agents=found[:MAX_RESULTS], more=len(found) > MAX_RESULTS)


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
        "backoffice/agent.html",
        agent=agent,
        show_email=show_email,
        state=account_state.describe(agent, counters(agent), utcnow()),
        last_logins=list(last_logins),
        questionnaires=list(questionnaires),
        registrations=list(registrations),
        actions=[action for action in ACTIONS.values() if action.applies(agent)],
        passkeys=passkey_count(agent),
    )


@bp.get("/agents/<id:agent_id>")
@staff_required
def agent_detail(agent_id: int):
    """One agent of the delegation, the mail address masked; the look is recorded."""
    agent = own_agent(agent_id)
    events.record(Event.AGENT_VIEWED, agent, staff=g.staff)
    db.session.commit()
    return agent_page(agent)


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


def recorded(reason: str | None) -> str | None:
    """A reason as the audit row keeps it (its first 200 characters)."""
    return reason[:200] if reason else None


def reveal_email(agent: Agent, reason: str | None) -> str:
    """« Afficher »: recorded; for an agent of no delegation, with the reason, and mailed to them."""
    events.record(Event.AGENT_EMAIL_SHOWN, agent, recorded(reason), staff=g.staff)
    if unattached(agent):
        mail_agent(agent, "votre adresse mail a été consultée", "email_shown", reason=reason, at=utcnow())
    return ""


def unlock(agent: Agent, reason: str | None) -> str:
    """« Débloquer le compte »: the lockout counters cleared, the daily one included."""
    limits.unlock_account(agent)
    events.record(Event.ACCOUNT_UNLOCKED, agent, recorded(reason), staff=g.staff)
    mail_agent(
        agent, "votre compte est débloqué", "account_unlocked", reason=reason, login_url=external_url("login.login")
    )
    return "Le compte est débloqué : l'agent peut de nouveau se connecter."


def resend_numero(agent: Agent, reason: str | None) -> str:
    """« Renvoyer le numéro C.G.O.S » to the address on file."""
    events.record(Event.NUMERO_RESENT, agent, recorded(reason), staff=g.staff)
    mail_agent(agent, "votre numéro C.G.O.S", "numero_reminder", reason=reason, login_url=external_url("login.login"))
    return "Le numéro C.G.O.S est envoyé à l'adresse mail au fichier."


def disable(agent: Agent, reason: str | None) -> str:
    """« Désactiver »: no login any more, sessions ended, the agent told why."""
    agent.disabled_at = utcnow()
    revoke_sessions(agent)
    events.record(Event.ACCOUNT_DISABLED, agent, recorded(reason), staff=g.staff)
    mail_agent(agent, "votre compte est désactivé", "account_disabled", reason=reason)
    return "Le compte est désactivé et l'agent en est informé."


def reactivate(agent: Agent, reason: str | None) -> str:
    """« Réactiver »: the agent may log in again."""
    agent.disabled_at = None
    events.record(Event.ACCOUNT_REACTIVATED, agent, recorded(reason), staff=g.staff)
    mail_agent(
        agent, "votre compte est réactivé", "account_reactivated", reason=reason, login_url=external_url("login.login")
    )
    return "Le compte est réactivé et l'agent en est informé."


def passkey_count(agent: Agent) -> int:
    """How many passkeys the agent has."""
    return db.session.scalar(select(func.count(Passkey.id)).where(Passkey.agent_id == agent.id))


def delete_passkeys(agent: Agent, reason: str | None) -> str:
    """« Supprimer les clés d'accès » (a lost phone): every passkey of the agent, and their sessions ended."""
    count = ceremonies.delete_all(agent)
    revoke_sessions(agent)
    events.record(Event.AGENT_PASSKEYS_DELETED, agent, recorded(reason), staff=g.staff)
    mail_agent(
        agent,
        "vos clés d'accès sont supprimées",
        "agent_passkeys_deleted",
        reason=reason,
        count=count,
        login_url=external_url("login.login"),
    )
    what = (
        "La clé d'accès de l'agent est supprimée"
        if count == 1
        else f"Les {count} clés d'accès de l'agent sont supprimées"
    )
    return f"{what} et l'agent en est informé."


@dataclass(frozen=True)
class Action:
    """One of the agent page's actions: its button, its confirmation page and what « Confirmer » does."""

    slug: str  # its address: /delegation/agents/<id>/<slug>
    label: str  # the button, and the confirmation page's heading
    take: Callable[[Agent, str | None], str]  # does it; returns the message shown on the agent's page
    applies: Callable[[Agent], bool]  # whether the agent page offers it
    needs_reason: bool = False  # the reason is asked, recorded and mailed to the agent (always, for no delegation's)
    secondary: bool = False  # shown as a secondary button


SHOW_EMAIL = Action("adresse-mail", "Afficher l'adresse mail", reveal_email, lambda agent: bool(agent.email))
ACTIONS = {
    action.slug: action
    for action in (
        Action("debloquer", "Débloquer le compte", unlock, lambda agent: True),
        Action("renvoyer-numero", "Renvoyer le numéro C.G.O.S", resend_numero, lambda agent: bool(agent.email)),
        Action(
            "supprimer-cles-d-acces",
            "Supprimer les clés d'accès",
            delete_passkeys,
            lambda agent: passkey_count(agent) > 0,
            secondary=True,
        ),
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


def confirmed_reason(agent: Agent, chosen: Action) -> tuple[str | None, object]:
    """The confirmation page (GET) or the reason « Confirmer » sent (POST): (reason, None) or (None, the answer).

    An agent of no delegation needs a reason for every action.
    """
    form = ReasonForm()
    needs_reason = chosen.needs_reason or unattached(agent)
    context = {
        "agent": agent,
        "form": form,
        "action": chosen,
        "needs_reason": needs_reason,
        "passkeys": passkey_count(agent),
    }
    if request.method == "GET":
        return None, render_page("backoffice/agent_action.html", **context)
    if not form.validate():
        abort(400)
    reason = (form.reason.data or "").strip() or None
    if needs_reason and not reason:
        form.reason.errors = [REASON_REQUIRED]
        return None, render_form_errors("backoffice/agent_action.html", **context)
    return reason, None


@bp.route("/agents/<id:agent_id>/adresse-mail", methods=["GET", "POST"])
@staff_required
def show_email(agent_id: int):
    """« Afficher »: the agent's page with the mail address in full; the look is recorded.

    For an agent of no delegation, a reason is asked first on a confirmation page.
    """
    agent = own_agent(agent_id)
    if not SHOW_EMAIL.applies(agent):
        return see_other(url_for(".agent_detail", agent_id=agent.id))
    reason = None
    if unattached(agent):
        reason, answer = confirmed_reason(agent, SHOW_EMAIL)
        if answer is not None:
            return answer
    elif request.method == "GET":
        return see_other(url_for(".agent_detail", agent_id=agent.id))
    SHOW_EMAIL.take(agent, reason)
    db.session.commit()
    return agent_page(agent, show_email=True)


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
    reason, answer = confirmed_reason(agent, chosen)
    if answer is not None:
        return answer
    done = chosen.take(agent, reason)
    db.session.commit()
    flash(done, "success")
    return see_other(url_for(".agent_detail", agent_id=agent.id))
