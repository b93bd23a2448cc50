"""The agent's space: first-login steps (charter, PIN, personal data) and home."""

from flask import Blueprint, flash, g, request, url_for

from .. import events, pins
from ..auth import agent_required, current_charter, login_agent, logout, pending_step, revoke_sessions
from ..credentials import attempts
from ..credentials.attempts import Refusal
from ..credentials.checking import Outcome
from ..credentials.hashing import check_typed_secret, verify_secret
from ..credentials.issuing import set_personal_pin
from ..events import Event, Reason
from ..extensions import db
from ..htmx import full_redirect, render_form_errors, render_page, see_other
from ..links import LinkOutcome
from ..login.routes import ANOTHER_ATTEMPT_RUNNING, block_pin, daily_lock_out, lock_account, lockout_redirect
from ..models import utcnow
from .email_change import confirm_email_change, request_email_change
from .forms import ChangePinForm, CharterForm, EditPersonalDataForm, NewPinForm, PersonalDataForm

bp = Blueprint("account", __name__, url_prefix="/espace-agent")


@bp.route("/conditions-generales", methods=["GET", "POST"])
@agent_required(step="account.charter")
def charter():
    """« Conditions générales d'utilisation »: accept to go on, refuse to leave."""
    form = CharterForm()
    if form.validate_on_submit():
        if request.form.get("decision") == "accept":
            g.agent.charter_accepted_at = utcnow()
            g.agent.charter_version = current_charter().version
            db.session.commit()
            return see_other(url_for(pending_step(g.agent) or ".home"))
        events.record(Event.LOGOUT, g.agent, reason=Reason.CHARTER_REFUSED)
        logout()
        db.session.commit()
        flash(
            "Vous avez refusé les conditions générales d'utilisation : l'accès à l'Espace Agent "
            "n'est possible qu'après les avoir acceptées. Vous avez été déconnecté.",
            "info",
        )
        return full_redirect(url_for("login.login"))
    renewed = g.agent.charter_accepted_at is not None
    return render_page("account/charter.html", form=form, charter=current_charter(), renewed=renewed, step_count=3)


def pin_weakness(form: NewPinForm) -> None:
    """Refuse a weak new PIN, with its reason beside the field."""
    reason = pins.weakness(form.new_pin.data, birth_date=g.agent.birth_date)
    if reason is None and g.agent.provisional_pin_hash:
        # Compared through the hash: the provisional PIN itself is not kept.
        if verify_secret(form.new_pin.data, g.agent.provisional_pin_hash):
            reason = pins.MESSAGE_PROVISIONAL
    if reason:
        form.new_pin.errors.append(reason)


def save_new_pin():
    """Store the new PIN, revoke every other session and renew this one."""
    set_personal_pin(g.agent, request.form["new_pin"])
    revoke_sessions(g.agent)
    login_agent(g.agent)
    db.session.commit()


@bp.route("/mot-de-passe-provisoire", methods=["GET", "POST"])
@agent_required(step="account.change_provisional_pin")
def change_provisional_pin():
    """« Changement du mot de passe provisoire »: mandatory at first login."""
    form = NewPinForm()
    if form.validate_on_submit():
        pin_weakness(form)
        if not form.new_pin.errors:
            save_new_pin()
            # The session was renewed: a whole page, so every form gets the new CSRF token.
            return full_redirect(url_for(pending_step(g.agent) or ".home"))
    if form.errors or form.new_pin.errors:
        return render_form_errors("account/new_pin.html", form=form, first_login=True)
    return render_page("account/new_pin.html", form=form, first_login=True)


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@agent_required()
def change_pin():
    """Change one's personal password from home: the current one first."""
    form = ChangePinForm()
    if form.validate_on_submit():
        if (refused := check_current_pin(form.current_pin, Reason.CHANGE_PIN)) is not None:
            return refused
        if not form.current_pin.errors:
            pin_weakness(form)
        if not form.current_pin.errors and not form.new_pin.errors:
            save_new_pin()
            flash("Votre mot de passe a été modifié.", "success")
            return full_redirect(url_for(".home"))
    if request.method == "POST":
        return render_form_errors("account/new_pin.html", form=form, first_login=False)
    return render_page("account/new_pin.html", form=form, first_login=False)


def email_changes(form: PersonalDataForm) -> bool:
    """Whether the form asks for another mail address than the one on file."""
    return (g.agent.email or "").lower() != form.email.data.lower()


