"""« Historique »: what a staff member did and saw, shown to them and to their delegation's lead only.

What any staff member did to an agent of no delegation (no establishment on file) is also
shown to every delegation's lead: no single delegation answers for those agents.
"""

from flask import Blueprint, abort, g

from ..auth import staff_required
from ..events import Event
from ..extensions import db
from ..htmx import render_page
from ..models import Agent, Delegation, DelegationStaff, SecurityEvent

bp = Blueprint("staff_history", __name__, url_prefix="/delegation/personnel")

# The newest rows shown; older ones stay in the audit trail.
HISTORY_LIMIT = 500

ACTIONS = {
    Event.LOGIN_SUCCESS: "Connexion",
    Event.LOGIN_FAILURE: "Mot de passe refusé",
    Event.LOGOUT: "Déconnexion",
    Event.SECOND_FACTOR_ENROLLED: "Double authentification activée",
    Event.SECOND_FACTOR_FAILURE: "Code de vérification refusé",
    Event.SECOND_FACTOR_RESET: "Double authentification réinitialisée",
    Event.RECOVERY_CODE_USED: "Code de secours utilisé",
    Event.PERSONAL_DATA_VIEWED: "Consultation de données personnelles",
    Event.PAYSLIP_DOWNLOADED: "Téléchargement d'un bulletin de paie",
    Event.MAIL_CHANGE_ACCEPTED: "Demande prise en compte",
    Event.MAIL_CHANGE_REJECTED: "Demande non prise en compte",
    Event.REGISTRATION_ACCEPTED: "Inscription vérifiée",
    Event.REGISTRATION_REJECTED: "Inscription rejetée",
    Event.LOGIN_REFUSED: "Connexion refusée sans vérification (trop de tentatives)",
    Event.SECOND_FACTOR_ENROLMENT_REFUSED: "Double authentification déjà activée depuis un autre navigateur : activation refusée",
    Event.AGENT_VIEWED: "Consultation de la fiche d'un agent",
    Event.AGENT_EMAIL_SHOWN: "Affichage de l'adresse mail d'un agent",
    Event.ACCOUNT_UNLOCKED: "Compte débloqué",
    Event.NUMERO_RESENT: "Numéro C.G.O.S renvoyé",
    Event.ACCOUNT_DISABLED: "Compte désactivé",
    Event.ACCOUNT_REACTIVATED: "Compte réactivé",
    Event.AGENT_PASSKEYS_DELETED: "Clés d'accès de l'agent supprimées",
    Event.REQUESTS_EXPORTED: "Export des demandes en attente",
    Event.PASSKEY_ADDED: "Clé d'accès créée",
    Event.PASSKEY_DELETED: "Clé d'accès supprimée",
    Event.PASSKEY_FAILURE: "Clé d'accès refusée",
    Event.PASSKEY_CREATION_FAILURE: "Clé d'accès refusée",
    Event.PASSKEY_CLONED: "Clé d'accès bloquée (copie possible)",
}
# What staff do to an agent's account from the agent's page; their detail is the reason typed, if any.
AGENT_ACTIONS = (
    Event.AGENT_VIEWED,
    Event.AGENT_EMAIL_SHOWN,
    Event.ACCOUNT_UNLOCKED,
    Event.NUMERO_RESENT,
    Event.ACCOUNT_DISABLED,
    Event.ACCOUNT_REACTIVATED,
    Event.AGENT_PASSKEYS_DELETED,
)


def describe(event: SecurityEvent) -> tuple[str, str]:
    """The action and what it was about, in French: « Demande n° 12 », « Inscription n° 5 », « Motif : … »."""
    action = ACTIONS.get(event.kind, event.kind.replace("_", " "))
    if event.kind in AGENT_ACTIONS:
        return action, f"Motif : {event.detail}" if event.detail else ""
    if event.mail_change_request_id is not None:
        return action, f"Demande n° {event.mail_change_request_id}"
    if event.registration_id is not None:
        return action, f"Inscription n° {event.registration_id}"
    return action, ""


def visible_member(staff_id: int) -> DelegationStaff:
    """A staff member whose history the logged-in staff may read: themselves, or (lead) their delegation's."""
    member = db.session.get(DelegationStaff, staff_id)
    if member is None:
        abort(404)
    if member.id != g.staff.id and not (g.staff.lead and member.delegation_id == g.staff.delegation_id):
        abort(404)
    return member


@bp.get("")
@staff_required
def members():
    """The delegation's staff, each with a link to their history (the lead's page)."""
    if not g.staff.lead:
        abort(404)
    staff = db.session.scalars(
        db.select(DelegationStaff)
        .where(DelegationStaff.delegation_id == g.staff.delegation_id)
        .order_by(DelegationStaff.email)
    )
    return render_page("backoffice/staff_members.html", members=list(staff))


@bp.get("/<id:staff_id>/historique")
@staff_required
def history(staff_id: int):
    """Who did what, when: one staff member's rows of the audit trail, newest first."""
    member = visible_member(staff_id)
    rows = db.session.execute(
        db.select(SecurityEvent, Agent)
        .outerjoin(Agent, Agent.id == SecurityEvent.agent_id)
        .where(SecurityEvent.staff_id == member.id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(HISTORY_LIMIT)
    )
    entries = [(event, agent, *describe(event)) for event, agent in rows]
    return render_page("backoffice/history.html", member=member, entries=entries, limit=HISTORY_LIMIT)


@bp.get("/agents-sans-etablissement")
@staff_required
def unattached_agents():
    """Every delegation's actions on agents with no establishment on file, newest first (leads only)."""
    if not g.staff.lead:
        abort(404)
    rows = db.session.execute(
        db.select(SecurityEvent, Agent, DelegationStaff, Delegation)
        .join(Agent, Agent.id == SecurityEvent.agent_id)
        .join(DelegationStaff, DelegationStaff.id == SecurityEvent.staff_id)
        .join(Delegation, Delegation.id == DelegationStaff.delegation_id)
        .where(Agent.establishment_id.is_(None), SecurityEvent.kind.in_(AGENT_ACTIONS))
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(HISTORY_LIMIT)
    )
    entries = [(event, agent, member, delegation, *describe(event)) for event, agent, member, delegation in rows]
    return render_page("backoffice/unattached_history.html", entries=entries, limit=HISTORY_LIMIT)
