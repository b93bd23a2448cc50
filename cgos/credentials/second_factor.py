"""A staff member's second factor: the sealed TOTP secret, codes good once, recovery codes.

Recovery codes are stored as an HMAC-SHA256 keyed by the pepper, not bcrypt:
bcrypt is there to slow the guessing of a low-entropy secret (a six-digit
PIN), whereas each recovery code carries 80 random bits, out of reach of any
offline search even with the pepper; and a keyed digest is found by one
indexed look-up instead of ten bcrypt runs (2.4 s) at every use.

Accepting a code and spending a recovery code are each one conditional
UPDATE, so two simultaneous requests carrying the same code cannot both pass.
"""

from datetime import datetime

from .. import passwords, sealing
from ..extensions import db
from ..models import DelegationStaff, StaffRecoveryCode
from . import limits, totp
from .hashing import pepper

PURPOSE = b"cgos staff totp secrets"


def seal(secret: str) -> str:
    """The TOTP secret as stored."""
    return sealing.cipher(PURPOSE).encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    """The TOTP secret back from storage."""
    return sealing.cipher(PURPOSE).decrypt(sealed.encode()).decode()


def recovery_digest(code: str) -> str:
    """The stored form of a recovery code."""
    return passwords.keyed_digest(totp.normalise_recovery_code(code), pepper(), "staff recovery code")


def is_enrolled(staff: DelegationStaff) -> bool:
    """Whether the staff member has a second factor (else they enrol at the next login)."""
    return staff.totp_secret_sealed is not None


def enrol(staff: DelegationStaff, secret: str, step: int, now: datetime) -> list[str]:
    """Keep a confirmed secret and give ten new recovery codes (shown once); the caller commits."""
    staff.totp_secret_sealed = seal(secret)
    staff.totp_enrolled_at = now
    staff.totp_last_step = step
    db.session.execute(db.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    codes = totp.new_recovery_codes()
    db.session.add_all(StaffRecoveryCode(staff_id=staff.id, digest=recovery_digest(code)) for code in codes)
    return codes


def forget(staff: DelegationStaff) -> None:
    """Forget the second factor, its recovery codes and the day's wrong codes (`staff reset-2fa`);
    the caller commits."""
    limits.SECOND_FACTOR_DAILY.clear(staff.email)
    staff.totp_secret_sealed = None
    staff.totp_enrolled_at = None
    staff.totp_last_step = None
    db.session.execute(db.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))


def use_totp_code(staff: DelegationStaff, code: str, now: datetime) -> bool:
    """Accept a code of the staff's authenticator once: its step is recorded as the last one used."""
    step = totp.accepted_step(unseal(staff.totp_secret_sealed), code, now, staff.totp_last_step)
    if step is None:
        return False
    claimed = db.session.execute(
        db.update(DelegationStaff)
        .where(
            DelegationStaff.id == staff.id,
            db.or_(DelegationStaff.totp_last_step.is_(None), DelegationStaff.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def use_recovery_code(staff: DelegationStaff, code: str, now: datetime) -> bool:
    """Spend one of the staff's recovery codes: true once per code."""
    if len(totp.normalise_recovery_code(code)) != totp.RECOVERY_LENGTH:
        return False
    spent = db.session.execute(
        db.update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.staff_id == staff.id,
            StaffRecoveryCode.digest == recovery_digest(code),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1


def recovery_codes_left(staff: DelegationStaff) -> int:
    """How many recovery codes the staff member has not used."""
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None))
    )
