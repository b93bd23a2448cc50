"""The audit trail's kinds: one enum, whose values old rows already hold."""

from cgos.events import Event


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
    }
