"""Scheduled work: provisional-password reminders, the payslip purge and expired data."""

from datetime import UTC, datetime, timedelta

from flask import current_app

from . import flow_state, pins, uploads
from .extensions import db
from .links import LINK_LIFETIME as REGISTRATION_LINK_LIFETIME
from .mail import external_url, send_mail
from .models import Agent, FlowState, MailChangeRequest, Registration, RequestStatus

# An unconfirmed registration is deleted a day after its link expired: a link followed just
# in time, in a request still running, is never pulled from under it.
UNCONFIRMED_MARGIN = timedelta(hours=24)

REMINDER_BATCH_SIZE = 1000


def reminder_due(agent: Agent, now) -> int | None:
    """The reminder day to mail now for this agent's provisional password, if any."""
    if agent.provisional_issued_at is None or pins.is_provisional_pin_expired(agent.provisional_issued_at, now):
        return None
    age = (now - agent.provisional_issued_at).days
    due = [day for day in current_app.config["PROVISIONAL_REMINDER_DAYS"] if day <= age]
    if not due or max(due) <= (agent.provisional_reminder_day or 0):
        return None
    return max(due)


def send_reminders(now) -> int:
    """Mail every agent whose provisional password is still unused at a reminder day at `now`; how many."""
    first_day = min(current_app.config["PROVISIONAL_REMINDER_DAYS"])
    # Only passwords old enough for a reminder and not expired, a batch at a time: memory stays
    # flat however many agents hold a provisional password.
    candidates = (
        db.select(Agent)
        .where(
            Agent.provisional_pin_hash.is_not(None),
            Agent.email.is_not(None),
            Agent.provisional_issued_at <= now - timedelta(days=first_day),
            Agent.provisional_issued_at > now - pins.PROVISIONAL_PIN_LIFETIME,
        )
        .order_by(Agent.id)
        .limit(REMINDER_BATCH_SIZE)
    )
    sent = last_id = 0
    while agents := db.session.scalars(candidates.where(Agent.id > last_id)).all():
        last_id = agents[-1].id
        for agent in agents:
            day = reminder_due(agent, now)
            if day is None:
                continue
            agent.provisional_reminder_day = day
            send_mail(
                agent.email,
                "Espace Agent C.G.O.S : personnalisez votre mot de passe provisoire",
                "provisional_reminder",
                agent=agent,
                expires_at=pins.provisional_pin_expires_at(agent.provisional_issued_at),
                login_url=external_url("login.login"),
            )
            sent += 1
        db.session.commit()
    return sent


def purge_payslips(now) -> int:
    """Delete payslips decided more than PAYSLIP_RETENTION_DAYS before `now`; how many."""
    limit = now - timedelta(days=current_app.config["PAYSLIP_RETENTION_DAYS"])
    purged = 0
    for model in (MailChangeRequest, Registration):
        items = db.session.scalars(
            db.select(model).where(
                model.status != RequestStatus.PENDING,
                model.decided_at < limit,
                model.payslip_path.is_not(None),
            )
        )
        for item in items:
            uploads.delete(item.payslip_path)
            item.payslip_path = None
            item.payslip_deleted_at = now
            purged += 1
    db.session.commit()
    return purged


def purge_unconfirmed_registrations(now) -> int:
    """Delete registrations whose link expired unfollowed, with their payslips; how many."""
    limit = now - REGISTRATION_LINK_LIFETIME - UNCONFIRMED_MARGIN
    registrations = db.session.scalars(
        db.select(Registration).where(
            Registration.status == RequestStatus.PENDING,
            Registration.confirmed_at.is_(None),
            Registration.created_at < limit,
        )
    ).all()
    for registration in registrations:
        db.session.delete(registration)
    db.session.commit()
    # Files go once their rows are gone: a failed commit leaves no row without its file.
    for registration in registrations:
        if registration.payslip_path:
            uploads.delete(registration.payslip_path)
    return len(registrations)


# A kept payslip is written just before the flow state that names it: never purged that young.
KEPT_GRACE = timedelta(minutes=10)


def purge_kept_payslips(now) -> int:
    """Delete the payslips kept for forms abandoned (no live flow state names them); how many."""
    live = db.session.scalars(db.select(FlowState.data).where(FlowState.expires_at > now))
    named = {
        data["payslip"].get("path") for data in live if isinstance(data, dict) and isinstance(data.get("payslip"), dict)
    }
    purged = 0
    for relative in uploads.kept_paths():
        path = uploads.absolute(relative)
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if relative not in named and now - written > KEPT_GRACE:
            uploads.delete(relative)
            purged += 1
    return purged


def purge(now) -> dict[str, int]:
    """Everything `uploads purge` removes at `now`: decided payslips, unconfirmed registrations, expired flow states."""
    return {
        "bulletin(s) supprimé(s)": purge_payslips(now),
        "inscription(s) non confirmée(s) supprimée(s)": purge_unconfirmed_registrations(now),
        "état(s) de parcours expiré(s) supprimé(s)": flow_state.purge_expired(now),
        "bulletin(s) de formulaire abandonné supprimé(s)": purge_kept_payslips(now),
    }
