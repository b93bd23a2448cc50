"""The queue's rules: when a mail is due, who claims it, what is recorded after a try."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_, update

from ..extensions import db
from ..models import MailAttachment, OutboundMail, utcnow

# A claimed mail whose sender died is tried again after this delay.
CLAIM_TIMEOUT = timedelta(minutes=5)
# After a failed try a mail waits RETRY_FIRST, doubled at each failure, never more than RETRY_MAX.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """How long a mail that failed `attempts` times waits before the next try: 30 s doubling, at most an hour."""
    doublings = min(max(attempts - 1, 0), 7)  # 30 s × 2^7 is past the hour already
    return min(RETRY_FIRST * 2**doublings, RETRY_MAX)


def is_due(row: OutboundMail, now, retry_now: bool = False) -> bool:
    """Whether a pending mail may be tried now: never tried, its backoff over, or its sender gone."""
    if row.sent_at is not None:
        return False
    if row.last_attempt_at is None:
        return True
    if row.last_error is None:  # claimed and being sent, unless its sender died
        return row.last_attempt_at < now - CLAIM_TIMEOUT
    return retry_now or row.last_attempt_at <= now - retry_delay(row.attempts)


def claim(rows: list[OutboundMail]) -> list[int]:
    """Take mails for sending; the ids of those no other sender took since they were read.

    A conditional UPDATE per attempt count read with the rows (before any commit
    reloads them), returning the ids it matched: of several senders that saw the
    same row, exactly one matches it.
    """
    by_attempts: dict[int, list[int]] = {}
    for row in rows:
        by_attempts.setdefault(row.attempts, []).append(row.id)
    claimed = []
    for attempts, ids in by_attempts.items():
        result = db.session.execute(
            update(OutboundMail)
            .where(OutboundMail.id.in_(ids), OutboundMail.sent_at.is_(None), OutboundMail.attempts == attempts)
            .values(last_attempt_at=utcnow(), attempts=OutboundMail.attempts + 1, last_error=None)
            .returning(OutboundMail.id),
            execution_options={"synchronize_session": False},
        )
        claimed += result.scalars().all()
    db.session.commit()
    return sorted(claimed)


def record_failure(mail_ids: list[int], error: Exception) -> None:
    """Keep mails queued with their error: they are tried again after their backoff."""
    db.session.execute(
        update(OutboundMail)
        .where(OutboundMail.id.in_(mail_ids), OutboundMail.sent_at.is_(None))
        .values(last_error=f"{type(error).__name__}: {error}"[:500]),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def record_sent(mail_id: int) -> None:
    """A mail is gone: its secrets are erased, and no sender takes it again."""
    db.session.execute(
        update(OutboundMail)
        .where(OutboundMail.id == mail_id)
        .values(sent_at=utcnow(), last_error=None, sealed_secrets=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def pending_mails(after_id: int = 0, limit: int | None = None) -> list[OutboundMail]:
    """Mails not sent yet, oldest first, read afresh from the database: those after `after_id`, at most `limit`."""
    query = (
        db.select(OutboundMail)
        .where(OutboundMail.sent_at.is_(None), OutboundMail.id > after_id)
        .order_by(OutboundMail.id)
        .limit(limit)
    )
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def purge_sent(now) -> int:
    """Empty the bodies of mails sent more than MAIL_RETENTION_DAYS ago; recipient, subject and times stay."""
    limit = now - timedelta(days=current_app.config["MAIL_RETENTION_DAYS"])
    old = (
        db.select(OutboundMail.id)
        .where(OutboundMail.sent_at < limit)
        .where(
            or_(
                OutboundMail.text_body != "",
                OutboundMail.html_body.is_not(None),
                OutboundMail.sealed_secrets.is_not(None),
                OutboundMail.attachments.any(),
            )
        )
    )
    ids = list(db.session.scalars(old))
    if ids:
        db.session.execute(delete(MailAttachment).where(MailAttachment.mail_id.in_(ids)))
        db.session.execute(
            update(OutboundMail)
            .where(OutboundMail.id.in_(ids))
            .values(text_body="", html_body=None, sealed_secrets=None)
        )
    db.session.commit()
    return len(ids)
