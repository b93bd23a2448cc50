"""The audit trail's kinds and reasons: enums whose values old rows already hold."""

import pytest

from cgos.credentials.attempts import Refusal
from cgos.credentials.checking import Outcome
from cgos.events import Event, Reason


def test_event_kinds_keep_the_values_stored_in_existing_rows():
    assert {event.name: event.value for event in Event} == {
        "LOGIN_SUCCESS": "login_success",
        "LOGIN_FAILURE": "login_failure",
        "LOGIN_REFUSED": "login_refused",
        "LOCKOUT": "lockout",
        "PIN_BLOCKED": "pin_blocked",
        "LOGIN_ALERT": "login_alert",
        "PASSWORD_CHANGE": "password_change",
        "PROVISIONAL_PASSWORD_ISSUED": "provisional_password_issued",
        "LOGOUT": "logout",
        "EMAIL_CHANGE_REQUESTED": "email_change_requested",
        "EMAIL_CHANGED": "email_changed",
        "IDENTIFICATION_FAILURE": "identification_failure",
        "REGISTRATION_CONFIRMED": "registration_confirmed",
        "NUMERO_RECOVERED": "numero_recovered",
        "MAIL_CHANGE_ACCEPTED": "mail_change_accepted",
        "MAIL_CHANGE_REJECTED": "mail_change_rejected",
        "REGISTRATION_ACCEPTED": "registration_accepted",
        "REGISTRATION_REJECTED": "registration_rejected",
        "AGENT_VIEWED": "agent_viewed",
        "AGENT_EMAIL_SHOWN": "agent_email_shown",
        "ACCOUNT_UNLOCKED": "account_unlocked",
        "NUMERO_RESENT": "numero_resent",
        "ACCOUNT_DISABLED": "account_disabled",
        "ACCOUNT_REACTIVATED": "account_reactivated",
        "AGENT_PASSKEYS_DELETED": "agent_passkeys_deleted",
        "REQUESTS_EXPORTED": "requests_exported",
        "SECOND_FACTOR_ENROLLED": "second_factor_enrolled",
        "SECOND_FACTOR_ENROLMENT_REFUSED": "second_factor_enrolment_refused",
        "SECOND_FACTOR_FAILURE": "second_factor_failure",
        "SECOND_FACTOR_RESET": "second_factor_reset",
        "RECOVERY_CODE_USED": "recovery_code_used",
        "PERSONAL_DATA_VIEWED": "personal_data_viewed",
        "PAYSLIP_DOWNLOADED": "payslip_downloaded",
        "PASSKEY_ADDED": "passkey_added",
        "PASSKEY_DELETED": "passkey_deleted",
        "PASSKEY_FAILURE": "passkey_failure",
        "PASSKEY_CLONED": "passkey_cloned",
        "PASSKEY_CREATION_FAILURE": "passkey_creation_failure",
    }


def test_reasons_keep_the_values_stored_in_existing_rows():
    """The strings the rows held before migration 0013, which copies them: none may change."""
    assert {reason.name: reason.value for reason in Reason} == {
        "PERSONAL": "personal",
        "PROVISIONAL": "provisional",
        "PASSKEY": "passkey",
        "STAFF": "staff",
        "CHANGE_PIN": "change_pin",
        "EMAIL_CHANGE": "email_change",
        "CHARTER_REFUSED": "charter_refused",
        "UNKNOWN_NUMERO": "unknown_numero",
        "BLOCKED": "blocked",
        "FAILED": "failed",
        "PROVISIONAL_EXPIRED": "provisional_expired",
        "LEGACY": "legacy",
        "DISABLED": "disabled",
        "ADDRESS": "address",
        "BUSY": "busy",
        "LOCKED": "locked",
        "CAPPED": "capped",
        "QUESTIONNAIRE": "questionnaire",
        "FIRST_CONNECTION": "first_connection",
        "FORGOTTEN_PASSWORD": "forgotten_password",
        "ENROLMENT": "enrolment",
        "CHALLENGE": "challenge",
        "OWNER": "owner",
        "INVALID": "invalid",
        "DUPLICATE": "duplicate",
        "UNKNOWN_CREDENTIAL": "unknown_credential",
        "OTHER_OWNER": "other_owner",
        "USER_HANDLE": "user_handle",
        "CLONED": "cloned",
        "COUNTER": "counter",
    }


@pytest.mark.parametrize("value", [*(o.value for o in Outcome), *(r.value for r in Refusal)])
def test_every_login_outcome_and_refusal_is_a_reason(value):
    """login/routes.py and account/routes.py record `Reason(outcome.value)`: a new outcome needs its reason."""
    assert Reason(value) == value