def save_personal_data(form: PersonalDataForm) -> bool:
    """Store phones now; a new mail address waits for its confirmation link. True if one was sent."""
    agent = g.agent
    agent.phone_mobile = form.phone_mobile.data
    agent.phone_home = form.phone_home.data
    agent.phone_work = form.phone_work.data
    agent.personal_data_confirmed_at = utcnow()
    changed = email_changes(form)
    if changed:
        request_email_change(agent, form.email.data)
    db.session.commit()
    return changed


def check_current_pin(field, context: Reason):
    """The current PIN asked again from home (ASVS 3.7.1), through the login's attempts rule.

    A wrong PIN gets its message beside the field. Once the account is locked out or
    blocked for the day, by this failure or before it, the session ends and the answer is
    the login's lockout page. Returns that page, or None.
    """
    if not field.data:
        field.errors.append("Saisissez votre mot de passe actuel.")
        return None
    agent = g.agent
    verdict = attempts.attempt(
        attempts.AGENT_PIN,
        agent.numero,
        lambda: check_typed_secret(agent, field.data),
        succeeded=lambda outcome: outcome is Outcome.PERSONAL,
    )
    if verdict.succeeded:
        return None
    if verdict.refusal is Refusal.BUSY:
        field.errors.append(ANOTHER_ATTEMPT_RUNNING)
        return None
    if verdict.checked:
        events.record(Event.LOGIN_FAILURE, agent, reason=context)
        if verdict.locked_now:
            lock_account(agent)
        if (verdict.capped_now or verdict.capped) and agent.pin_blocked_at is None:
            block_pin(agent)
    else:
        events.record(Event.LOGIN_REFUSED, agent, reason=Reason(verdict.refusal.value))
    if verdict.capped_now or verdict.capped:
        logout()
        db.session.commit()
        return daily_lock_out(agent.numero)
    if verdict.locked_now or verdict.refusal is Refusal.LOCKED:
        logout()
        db.session.commit()
        return lockout_redirect(attempts.AGENT_PIN.lockout.retry_at(agent.numero), agent.numero)
    db.session.commit()
    field.errors.append("Le mot de passe actuel est incorrect.")
    return None


@bp.route("/donnees-personnelles", methods=["GET", "POST"])
@agent_required(step="account.personal_data")
def personal_data():
    """« Données personnelles », confirmed once at first login."""
    return _personal_data_form(first_login=True)


@bp.route("/mes-donnees", methods=["GET", "POST"])
@agent_required()
def edit_personal_data():
    """The same form, from home, whenever the agent needs it."""
    return _personal_data_form(first_login=False)


def _personal_data_form(first_login: bool):
    """Show or save the personal data form."""
    agent = g.agent
    form_class = PersonalDataForm if first_login else EditPersonalDataForm
    form = form_class(
        data=None
        if request.method == "POST"
        else {
            "email": agent.pending_email or agent.email,
            "phone_mobile": agent.phone_mobile,
            "phone_home": agent.phone_home,
            "phone_work": agent.phone_work,
        }
    )
    valid = form.validate_on_submit()
    if valid and not first_login and email_changes(form):
        # The first-login step follows a login just made; from home, the session may be someone else's.
        if (locked := check_current_pin(form.current_pin, Reason.EMAIL_CHANGE)) is not None:
            return locked
        valid = not form.current_pin.errors
    if valid:
        if save_personal_data(form):
            flash(
                f"Un lien de confirmation a été envoyé à {form.email.data} : votre nouvelle adresse "
                "mail sera enregistrée quand vous l'aurez suivi (il est valable 48 heures).",
                "info",
            )
        else:
            flash("Vos données personnelles sont enregistrées.", "success")
        return see_other(url_for(".home"))
    if request.method == "POST":
        return render_form_errors("account/personal_data.html", form=form, first_login=first_login)
    return render_page("account/personal_data.html", form=form, first_login=first_login)


@bp.get("/")
@agent_required()
def home():
    """« Bienvenue »: who the agent is and what they can do here."""
    return render_page("account/home.html", agent=g.agent)


@bp.get("/adresse-mail/<token>")
def confirm_email(token: str):
    """The link of the confirmation mail: the new address takes effect."""
    agent, outcome = confirm_email_change(token)
    db.session.commit()
    return render_page(
        "account/email_confirmed.html", status=outcome.status, outcome=outcome, Outcome=LinkOutcome, agent=agent
    )
