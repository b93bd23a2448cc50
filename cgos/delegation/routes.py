"""The delegation back office: staff see and decide their own delegation's requests only."""

from datetime import timedelta

from flask import Blueprint, abort, flash, g, request, send_file, url_for
from markupsafe import Markup

from .. import events, flow_state, uploads
from ..auth import login_staff, logout, staff_required
from ..credentials import bcrypt_slots, limits, second_factor, totp
from ..credentials.hashing import dummy_hash, verify_secret
from ..events import Event
from ..extensions import db
from ..htmx import full_redirect, render_form_errors, render_page, see_other
from ..models import DelegationStaff, MailChangeRequest, Registration, RequestStatus, utcnow
from ..templating import french_time
from .forms import DecisionForm, SecondFactorForm, StaffLoginForm
from .services import AlreadyDecided, decide, decide_registration

bp = Blueprint("delegation", __name__, url_prefix="/delegation")

WRONG_CREDENTIALS = "L'adresse mail ou le mot de passe est incorrect."
WRONG_CODE = "Le code de vérification est incorrect ou a déjà servi : saisissez le code affiché maintenant."
WRONG_ENROLMENT_CODE = (
    "Le code ne correspond pas : vérifiez que l'heure de votre téléphone est juste et saisissez le code affiché."
)
QR_LABEL = "QR code à scanner avec votre application d'authentification"
# The password step's state (who gave a right password), bound to this browser's session.
SECOND_STEP = "staff_second_factor"
SECOND_STEP_LIFETIME = timedelta(minutes=5)
# Time to install an authenticator and scan the QR code.
ENROLMENT_LIFETIME = timedelta(minutes=15)
RECOVERY_CODES = "staff_recovery_codes"
RECOVERY_CODES_LIFETIME = timedelta(minutes=5)
REASON_REQUIRED = "Indiquez le motif : il est envoyé à l'agent."
NO_AGENT_CANNOT_BE_ACCEPTED = (
    "Le numéro et la date de naissance ne correspondent à aucun agent : cette demande ne peut pas être "
    "prise en compte. Refusez-la en indiquant le motif."
)


def locked_out_page(template: str, retry, **context):
    """The answer once the staff lockout or the per-address limit is reached: when to try again."""
    message = (
        f"Après plusieurs tentatives erronées, la connexion est bloquée : réessayez à partir de {french_time(retry)}."
    )
    return render_page(template, status=429, errors={"form": message}, **context)


@bp.route("", methods=["GET", "POST"])
@bcrypt_slots.refuse_when_busy
def login():
    """Staff login, first step: mail address and password, with the agents' lockout rules."""
    if g.staff is not None:
        return see_other(url_for(".requests"))
    form = StaffLoginForm()
    if request.method == "GET":
        return render_page("delegation/login.html", form=form, errors={})
    email = (form.email.data or "").strip().lower()
    address_ok = limits.STAFF_LOGIN_ADDRESS.hit_here()
    account_ok = limits.STAFF_LOCKOUT.hit(email) if email else True
    if not address_ok or not account_ok:
        retry = limits.STAFF_LOGIN_ADDRESS.retry_here() if not address_ok else limits.STAFF_LOCKOUT.retry_at(email)
        return locked_out_page("delegation/login.html", retry, form=form)
    if not form.validate():
        return render_form_errors("delegation/login.html", form=form, errors={})
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
    hashed = staff.password_hash if staff else dummy_hash()
    if not verify_secret(form.password.data, hashed) or staff is None:
        events.record(Event.LOGIN_FAILURE, None, "staff", staff=staff)
        db.session.commit()
        return render_form_errors("delegation/login.html", form=form, errors={"form": WRONG_CREDENTIALS})
    # The password is right: its attempt is taken back, but the count is cleared only by the
    # second factor, so that knowing the password gives no fresh budget of guesses at the code.
    limits.STAFF_LOCKOUT.refund(email)
    limits.STAFF_LOGIN_ADDRESS.refund_here()
    flow_state.save(SECOND_STEP, {"staff_id": staff.id}, SECOND_STEP_LIFETIME)
    return see_other(url_for(".verify_code" if second_factor.is_enrolled(staff) else ".enrolment"))


def half_logged_in_staff() -> tuple[DelegationStaff | None, dict | None]:
    """The staff member whose password this browser gave a few minutes ago, and the step's state."""
    state = flow_state.load(SECOND_STEP)
    staff = db.session.get(DelegationStaff, state["staff_id"]) if state else None
    return staff, state


def back_to_password_step():
    """The half-logged state is gone (expired, or never there): start again at the password."""
    flash("Votre connexion a expiré : saisissez de nouveau votre adresse mail et votre mot de passe.", "info")
    return see_other(url_for(".login"))


