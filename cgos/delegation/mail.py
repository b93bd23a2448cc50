"""The mail that tells a staff member a second-factor code failed after their right password."""

from ..mail import send_mail
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
