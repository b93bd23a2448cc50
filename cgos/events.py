"""The security audit trail: one row per sensitive action, never a secret or a NIR.

Each row is also logged to `cgos.security` as one JSON object, as the request log
is (cgos/observability.py): text a person typed (a staff reason) is escaped there,
control and line-separator characters included, so it can never start a line of
its own; the row keeps it as typed.
"""

import enum
import json
import logging

from flask import g, request

from .extensions import db
from .models import Agent, DelegationStaff, SecurityEvent

log = logging.getLogger("cgos.security")


class Event(enum.StrEnum):
    """The kinds of audit row; the values are stored, so they never change."""

    LOGIN_SUCCESS = "login_success"
    LOGIN_FAILURE = "login_failure"
    # An attempt refused unchecked: the account's lockout or daily cap already full.
    LOGIN_REFUSED = "login_refused"
    LOCKOUT = "lockout"
    PIN_BLOCKED = "pin_blocked"
    LOGIN_ALERT = "login_alert"
    PASSWORD_CHANGE = "password_change"
    PROVISIONAL_PASSWORD_ISSUED = "provisional_password_issued"
    LOGOUT = "logout"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGED = "email_changed"
    IDENTIFICATION_FAILURE = "identification_failure"
    REGISTRATION_CONFIRMED = "registration_confirmed"
    NUMERO_RECOVERED = "numero_recovered"
    MAIL_CHANGE_ACCEPTED = "mail_change_accepted"
    MAIL_CHANGE_REJECTED = "mail_change_rejected"
    REGISTRATION_ACCEPTED = "registration_accepted"
    REGISTRATION_REJECTED = "registration_rejected"
    # Back office: what staff did to or saw of an agent's account (staff id on the row).
    AGENT_VIEWED = "agent_viewed"
    AGENT_EMAIL_SHOWN = "agent_email_shown"
    ACCOUNT_UNLOCKED = "account_unlocked"
    NUMERO_RESENT = "numero_resent"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_REACTIVATED = "account_reactivated"
    # « Supprimer les clés d'accès »: every passkey of the agent, deleted by their delegation.
    AGENT_PASSKEYS_DELETED = "agent_passkeys_deleted"
    REQUESTS_EXPORTED = "requests_exported"
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled"
    # Another browser enrolled the staff member first: this one was refused.
    SECOND_FACTOR_ENROLMENT_REFUSED = "second_factor_enrolment_refused"
    SECOND_FACTOR_FAILURE = "second_factor_failure"
    SECOND_FACTOR_RESET = "second_factor_reset"
    RECOVERY_CODE_USED = "recovery_code_used"
    PERSONAL_DATA_VIEWED = "personal_data_viewed"
    PAYSLIP_DOWNLOADED = "payslip_downloaded"
    # Passkeys (« clés d'accès », cgos/passkeys/): created, deleted, refused at sign-in, and
    # flagged as possibly copied (its signature counter went backwards).
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_DELETED = "passkey_deleted"
    PASSKEY_FAILURE = "passkey_failure"
    PASSKEY_CLONED = "passkey_cloned"


def record(
    kind: Event, agent: Agent | None = None, detail: str | None = None, staff: DelegationStaff | None = None
) -> None:
    """Add an audit row to the current transaction and log it (agent and staff ids only)."""
    address = request.remote_addr if request else None
    db.session.add(
        SecurityEvent(
            kind=kind,
            agent_id=agent.id if agent else None,
            staff_id=staff.id if staff else None,
            ip_address=address,
            detail=detail,
        )
    )
    log.info(
        json.dumps(
            {
                "event": str(kind),
                "agent": agent.id if agent else None,
                "staff": staff.id if staff else None,
                "detail": detail,
            }
        )
    )


def audit(kind: Event, agent: Agent | None = None, detail: str | None = None) -> None:
    """Record what the logged-in staff member did or saw (the caller commits)."""
    record(kind, agent, detail, staff=g.staff)