def second_factor_attempt_allowed(staff: DelegationStaff) -> tuple[bool, object]:
    """Count a code attempt in the staff lockout and per address; (allowed, when to retry)."""
    address_ok = limits.STAFF_LOGIN_ADDRESS.hit_here()
    account_ok = limits.STAFF_LOCKOUT.hit(staff.email)
    if address_ok and account_ok:
        return True, None
    return False, limits.STAFF_LOGIN_ADDRESS.retry_here() if not address_ok else limits.STAFF_LOCKOUT.retry_at(
        staff.email
    )


def finish_login(staff: DelegationStaff) -> None:
    """The second factor is checked: only now does the browser hold a staff session (the caller commits)."""
    limits.STAFF_LOCKOUT.clear(staff.email)
    limits.STAFF_LOGIN_ADDRESS.refund_here()
    flow_state.discard(SECOND_STEP, commit=False)
    login_staff(staff)
    events.record(Event.LOGIN_SUCCESS, None, "staff", staff=staff)


@bp.route("/verification", methods=["GET", "POST"])
def verify_code():
    """Staff login, second step: « Code de vérification », from the authenticator or a recovery code."""
    if g.staff is not None:
        return see_other(url_for(".requests"))
    staff, _ = half_logged_in_staff()
    if staff is None:
        return back_to_password_step()
    if not second_factor.is_enrolled(staff):
        return see_other(url_for(".enrolment"))
    form = SecondFactorForm()
    template = "delegation/second_factor.html"
    if request.method == "GET":
        return render_page(template, form=form, errors={})
    allowed, retry = second_factor_attempt_allowed(staff)
    if not allowed:
        return locked_out_page(template, retry, form=form)
    if not form.validate():
        return render_form_errors(template, form=form, errors={})
    now = utcnow()
    if second_factor.use_totp_code(staff, form.code.data, now):
        pass
    elif second_factor.use_recovery_code(staff, form.code.data, now):
        events.record(Event.RECOVERY_CODE_USED, None, None, staff=staff)
    else:
        events.record(Event.SECOND_FACTOR_FAILURE, None, None, staff=staff)
        db.session.commit()
        form.code.errors = [WRONG_CODE]
        return render_form_errors(template, form=form, errors={})
    finish_login(staff)
    db.session.commit()
    return full_redirect(url_for(".requests"))


@bp.route("/activation", methods=["GET", "POST"])
def enrolment():
    """First login: the QR code and the secret as text, confirmed by a first code."""
    if g.staff is not None:
        return see_other(url_for(".requests"))
    staff, state = half_logged_in_staff()
    if staff is None:
        return back_to_password_step()
    if second_factor.is_enrolled(staff):
        # Never a second enrolment from a password alone: that would replace the staff's phone.
        return see_other(url_for(".verify_code"))
    if "secret" not in state:
        state = {**state, "secret": second_factor.seal(totp.new_secret())}
        flow_state.save(SECOND_STEP, state, ENROLMENT_LIFETIME)
    secret = second_factor.unseal(state["secret"])
    form = SecondFactorForm()
    context = {
        "form": form,
        "qr_code": Markup(totp.qr_svg(totp.provisioning_uri(secret, staff.email), QR_LABEL)),
        "secret": totp.grouped(secret),
    }
    template = "delegation/enrolment.html"
    if request.method == "GET":
        return render_page(template, errors={}, **context)
    allowed, retry = second_factor_attempt_allowed(staff)
    if not allowed:
        return locked_out_page(template, retry, **context)
    if not form.validate():
        return render_form_errors(template, errors={}, **context)
    now = utcnow()
    step = totp.accepted_step(secret, form.code.data, now, None)
    if step is None:
        events.record(Event.SECOND_FACTOR_FAILURE, None, "enrolment", staff=staff)
        db.session.commit()
        form.code.errors = [WRONG_ENROLMENT_CODE]
        return render_form_errors(template, errors={}, **context)
    codes = second_factor.enrol(staff, secret, step, now)
    events.record(Event.SECOND_FACTOR_ENROLLED, None, None, staff=staff)
    finish_login(staff)
    db.session.commit()
    flow_state.save(RECOVERY_CODES, {"codes": second_factor.seal(" ".join(codes))}, RECOVERY_CODES_LIFETIME)
    return full_redirect(url_for(".recovery_codes"))


@bp.get("/codes-de-secours")
@staff_required
def recovery_codes():
    """The ten recovery codes, shown once, right after enrolment."""
    state = flow_state.take(RECOVERY_CODES)
    if state is None:
        return see_other(url_for(".requests"))
    codes = second_factor.unseal(state["codes"]).split()
    return render_page("delegation/recovery_codes.html", codes=codes)


@bp.post("/deconnexion")
def log_out():
    """End the staff session on the server."""
    if g.staff is not None:
        events.record(Event.LOGOUT, None, "staff", staff=g.staff)
    logout()
    db.session.commit()
    flash("Vous êtes déconnecté du back office.", "success")
    return full_redirect(url_for(".login"))


def own(model, item_id: int):
    """A request of the logged-in staff's delegation; any other is a 404."""
    item = db.session.get(model, item_id)
    if item is None or item.delegation_id != g.staff.delegation_id:
        abort(404)
    return item


