"""Logged-in sessions kept on the server: renewed at login, revocable, idle after 20 minutes, over after 12 hours.

Staff sessions are shorter (STAFF_SESSION_IDLE_TIMEOUT, STAFF_SESSION_ABSOLUTE_LIFETIME: 15 minutes
idle, 8 hours in all), and one starts only once the second factor is checked (cgos/backoffice/routes.py).
"""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from flask import Flask, current_app, flash, g, request, session, url_for

from . import charter
from .extensions import db
from .htmx import see_other
from .models import Agent, AuthSession, PasswordState, utcnow

SESSION_KEY = "auth"
# last_seen_at is written at most this often, not on every request.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def _digest(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _start_session(**owner) -> None:
    """A new server-side session: nothing of the browser's previous session survives, on the server either
    (a staff login on an agent's computer ends the agent's session, whose cookie may have been copied)."""
    _revoke_current()
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(AuthSession(id=_digest(token), **owner))
    session[SESSION_KEY] = token
    session.permanent = True


def login_agent(agent: Agent) -> None:
    """Start a new session for the agent."""
    _start_session(agent_id=agent.id)


def login_staff(staff) -> None:
    """Start a new session for a member of a delegation's staff."""
    _start_session(staff_id=staff.id)


def _revoke_current() -> None:
    """Revoke the server-side session this browser holds, if any (the caller commits)."""
    token = session.get(SESSION_KEY)
    if token and isinstance(token, str):
        auth_session = db.session.get(AuthSession, _digest(token))
        if auth_session and auth_session.revoked_at is None:
            auth_session.revoked_at = utcnow()


def logout() -> None:
    """End the current session on the server and in the browser."""
    _revoke_current()
    session.clear()


def revoke_sessions(agent: Agent | None = None, *, staff=None) -> None:
    """Revoke every session of an agent or a staff member (password change, lockout)."""
    owner = AuthSession.agent_id == agent.id if agent is not None else AuthSession.staff_id == staff.id
    query = db.select(AuthSession).where(owner, AuthSession.revoked_at.is_(None))
    for auth_session in db.session.scalars(query):
        auth_session.revoked_at = utcnow()


def load_logged_in_agent() -> None:
    """Find who this request's session belongs to, dropping revoked and idle sessions."""
    g.agent = g.staff = g.signed_in_at = None
    token = session.get(SESSION_KEY)
    if not token or request.endpoint == "static":
        return
    auth_session = db.session.get(AuthSession, _digest(token)) if isinstance(token, str) else None
    now = utcnow()
    if auth_session is None or auth_session.revoked_at is not None:
        session.pop(SESSION_KEY, None)
        return
    prefix = "STAFF_" if auth_session.staff_id is not None else ""
    if now - auth_session.last_seen_at > duration(prefix + "SESSION_IDLE_TIMEOUT"):
        _expire(auth_session, now, "Votre session a expiré après une période d'inactivité : connectez-vous de nouveau.")
        return
    if now - auth_session.created_at > duration(prefix + "SESSION_ABSOLUTE_LIFETIME"):
        # ASVS 3.3.2: even an active session ends; a stolen cookie is not good forever.
        _expire(auth_session, now, "Votre session a expiré : par sécurité, connectez-vous de nouveau.")
        return
    if now - auth_session.last_seen_at > LAST_SEEN_RESOLUTION:
        auth_session.last_seen_at = now
        db.session.commit()
    g.agent = auth_session.agent
    g.staff = auth_session.staff
    # When this session's sign-in happened: some changes (adding a passkey) want a recent one.
    g.signed_in_at = auth_session.created_at


def duration(key: str) -> timedelta:
    """A session duration setting, given as a timedelta or (from the environment) in seconds."""
    value = current_app.config[key]
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def _expire(auth_session: AuthSession, now, notice: str) -> None:
    """Revoke a session that is over and tell the person why on the login page."""
    auth_session.revoked_at = now
    db.session.commit()
    session.clear()
    flash(notice, "info")


def current_charter() -> charter.Charter:
    """The charter in force (CHARTER_PATH)."""
    return charter.load(current_app.config["CHARTER_PATH"])


def pending_step(agent: Agent) -> str | None:
    """The first-login step the agent still has to complete, in the guide's order."""
    if agent.charter_accepted_at is None or agent.charter_version != current_charter().version:
        return "account.charter"
    if agent.password_state != PasswordState.PERSONAL:
        return "account.change_provisional_pin"
    if agent.personal_data_confirmed_at is None:
        return "account.personal_data"
    return None


def agent_required(step: str | None = None):
    """Guard a view: logged in, and at this first-login step (None: all steps done)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            agent = g.get("agent")
            if agent is None:
                if "_flashes" not in session:
                    flash("Connectez-vous pour accéder à votre Espace Agent.", "info")
                return see_other(url_for("login.login"))
            required = pending_step(agent)
            if required != step:
                return see_other(url_for(required or "account.home"))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_app(app: Flask) -> None:
    """The agent loaded before every request."""
    app.before_request(load_logged_in_agent)


def staff_required(view):
    """Guard a back-office view: a delegation staff member must be logged in."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("staff") is None:
            return see_other(url_for("backoffice.login"))
        return view(*args, **kwargs)

    return wrapped
