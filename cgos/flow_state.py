"""State a browser carries from one step to the next, kept on the server.

The session cookie is signed but readable: it holds only a random handle per
purpose (`"first_connection"`, `"number_request"`…); the state itself (an agent
id, a NIR digest) is a `FlowState` row found by the handle's digest. `take()`
reads and deletes in one statement, so a state meant for one use can be used
once, even by two simultaneous requests.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import session

from .extensions import db
from .models import FlowState, utcnow


def _digest(handle: str) -> str:
    """The stored form of a handle."""
    return hashlib.sha256(handle.encode()).hexdigest()


def _current_id(purpose: str) -> str | None:
    """The row id of this browser's state for `purpose`, if its session holds a handle."""
    handle = session.get(f"state:{purpose}")
    return _digest(handle) if isinstance(handle, str) else None


def save(purpose: str, data: dict, lifetime: timedelta) -> None:
    """Keep `data` for this browser (replacing its previous state for `purpose`) and commit."""
    discard(purpose, commit=False)
    handle = secrets.token_urlsafe(24)
    db.session.add(FlowState(id=_digest(handle), purpose=purpose, data=data, expires_at=utcnow() + lifetime))
    db.session.commit()
    session[f"state:{purpose}"] = handle


def load(purpose: str) -> dict | None:
    """This browser's state for `purpose`, or None if it has none or it has expired."""
    row_id = _current_id(purpose)
    row = db.session.get(FlowState, row_id) if row_id else None
    if row is None or row.purpose != purpose or row.expires_at <= utcnow():
        return None
    return row.data


def take(purpose: str, *, commit: bool = True) -> dict | None:
    """This browser's state for `purpose`, deleted as it is read (single use); None if none.

    With commit=False the deletion joins the caller's transaction and the handle stays in the
    session until `discard()`: a simultaneous take() waits for that transaction and gets None
    once it commits, and if it rolls back (the caller failed) the state is still there.
    """
    row_id = _current_id(purpose)
    if commit:
        session.pop(f"state:{purpose}", None)
    if row_id is None:
        return None
    statement = (
        db.delete(FlowState)
        .where(FlowState.id == row_id, FlowState.purpose == purpose, FlowState.expires_at > utcnow())
        .returning(FlowState.data)
    )
    data = db.session.execute(statement).scalar_one_or_none()
    if commit:
        db.session.commit()
    return data


def discard(purpose: str, *, commit: bool = True) -> None:
    """Forget this browser's state for `purpose`."""
    row_id = _current_id(purpose)
    session.pop(f"state:{purpose}", None)
    if row_id is not None:
        db.session.execute(db.delete(FlowState).where(FlowState.id == row_id))
        if commit:
            db.session.commit()


def purge_expired(now: datetime) -> int:
    """Delete every state that expired before `now`; how many were deleted."""
    result = db.session.execute(db.delete(FlowState).where(FlowState.expires_at <= now))
    db.session.commit()
    return result.rowcount
