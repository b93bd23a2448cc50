"""Staff passkeys: the second factor after the password, and « Mes clés d'accès » in the back office.

A passkey replaces the authenticator's code at the second step (it cannot be phished, as ANSSI
recommends for administrators); the code and the recovery codes stay as fallbacks. It goes
through the code's finish (`finish_login`: session rotation, events) and its failures count in
the staff per-address limit. A passkey is added only after a full sign-in (password, then code
or passkey), within 15 minutes of it. The ceremonies are `cgos.passkeys.ceremonies`; the JSON
steps are called by static/staff_passkeys.js (second factor) and static/passkeys.js (creation).
"""

from functools import wraps

from flask import abort, flash, g, jsonify, request, url_for

from .. import events
from ..auth import staff_required
from ..credentials import attempts, limits
from ..credentials.attempts import Refusal
from ..events import Event, Reason
from ..extensions import db
from ..htmx import render_form_errors, render_page, see_other
from ..login.routes import too_many_from_address
from ..models import DelegationStaff, Passkey, utcnow
from ..passkeys import ceremonies
from ..passkeys.ceremonies import Refused, UserEntity
from ..passkeys.challenges import Purpose
from ..passkeys.forms import DeleteForm, RenameForm
from ..passkeys.naming import device_name, unique_name
from ..passkeys.routes import RECENT_SIGN_IN, credential_payload, json_error
from . import bp
from .mail import send_passkey_notice
from .routes import finish_login, half_logged_in_staff

EXPIRED_STEP = "Votre connexion a expiré : saisissez de nouveau votre adresse mail et votre mot de passe."
NOT_RECOGNISED = (
    "Cette clé d'accès n'est pas reconnue : utilisez un code de vérification ou l'un de vos codes de secours."
)
CHALLENGE_EXPIRED = "Le délai pour utiliser votre clé d'accès est dépassé : recommencez."
BLOCKED = (
    "Par sécurité, cette clé d'accès est bloquée : connectez-vous avec un code de vérification, "
    "supprimez-la dans « Mes clés d'accès » et créez-en une nouvelle."
)
SECOND_FACTOR_MESSAGES = {Reason.CHALLENGE: CHALLENGE_EXPIRED, Reason.CLONED: BLOCKED, Reason.COUNTER: BLOCKED}
CREATION_FAILED = "La clé d'accès n'a pas pu être créée : recommencez."
ALREADY_THERE = "Cet appareil a déjà une clé d'accès pour votre compte."
NOT_SIGNED_IN = "Votre session a pris fin : connectez-vous de nouveau, puis recommencez."
SIGN_IN_TOO_OLD = (
    "Par sécurité, une clé d'accès se crée dans les 15 minutes qui suivent la connexion : "
    "déconnectez-vous, reconnectez-vous, puis recommencez."
)


# --- The second factor ------------------------------------------------------------------------


def expired_step():
    """The password step is gone (expired, or never there): back to it, said on the login page."""
    flash(EXPIRED_STEP, "info")
    response = jsonify(error=EXPIRED_STEP, redirect=url_for(".login"))
    response.status_code = 401
    return response


@bp.post("/verification/cle-d-acces/options")
def second_factor_options():
    """The options of « Utiliser ma clé d'accès »: this staff member's passkeys only, bound to them."""
    staff, _ = half_logged_in_staff()
    if g.staff is not None or staff is None:
        return expired_step()
    return jsonify(ceremonies.authentication_options(Purpose.STAFF_SIGN_IN, owner=staff))


def verify_second_factor(staff: DelegationStaff, payload: dict) -> Passkey | Refused:
    """The passkey of `staff` that signed this browser's challenge, or why it is refused.

    The challenge names the staff member it was issued for; the password step may have been
    given again since (another address typed in this browser), so the passkey must also be the
    one of the staff member whose password this browser gave last.
    """
    try:
        passkey = ceremonies.finish_authentication(Purpose.STAFF_SIGN_IN, payload)
    except Refused as refusal:
        return refusal
    if passkey.staff_id != staff.id:
        db.session.rollback()  # not its use: its counter and last use stay as they were
        return Refused("other_owner", db.session.get(Passkey, passkey.id))
    return passkey


@bp.post("/verification/cle-d-acces")
def second_factor_passkey():
    """« Utiliser ma clé d'accès »: the signature checked, then the code's finish of the login.

    No lockout (nothing to guess), but every attempt counts in the staff per-address limit and a
    failure is recorded like a wrong code.
    """
    staff, _ = half_logged_in_staff()
    if g.staff is not None or staff is None:
        return expired_step()
    payload = credential_payload()
    if payload is None:
        return json_error(NOT_RECOGNISED, 400)
    verdict = attempts.attempt_proof(
        limits.STAFF_LOGIN_ADDRESS,
        lambda: verify_second_factor(staff, payload),
        succeeded=lambda result: isinstance(result, Passkey),
    )
    if verdict.refusal is Refusal.ADDRESS:
        return json_error(too_many_from_address(verdict.retry_at), 429)
    if not verdict.succeeded:
        refusal = verdict.result
        events.record(Event.PASSKEY_FAILURE, None, staff=staff, reason=refusal.reason)
        db.session.commit()
        return json_error(SECOND_FACTOR_MESSAGES.get(refusal.reason, NOT_RECOGNISED), 403)
    finish_login(staff)
    db.session.commit()
    return jsonify(redirect=url_for(".requests"))


