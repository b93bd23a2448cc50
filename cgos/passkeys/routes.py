"""The agent's passkeys: signing in with one, creating one, « Mes clés d'accès » (rename, delete).

The ceremonies' two steps are JSON endpoints called by static/passkeys.js (CSRF token in
the X-CSRFToken header, as htmx sends it); the list, renaming and deleting are plain pages
and forms that work without JavaScript.
"""

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, flash, g, jsonify, request, url_for

from .. import events
from ..auth import agent_required, pending_step
from ..credentials import attempts, limits
from ..credentials.attempts import Refusal
from ..events import Event, Reason
from ..extensions import db
from ..htmx import render_form_errors, render_page, see_other
from ..login.routes import ACCOUNT_DISABLED, start_session, too_many_from_address
from ..models import Passkey, utcnow
from ..templating import format_numero
from . import ceremonies
from .ceremonies import Refused, UserEntity
from .challenges import Purpose
from .forms import DeleteForm, RenameForm
from .mail import send_passkey_notice
from .naming import device_name, unique_name

bp = Blueprint("passkeys", __name__)

# A passkey is added only this soon after the PIN (or a passkey) was checked: a session
# taken over later cannot give itself a lasting way in.
RECENT_SIGN_IN = timedelta(minutes=15)

NOT_RECOGNISED = (
    "Cette clé d'accès n'est pas reconnue. Connectez-vous avec votre numéro C.G.O.S et votre mot de passe, "
    "puis créez une nouvelle clé d'accès."
)
EXPIRED = "Le délai pour utiliser votre clé d'accès est dépassé : recommencez."
CLONED = (
    "Par sécurité, cette clé d'accès est bloquée : connectez-vous avec votre numéro C.G.O.S et votre mot de passe, "
    "supprimez-la dans « Mes clés d'accès » et créez-en une nouvelle."
)
CREATION_FAILED = "La clé d'accès n'a pas pu être créée : recommencez."
ALREADY_THERE = "Cet appareil a déjà une clé d'accès pour votre compte."
NOT_SIGNED_IN = "Votre session a pris fin : connectez-vous de nouveau, puis recommencez."
SIGN_IN_TOO_OLD = (
    "Par sécurité, une clé d'accès se crée dans les 15 minutes qui suivent la connexion : "
    "déconnectez-vous, reconnectez-vous, puis recommencez."
)
# What an agent reads for each refusal of a sign-in (the reason itself goes to the audit row).
SIGN_IN_MESSAGES = {
    Reason.CHALLENGE: EXPIRED,
    Reason.CLONED: CLONED,
    Reason.COUNTER: CLONED,
    Reason.DISABLED: ACCOUNT_DISABLED,
}


def json_error(message: str, status: int):
    """A refusal the script shows in its live region."""
    return jsonify(error=message), status


def credential_payload() -> dict | None:
    """The browser's answer, as the script sends it (a JSON object), or None."""
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else None


# --- Signing in ----------------------------------------------------------------------------


@bp.post("/connexion-cle-d-acces/options")
def sign_in_options():
    """The options of a sign-in with a passkey: no numéro, the passkey names the account."""
    return jsonify(ceremonies.authentication_options(Purpose.AGENT_SIGN_IN))


def verify_sign_in(payload: dict) -> Passkey | Refused:
    """The passkey that signed this challenge, or why it is refused."""
    try:
        return ceremonies.finish_authentication(Purpose.AGENT_SIGN_IN, payload)
    except Refused as refusal:
        return refusal


@bp.post("/connexion-cle-d-acces")
def sign_in():
    """« Se connecter avec une clé d'accès »: the signature checked, then the PIN login's path.

    No bcrypt, no account lockout or daily cap (a PIN locked out by someone guessing does not
    stop the owner's passkey); the per-address limit counts each attempt, and a disabled
    account is refused.
    """
    payload = credential_payload()
    if payload is None:
        return json_error(NOT_RECOGNISED, 400)
    verdict = attempts.attempt_proof(
        limits.LOGIN_ADDRESS, lambda: verify_sign_in(payload), succeeded=lambda result: isinstance(result, Passkey)
    )
    if verdict.refusal is Refusal.ADDRESS:
        return json_error(too_many_from_address(verdict.retry_at), 429)
    if not verdict.succeeded:
        refusal = verdict.result
        owner = refusal.passkey.agent if refusal.passkey is not None else None
        events.record(Event.PASSKEY_FAILURE, owner, reason=refusal.reason)
        db.session.commit()
        return json_error(SIGN_IN_MESSAGES.get(refusal.reason, NOT_RECOGNISED), 403)
    return jsonify(redirect=start_session(verdict.result.agent, Reason.PASSKEY))


