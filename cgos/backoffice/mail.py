"""The mails to a staff member about their own account: a wrong code after their password, a passkey added or deleted."""

from ..mail import external_url, send_mail
from ..models import DelegationStaff, utcnow


def send_code_failure_notice(staff: DelegationStaff) -> None:
    """Queue the notice: someone who knows the password typed a wrong code."""
    send_mail(
        staff.email,
        "Espace délégation C.G.O.S : code de vérification erroné",
        "second_factor_failure",
        staff=staff,
        at=utcnow(),
    )


def send_passkey_notice(staff: DelegationStaff, passkey_name: str, added: bool) -> None:
    """Queue the notice of a passkey added to (`added`) or deleted from a staff account."""
    send_mail(
        staff.email,
        "Espace délégation C.G.O.S : " + ("nouvelle clé d'accès" if added else "clé d'accès supprimée"),
        "staff_passkey_added" if added else "staff_passkey_deleted",
        staff=staff,
        passkey_name=passkey_name,
        at=utcnow(),
        passkeys_url=external_url("backoffice.staff_passkeys"),
    )