def own_request(request_id: int) -> MailChangeRequest:
    """A questionnaire of the staff's delegation."""
    return own(MailChangeRequest, request_id)


def pending_questionnaires():
    """The delegation's questionnaires awaiting a decision (the request list, the dashboard, an agent's page)."""
    return db.select(MailChangeRequest).where(
        MailChangeRequest.delegation_id == g.staff.delegation_id, MailChangeRequest.status == RequestStatus.PENDING
    )


def pending_registrations():
    """The delegation's registrations awaiting verification: confirmed by the agent, so an agent exists."""
    return db.select(Registration).where(
        Registration.delegation_id == g.staff.delegation_id,
        Registration.confirmed_at.is_not(None),
        Registration.agent_id.is_not(None),
        Registration.status == RequestStatus.PENDING,
    )


@bp.get("/demandes")
@staff_required
def requests():
    """Pending requests, newest first, then the latest decided ones."""
    pending = db.session.scalars(pending_questionnaires().order_by(MailChangeRequest.created_at.desc()))
    decided = db.session.scalars(
        db.select(MailChangeRequest)
        .where(
            MailChangeRequest.delegation_id == g.staff.delegation_id,
            MailChangeRequest.status != RequestStatus.PENDING,
        )
        .order_by(MailChangeRequest.decided_at.desc())
        .limit(50)
    )
    registrations = db.session.scalars(pending_registrations().order_by(Registration.confirmed_at.desc()))
    return render_page(
        "delegation/requests.html", pending=list(pending), decided=list(decided), registrations=list(registrations)
    )


def decision_page(item, template: str, decide_item, positive: str, context_name: str, done: str, **extra):
    """Show a request with its decision form, or record the decision the form carries."""
    form = DecisionForm()
    context = {context_name: item, "form": form, **extra}
    if request.method == "GET":
        return render_page(template, **context)
    if not form.validate():
        abort(400)
    positive_decision = request.form.get("decision") == positive
    reason = (form.reason.data or "").strip() or None
    if not positive_decision and not reason:
        form.reason.errors = [REASON_REQUIRED]
        return render_form_errors(template, **context)
    try:
        decide_item(item, g.staff, positive_decision, reason)
    except AlreadyDecided:
        flash("Cette demande a déjà été traitée : une seule décision est possible.", "info")
        return see_other(request.path)
    db.session.commit()
    flash(done, "success")
    return see_other(url_for(".requests"))


@bp.route("/demandes/<int:request_id>", methods=["GET", "POST"])
@staff_required
def request_detail(request_id: int):
    """One questionnaire, every field, the payslip, and the two decisions."""
    item = own_request(request_id)
    if request.method == "GET":
        events.audit(Event.PERSONAL_DATA_VIEWED, item.agent, f"request {item.id}")
        db.session.commit()
    if item.agent is None and request.method == "POST" and request.form.get("decision") == "accept":
        flash(NO_AGENT_CANNOT_BE_ACCEPTED, "info")
        return see_other(request.path)
    on_file = item.agent.establishment if item.agent is not None else None
    return decision_page(
        item,
        "delegation/request.html",
        decide,
        "accept",
        "request_",
        "La décision est enregistrée et l'agent en est informé par mail.",
        establishment_on_file=on_file,
    )


def send_payslip(item, what: str):
    """A payslip, as a download, recorded in the audit trail."""
    if not item.payslip_path:
        abort(404)
    events.audit(Event.PAYSLIP_DOWNLOADED, item.agent, f"{what} {item.id}")
    db.session.commit()
    return send_file(
        uploads.absolute(item.payslip_path),
        mimetype=item.payslip_mimetype,
        as_attachment=True,
        download_name=item.payslip_filename,
    )


@bp.get("/demandes/<int:request_id>/bulletin")
@staff_required
def payslip(request_id: int):
    """The payslip of a questionnaire, to the staff of its delegation only."""
    return send_payslip(own_request(request_id), "request")


@bp.route("/inscriptions/<int:registration_id>", methods=["GET", "POST"])
@staff_required
def registration_detail(registration_id: int):
    """A confirmed registration: every field, the payslip, verified or rejected."""
    registration = own(Registration, registration_id)
    if registration.agent is None:
        abort(404)
    if request.method == "GET":
        events.audit(Event.PERSONAL_DATA_VIEWED, registration.agent, f"registration {registration.id}")
        db.session.commit()
    return decision_page(
        registration,
        "delegation/registration.html",
        decide_registration,
        "verify",
        "registration",
        "La décision est enregistrée.",
    )


@bp.get("/inscriptions/<int:registration_id>/bulletin")
@staff_required
def registration_payslip(registration_id: int):
    """The payslip of a registration, to the staff of its delegation only."""
    return send_payslip(own(Registration, registration_id), "registration")


# The views of agents and of the dashboard join this blueprint.
from . import agents, dashboard  # noqa: E402, F401
