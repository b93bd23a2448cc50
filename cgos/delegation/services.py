"""Decisions of a delegation on the questionnaires it receives."""

from .. import events
from ..mail import external_url, send_mail
from ..auth import revoke_sessions
from ..models import DelegationStaff, MailChangeRequest, Registration, RequestStatus, utcnow


class AlreadyDecided(Exception):
    """A request gets one decision only."""


def _record_decision(request, staff: DelegationStaff, accepted: bool, reason: str | None) -> None:
    """Who decided what and when; a request gets one decision only."""
    if request.status != RequestStatus.PENDING:
        raise AlreadyDecided(request.id)
    request.status = RequestStatus.ACCEPTED if accepted else RequestStatus.REJECTED
    request.decided_at = utcnow()
    request.decided_by = staff
    request.decision_reason = reason


def decide(request: MailChangeRequest, staff: DelegationStaff, accepted: bool, reason: str | None) -> None:
    """Record the decision on a questionnaire, apply it, and mail the new address."""
    _record_decision(request, staff, accepted, reason)
    agent = request.agent
    if accepted:
        agent.email = request.new_email
        agent.pending_email = None
        send_mail(
            request.new_email,
            "Espace Agent C.G.O.S : votre adresse mail est mise à jour",
            "questionnaire_accepted",
            agent=agent,
            first_connection_url=external_url("first_connection.identify"),
        )
    else:
        send_mail(
            request.new_email,
            "Espace Agent C.G.O.S : votre demande de changement d'adresse mail",
            "questionnaire_rejected",
            agent=agent,
            delegation=request.delegation,
            reason=reason,
        )
    events.record("mail_change_" + request.status, agent, f"request {request.id} by staff {staff.id}")


def decide_registration(registration: Registration, staff: DelegationStaff, verified: bool, reason: str | None) -> None:
    """Mark a registration verified, or reject it: the account is disabled and the agent told."""
    _record_decision(registration, staff, verified, reason)
    agent = registration.agent
    if not verified and agent is not None:
        agent.disabled_at = utcnow()
        revoke_sessions(agent)
        send_mail(
            agent.email,
            "Espace Agent C.G.O.S : votre inscription",
            "registration_rejected",
            agent=agent,
            delegation=registration.delegation,
            reason=reason,
        )
    events.record("registration_" + registration.status, agent, f"registration {registration.id} by staff {staff.id}")
