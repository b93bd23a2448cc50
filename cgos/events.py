"""The security audit trail: one row per sensitive action, never a secret or a NIR.

A row says what happened (`kind`), to whom (agent, staff), about what (the id of a
questionnaire, a registration or a passkey, each in its own column), why or by which way
(`reason`, a `Reason`), and in `detail` only text no code knows in advance: the reason a
staff member typed, a command's note, the alert's configured limit.

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
from .models import Agent, DelegationStaff, MailChangeRequest, Passkey, Registration, SecurityEvent

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
    # Creating a passkey refused (before migration 0013: `passkey_failure`, detail « creation: … »).
    PASSKEY_CREATION_FAILURE = "passkey_creation_failure"


class Reason(enum.StrEnum):
    """Why an attempt failed or was refused, or by which way an action came; stored, so the values never change.

    The values are those the rows held as text before migration 0013, so the credential
    rules' own enums (`Outcome`, `Refusal`) convert by value.
    """

    # How a sign-in went or where a secret was typed (login_success, login_failure, logout).
    PERSONAL = "personal"
    PROVISIONAL = "provisional"
    PASSKEY = "passkey"
    STAFF = "staff"
    CHANGE_PIN = "change_pin"
    EMAIL_CHANGE = "email_change"
    CHARTER_REFUSED = "charter_refused"
    # A failed login (login_failure): the check's `Outcome`, or what stood before it.
    UNKNOWN_NUMERO = "unknown_numero"
    BLOCKED = "blocked"
    FAILED = "failed"
    PROVISIONAL_EXPIRED = "provisional_expired"
    LEGACY = "legacy"
    DISABLED = "disabled"
    # An attempt refused unchecked (login_refused): the attempts rule's `Refusal`; capped
    # also marks a staff code typed past the day's cap (second_factor_failure).
    ADDRESS = "address"
    BUSY = "busy"
    LOCKED = "locked"
    CAPPED = "capped"
    # Which form an identity did not match (identification_failure).
    QUESTIONNAIRE = "questionnaire"
    FIRST_CONNECTION = "first_connection"
    FORGOTTEN_PASSWORD = "forgotten_password"
    # A wrong first code while enrolling an authenticator (second_factor_failure).
    ENROLMENT = "enrolment"
    # A passkey ceremony's refusal (passkey_failure, passkey_creation_failure; see passkeys/ceremonies.py).
    CHALLENGE = "challenge"
    OWNER = "owner"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    OTHER_OWNER = "other_owner"
    USER_HANDLE = "user_handle"
    CLONED = "cloned"
    COUNTER = "counter"


# What a row can be about: each kind of subject has its own id column.
Subject = MailChangeRequest | Registration | Passkey
SUBJECT_COLUMNS = {
    MailChangeRequest: "mail_change_request_id",
    Registration: "registration_id",
    Passkey: "passkey_id",
}


def record(
    kind: Event,
    agent: Agent | None = None,
    detail: str | None = None,
    staff: DelegationStaff | None = None,
    *,
    reason: Reason | None = None,
    subject: Subject | None = None,
) -> None:
    """Add an audit row to the current transaction and log it (ids and codes, and `detail` escaped)."""
    address = request.remote_addr if request else None
    subject_id = {SUBJECT_COLUMNS[type(subject)]: subject.id} if subject is not None else {}
    db.session.add(
        SecurityEvent(
            kind=kind,
            agent_id=agent.id if agent else None,
            staff_id=staff.id if staff else None,
            ip_address=address,
            reason=reason,
            detail=detail,
            **subject_id,
        )
    )
    line = {"event": str(kind), "agent": agent.id if agent else None, "staff": staff.id if staff else None}
    if reason is not None:
        line["reason"] = str(reason)
    line.update(subject_id)
    if detail is not None:
        line["detail"] = detail
    log.info(json.dumps(line))


def audit(kind: Event, agent: Agent | None = None, *, subject: Subject) -> None:
    """Record what the logged-in staff member saw of a questionnaire or registration (the caller commits)."""
    record(kind, agent, staff=g.staff, subject=subject)
