"""Decisions of a delegation on the questionnaires it receives."""

from .. import events
from ..account.services import external_url
from ..mail import send_mail
from ..models import DelegationStaff, MailChangeRequest, RequestStatus, utcnow


class AlreadyDecided(Exception):
    """A request gets one decision only."""


def decide(request: MailChangeRequest, staff: DelegationStaff, accepted: bool, reason: str | None) -> None:
    """Record who decided what and when, apply it, and mail the new address."""
    if request.status != RequestStatus.PENDING:
        raise AlreadyDecided(request.id)
    request.status = RequestStatus.ACCEPTED if accepted else RequestStatus.REJECTED
    request.decided_at = utcnow()
    request.decided_by = staff
    request.decision_reason = reason
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