# --- Creating one --------------------------------------------------------------------------


def recently_signed_in_agent(view):
    """Guard a JSON step of the creation: an agent past the first-login steps, signed in recently."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("agent") is None or pending_step(g.agent) is not None:
            return json_error(NOT_SIGNED_IN, 401)
        if g.signed_in_at is None or utcnow() - g.signed_in_at > RECENT_SIGN_IN:
            return json_error(SIGN_IN_TOO_OLD, 403)
        return view(*args, **kwargs)

    return wrapped


def user_entity(agent) -> UserEntity:
    """How the agent's phone shows the account: the numéro, and « Marie DUPONT (35127846 S) »."""
    numero = format_numero(agent.numero)
    return UserEntity(name=numero, display_name=f"{agent.display_name} ({numero})")


@bp.post("/espace-agent/cles-d-acces/options")
@recently_signed_in_agent
def creation_options():
    """The options of « Créer une clé d'accès »."""
    return jsonify(ceremonies.registration_options(Purpose.AGENT_REGISTRATION, g.agent, user_entity(g.agent)))


@bp.post("/espace-agent/cles-d-acces")
@recently_signed_in_agent
def create():
    """The new passkey checked and kept, named after the browser; the agent is told by mail."""
    agent = g.agent
    payload = credential_payload()
    if payload is None:
        return json_error(CREATION_FAILED, 400)
    taken = {passkey.name for passkey in ceremonies.passkeys_of(agent)}
    name = unique_name(device_name(request.user_agent.string), taken)
    try:
        passkey = ceremonies.finish_registration(Purpose.AGENT_REGISTRATION, agent, payload, name)
    except Refused as refusal:
        events.record(Event.PASSKEY_CREATION_FAILURE, agent, reason=refusal.reason)
        db.session.commit()
        message = {Reason.CHALLENGE: EXPIRED, Reason.DUPLICATE: ALREADY_THERE}.get(refusal.reason, CREATION_FAILED)
        return json_error(message, 400)
    events.record(Event.PASSKEY_ADDED, agent, subject=passkey)
    send_passkey_notice(agent, passkey, added=True)
    flash(
        f"Votre clé d'accès « {passkey.name} » est créée : à votre prochaine connexion, "
        "choisissez « Se connecter avec une clé d'accès ».",
        "success",
    )
    db.session.commit()
    return jsonify(redirect=url_for(".index"))


# --- « Mes clés d'accès » --------------------------------------------------------------------


def own_passkey(passkey_id: int) -> Passkey:
    """One of the logged-in agent's passkeys; anyone else's is a 404."""
    passkey = db.session.scalar(db.select(Passkey).where(Passkey.id == passkey_id, Passkey.agent_id == g.agent.id))
    if passkey is None:
        abort(404)
    return passkey


@bp.get("/espace-agent/cles-d-acces")
@agent_required()
def index():
    """« Mes clés d'accès »: each passkey with its dates, to rename or delete."""
    return render_page("passkeys/index.html", passkeys=ceremonies.passkeys_of(g.agent))


@bp.route("/espace-agent/cles-d-acces/<id:passkey_id>/renommer", methods=["GET", "POST"])
@agent_required()
def rename(passkey_id: int):
    """Rename a passkey, to tell one's devices apart."""
    passkey = own_passkey(passkey_id)
    form = RenameForm(data={"name": passkey.name})
    if form.validate_on_submit():
        passkey.name = form.name.data
        db.session.commit()
        flash(f"Votre clé d'accès s'appelle désormais « {passkey.name} ».", "success")
        return see_other(url_for(".index"))
    if request.method == "POST":
        return render_form_errors("passkeys/rename.html", form=form, passkey=passkey)
    return render_page("passkeys/rename.html", form=form, passkey=passkey)


@bp.route("/espace-agent/cles-d-acces/<id:passkey_id>/supprimer", methods=["GET", "POST"])
@agent_required()
def delete(passkey_id: int):
    """Delete a passkey, once confirmed: recorded, and the agent told by mail."""
    passkey = own_passkey(passkey_id)
    form = DeleteForm()
    if form.validate_on_submit():
        events.record(Event.PASSKEY_DELETED, g.agent, subject=passkey)
        send_passkey_notice(g.agent, passkey, added=False)
        db.session.delete(passkey)
        flash(
            f"Votre clé d'accès « {passkey.name} » est supprimée : elle ne permet plus de vous connecter. "
            "Vous pouvez aussi la retirer de votre appareil, dans ses réglages des mots de passe.",
            "success",
        )
        db.session.commit()
        return see_other(url_for(".index"))
    return render_page("passkeys/delete.html", form=form, passkey=passkey)
