"""The stored secrets the portal must read back, against their keys: which no key reads, and `keys rotate`.

Two kinds: the staff's TOTP secrets (TOTP_SECRET_KEYS) and the secrets of the
mails still queued (MAIL_SECRET_KEY); a sent mail keeps none. Re-sealing
takes each with any listed key and seals it with the newest, one conditional
UPDATE each, so a secret reset, enrolled or sent meanwhile is never
overwritten. Only ids are ever reported, never a secret.
"""

import logging

from cryptography.fernet import InvalidToken, MultiFernet

from . import sealing
from .extensions import db
from .models import DelegationStaff, MailAttachment, OutboundMail

log = logging.getLogger(__name__)


def _totp_secrets() -> list[tuple[int, str]]:
    """(staff id, sealed TOTP secret) of every enrolled staff member."""
    query = db.select(DelegationStaff.id, DelegationStaff.totp_secret_sealed)
    query = query.where(DelegationStaff.totp_secret_sealed.is_not(None)).order_by(DelegationStaff.id)
    return list(db.session.execute(query))


def _mail_secrets() -> list[tuple[int, str]]:
    """(mail id, sealed secrets) of every queued mail that carries some."""
    query = db.select(OutboundMail.id, OutboundMail.sealed_secrets)
    query = query.where(OutboundMail.sent_at.is_(None), OutboundMail.sealed_secrets.is_not(None))
    return list(db.session.execute(query.order_by(OutboundMail.id)))


def _unreadable(keys: MultiFernet, rows: list[tuple[int, str]]) -> list[int]:
    """The ids of the rows no key reads."""
    return [row_id for row_id, sealed in rows if not sealing.readable(keys, sealed)]


def unreadable_totp_secrets() -> list[int]:
    """The staff whose TOTP secret no key of TOTP_SECRET_KEYS reads."""
    return _unreadable(sealing.cipher(sealing.TOTP_PURPOSE), _totp_secrets())


def unreadable_mail_secrets() -> list[int]:
    """The queued mails whose secrets no key of MAIL_SECRET_KEY reads."""
    return _unreadable(sealing.cipher(sealing.MAIL_PURPOSE), _mail_secrets())


def _reseal(keys: MultiFernet, rows: list[tuple[int, str]], column, *conditions) -> sealing.Resealing:
    """Seal each row's value again with the newest key, where it has not changed; the unreadable are left alone."""
    outcome = sealing.Resealing()
    table = column.class_
    for row_id, sealed in rows:
        try:
            fresh = keys.rotate(sealed.encode()).decode()
        except InvalidToken:
            outcome.unreadable.append(row_id)
            continue
        statement = db.update(table).where(table.id == row_id, column == sealed, *conditions).values({column: fresh})
        outcome.resealed += db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount
    return outcome


def reseal_totp_secrets() -> sealing.Resealing:
    """Seal every staff TOTP secret again with the newest key of TOTP_SECRET_KEYS, and commit."""
    keys = sealing.cipher(sealing.TOTP_PURPOSE)
    outcome = _reseal(keys, _totp_secrets(), DelegationStaff.totp_secret_sealed)
    db.session.commit()
    return outcome


def reseal_mail_secrets(drop_unreadable: bool = False) -> sealing.Resealing:
    """Seal the secrets of every queued mail again with the newest key of MAIL_SECRET_KEY, and commit.

    With `drop_unreadable`, a queued mail whose secrets no key reads is deleted: its PIN or
    link is lost for good, and the agent asks again.
    """
    keys = sealing.cipher(sealing.MAIL_PURPOSE)
    rows = _mail_secrets()
    outcome = _reseal(keys, rows, OutboundMail.sealed_secrets, OutboundMail.sent_at.is_(None))
    if drop_unreadable and outcome.unreadable:
        lost = dict(rows)
        for mail_id in outcome.unreadable:
            outcome.dropped += _drop_mail(mail_id, lost[mail_id])
        outcome.unreadable = []
    db.session.commit()
    return outcome


def _drop_mail(mail_id: int, sealed: str) -> int:
    """Delete a queued mail whose secrets are lost (1), unless it was sent or changed meanwhile (0)."""
    unchanged = (OutboundMail.id == mail_id, OutboundMail.sent_at.is_(None), OutboundMail.sealed_secrets == sealed)
    mail = db.select(OutboundMail.id).where(*unchanged)
    db.session.execute(db.delete(MailAttachment).where(MailAttachment.mail_id.in_(mail)))
    dropped = db.session.execute(db.delete(OutboundMail).where(*unchanged)).rowcount
    if dropped:
        log.warning("mail %s dropped by keys rotate: no key reads its secrets", mail_id)
    return dropped


def rotate(drop_unreadable_mails: bool = False) -> tuple[list[str], list[str]]:
    """`keys rotate`: re-seal both kinds; what was done, and what no key reads (French lines, ids only)."""
    staff = reseal_totp_secrets()
    mails = reseal_mail_secrets(drop_unreadable_mails)
    newest = "rechiffré(s) avec la clé la plus récente"
    left = (
        f"{mails.dropped} illisible(s) abandonné(s)"
        if drop_unreadable_mails
        else f"{len(mails.unreadable)} illisible(s)"
    )
    done = [
        f"Secrets TOTP du personnel : {staff.resealed} {newest}, {len(staff.unreadable)} illisible(s).",
        f"Mails en attente : {mails.resealed} {newest}, {left}.",
    ]
    unreadable = []
    if staff.unreadable:
        emails = db.session.execute(
            db.select(DelegationStaff.id, DelegationStaff.email).where(DelegationStaff.id.in_(staff.unreadable))
        )
        who = ", ".join(f"{staff_id} ({email})" for staff_id, email in sorted(emails))
        unreadable.append(
            f"Aucune clé ne lit les secrets TOTP du personnel n° {who} : ajoutez à TOTP_SECRET_KEYS la clé qui "
            "les a chiffrés, ou réinitialisez leur double authentification (staff reset-2fa <adresse>)."
        )
    if mails.unreadable:
        unreadable.append(
            f"Aucune clé ne lit les secrets des mails n° {', '.join(map(str, mails.unreadable))} : ajoutez à "
            "MAIL_SECRET_KEY la clé qui les a chiffrés, ou abandonnez ces mails (keys rotate --drop-unreadable-mails)."
        )
    return done, unreadable
