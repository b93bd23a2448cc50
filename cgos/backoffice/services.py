"""Decisions of a delegation on what it receives: mail-change questionnaires and registrations."""

from sqlalchemy import update

from .. import events
from ..auth import revoke_sessions
from ..events import Event
from ..extensions import db
from ..mail import external_url, send_mail
from ..models import DelegationStaff, MailChangeRequest, Registration, RequestStatus, utcnow


class AlreadyDecided(Exception):
    """A request gets one decision only."""


def _record_decision(
    item: MailChangeRequest | Registration, staff: DelegationStaff, accepted: bool, reason: str | None
) -> None:
    """Who decided what and when, written only if the request is still pending in the database.

    The check and the write are one conditional UPDATE: of two staff deciding at
    once, the second finds no pending row and gets AlreadyDecided.
    """
    model = type(item)
    result = db.session.execute(
        update(model)
        .where(model.id == item.id, model.status == RequestStatus.PENDING)
        .values(
            status=RequestStatus.ACCEPTED if accepted else RequestStatus.REJECTED,
            decided_at=utcnow(),
            decided_by_id=staff.id,
            decision_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyDecided(item.id)
    db.session.refresh(item)


def decide_questionnaire(
    questionnaire: MailChangeRequest, staff: DelegationStaff, accepted: bool, reason: str | None
) -> None:
    """Record the decision on a questionnaire, apply it, and mail the new address (and the old one on acceptance).

    The mails to the typed address greet the name typed in the questionnaire,
    never the agent's name on file.
    """
    _record_decision(questionnaire, staff, accepted, reason)
    agent = questionnaire.agent
    if accepted:
        old_email = agent.email
        agent.email = questionnaire.new_email
        agent.pending_email = None
        revoke_sessions(agent)
        send_mail(
            questionnaire.new_email,
            "Espace Agent C.G.O.S : votre adresse mail est mise à jour",
            "questionnaire_accepted",
            questionnaire=questionnaire,
            first_connection_url=external_url("first_connection.identify"),
        )
        if old_email and old_email.lower() != questionnaire.new_email.lower():
            send_mail(
                old_email,
                "Espace Agent C.G.O.S : votre adresse mail a été modifiée",
                "questionnaire_accepted_old_address",
                agent=agent,
                new_email=questionnaire.new_email,
                delegation=questionnaire.delegation,
            )
    else:
        send_mail(
            questionnaire.new_email,
            "Espace Agent C.G.O.S : votre demande de changement d'adresse mail",
            "questionnaire_rejected",
            questionnaire=questionnaire,
            delegation=questionnaire.delegation,
            reason=reason,
        )
    kind = Event.MAIL_CHANGE_ACCEPTED if accepted else Event.MAIL_CHANGE_REJECTED
    events.record(kind, agent, staff=staff, subject=questionnaire)


def decide_registration(registration: Registration, staff: DelegationStaff, verified: bool, reason: str | None) -> None:
    """Mark a registration verified (the agent is mailed a link to ask for a password), or reject it.

    On rejection the account is disabled and the agent told.
    """
    _record_decision(registration, staff, verified, reason)
    agent = registration.agent
    if verified and agent is not None and agent.email:
        send_mail(
            agent.email,
            "Espace Agent C.G.O.S : votre inscription est vérifiée",
            "registration_verified",
            agent=agent,
            delegation=registration.delegation,
            first_connection_url=external_url("first_connection.identify", numero=agent.numero),
        )
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
    kind = Event.REGISTRATION_ACCEPTED if verified else Event.REGISTRATION_REJECTED
    events.record(kind, agent, staff=staff, subject=registration)