# --- Creating one -------------------------------------------------------------------------------


def recently_signed_in(view):
    """Guard a JSON step of the creation: a staff member fully signed in, within 15 minutes."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("staff") is None:
            return json_error(NOT_SIGNED_IN, 401)
        if g.signed_in_at is None or utcnow() - g.signed_in_at > RECENT_SIGN_IN:
            return json_error(SIGN_IN_TOO_OLD, 403)
        return view(*args, **kwargs)

    return wrapped


def user_entity(staff: DelegationStaff) -> UserEntity:
    """How the staff member's device shows the account: the address, and its delegation."""
    return UserEntity(name=staff.email, display_name=f"{staff.email} ({staff.delegation.name})")


@bp.post("/cles-d-acces/options")
@recently_signed_in
def passkey_creation_options():
    """The options of « Créer une clé d'accès » in the back office."""
    return jsonify(ceremonies.registration_options(Purpose.STAFF_REGISTRATION, g.staff, user_entity(g.staff)))


@bp.post("/cles-d-acces")
@recently_signed_in
def create_passkey():
    """The new passkey checked and kept, named after the browser; recorded and mailed."""
    staff = g.staff
    payload = credential_payload()
    if payload is None:
        return json_error(CREATION_FAILED, 400)
    taken = {passkey.name for passkey in ceremonies.passkeys_of(staff)}
    name = unique_name(device_name(request.user_agent.string), taken)
    try:
        passkey = ceremonies.finish_registration(Purpose.STAFF_REGISTRATION, staff, payload, name)
    except Refused as refusal:
        events.record(Event.PASSKEY_CREATION_FAILURE, None, staff=staff, reason=refusal.reason)
        db.session.commit()
        message = {Reason.CHALLENGE: CHALLENGE_EXPIRED, Reason.DUPLICATE: ALREADY_THERE}.get(
            refusal.reason, CREATION_FAILED
        )
        return json_error(message, 400)
    events.record(Event.PASSKEY_ADDED, None, staff=staff, subject=passkey)
    send_passkey_notice(staff, passkey.name, added=True)
    flash(
        f"Votre clé d'accès « {passkey.name} » est créée : à votre prochaine connexion, après votre mot de passe, "
        "choisissez « Utiliser ma clé d'accès ».",
        "success",
    )
    db.session.commit()
    return jsonify(redirect=url_for(".staff_passkeys"))


# --- « Mes clés d'accès » -------------------------------------------------------------------------


def own_staff_passkey(passkey_id: int) -> Passkey:
    """One of the logged-in staff member's passkeys; anyone else's is a 404."""
    passkey = db.session.scalar(db.select(Passkey).where(Passkey.id == passkey_id, Passkey.staff_id == g.staff.id))
    if passkey is None:
        abort(404)
    return passkey


@bp.get("/cles-d-acces")
@staff_required
def staff_passkeys():
    """« Mes clés d'accès »: each passkey with its dates, to rename or delete, and « Créer une clé d'accès »."""
    return render_page("backoffice/passkeys.html", passkeys=ceremonies.passkeys_of(g.staff))


@bp.route("/cles-d-acces/<id:passkey_id>/renommer", methods=["GET", "POST"])
@staff_required
def rename_staff_passkey(passkey_id: int):
    """Rename a passkey, to tell one's devices apart."""
    passkey = own_staff_passkey(passkey_id)
    form = RenameForm(data={"name": passkey.name})
    if form.validate_on_submit():
        passkey.name = form.name.data
        db.session.commit()
        flash(f"Votre clé d'accès s'appelle désormais « {passkey.name} ».", "success")
        return see_other(url_for(".staff_passkeys"))
    if request.method == "POST":
        return render_form_errors("backoffice/passkey_rename.html", form=form, passkey=passkey)
    return render_page("backoffice/passkey_rename.html", form=form, passkey=passkey)


@bp.route("/cles-d-acces/<id:passkey_id>/supprimer", methods=["GET", "POST"])
@staff_required
def delete_staff_passkey(passkey_id: int):
    """Delete a passkey, once confirmed: recorded, and mailed to the staff member."""
    passkey = own_staff_passkey(passkey_id)
    form = DeleteForm()
    if form.validate_on_submit():
        events.record(Event.PASSKEY_DELETED, None, staff=g.staff, subject=passkey)
        send_passkey_notice(g.staff, passkey.name, added=False)
        db.session.delete(passkey)
        flash(
            f"Votre clé d'accès « {passkey.name} » est supprimée : elle ne permet plus de vous connecter. "
            "Vous pouvez aussi la retirer de votre appareil, dans ses réglages des mots de passe.",
            "success",
        )
        db.session.commit()
        return see_other(url_for(".staff_passkeys"))
    return render_page("backoffice/passkey_delete.html", form=form, passkey=passkey)
