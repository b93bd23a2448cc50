"""A staff member's second factor: the sealed TOTP secret, codes good once, recovery codes.

Recovery codes are stored as an HMAC-SHA256 keyed by the pepper, not bcrypt:
bcrypt is there to slow the guessing of a low-entropy secret (a six-digit
PIN), whereas each recovery code carries 80 random bits, out of reach of any
offline search even with the pepper; and a keyed digest is found by one
indexed look-up instead of ten bcrypt runs (2.4 s) at every use.

Enrolling, accepting a code and spending a recovery code are each one
conditional UPDATE, so two simultaneous requests carrying the same code cannot
both pass, and of two browsers enrolling at once only the first phone is kept.

The secrets are sealed under TOTP_SECRET_KEYS (see cgos/sealing.py); one that
no listed key can read is a wrong code and an error in the log, never a 500:
the staff member can still use a recovery code.
"""

import logging
from datetime import datetime
from typing import NoReturn

from cryptography.fernet import InvalidToken
from flask import abort, flash, redirect, url_for

from .. import events, passwords, sealing
from ..credentials import limits
from ..credentials.hashing import pepper
from ..events import Event
from ..extensions import db
from ..models import DelegationStaff, StaffRecoveryCode
from . import totp

log = logging.getLogger(__name__)
ENROLMENT_TAKEN = (
    "La double authentification de ce compte vient d'être activée depuis un autre navigateur : "
    "celle de cette page n'est pas enregistrée. Saisissez le code de l'application activée en premier. "
    "Si ce n'est pas vous, prévenez votre responsable : quelqu'un d'autre connaît votre mot de passe."
)


def seal(secret: str) -> str:
    """The TOTP secret as stored, sealed with the newest key of TOTP_SECRET_KEYS."""
    return sealing.cipher(sealing.TOTP_PURPOSE).encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    """The TOTP secret back from storage, read with any key of TOTP_SECRET_KEYS (InvalidToken if none can)."""
    return sealing.cipher(sealing.TOTP_PURPOSE).decrypt(sealed.encode()).decode()


def recovery_digest(code: str) -> str:
    """The stored form of a recovery code."""
    return passwords.keyed_digest(totp.normalise_recovery_code(code), pepper(), "staff recovery code")


def is_enrolled(staff: DelegationStaff) -> bool:
    """Whether the staff member has a second factor (else they enrol at the next login)."""
    return staff.totp_secret_sealed is not None


def enrol(staff: DelegationStaff, secret: str, step: int, now: datetime) -> list[str]:
    """Keep a confirmed secret and give ten new recovery codes (shown once); the caller commits.

    One conditional UPDATE, only while the staff member has no secret: of two browsers
    enrolling at once, the second is refused (`refuse_enrolment`) and the first phone stays.
    """
    claimed = db.session.execute(
        db.update(DelegationStaff)
        .where(DelegationStaff.id == staff.id, DelegationStaff.totp_secret_sealed.is_(None))
        .values(totp_secret_sealed=seal(secret), totp_enrolled_at=now, totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        refuse_enrolment(staff)
    db.session.expire(staff, ["totp_secret_sealed", "totp_enrolled_at", "totp_last_step"])
    db.session.execute(db.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    codes = totp.new_recovery_codes()
    db.session.add_all(StaffRecoveryCode(staff_id=staff.id, digest=recovery_digest(code)) for code in codes)
    return codes


def refuse_enrolment(staff: DelegationStaff) -> NoReturn:
    """Another browser enrolled this staff member first: recorded, and this browser sent to the code
    step of the phone enrolled, with why (someone else may hold the password)."""
    db.session.rollback()
    events.record(Event.SECOND_FACTOR_ENROLMENT_REFUSED, None, None, staff=staff)
    db.session.commit()
    flash(ENROLMENT_TAKEN, "lockout")
    abort(redirect(url_for("backoffice.verify_code"), code=303))


def forget(staff: DelegationStaff) -> None:
    """Forget the second factor, its recovery codes and the day's wrong codes (`staff reset-2fa`);
    the caller commits."""
    limits.SECOND_FACTOR_DAILY.clear(staff.email)
    staff.totp_secret_sealed = None
    staff.totp_enrolled_at = None
    staff.totp_last_step = None
    db.session.execute(db.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))


def use_totp_code(staff: DelegationStaff, code: str, now: datetime) -> bool:
    """Accept a code of the staff's authenticator once: its step is recorded as the last one used.

    A secret no key can read (a key dropped before `keys rotate`) makes every code wrong.
    """
    try:
        secret = unseal(staff.totp_secret_sealed)
    except InvalidToken:
        log.error("TOTP secret unreadable for staff %s: run keys rotate (listing its key) or staff reset-2fa", staff.id)
        return False
    step = totp.accepted_step(secret, code, now, staff.totp_last_step)
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
