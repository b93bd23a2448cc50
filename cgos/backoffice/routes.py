"""The delegation back office: staff see and decide their own delegation's requests only."""

from datetime import timedelta

from cryptography.fernet import InvalidToken
from flask import abort, flash, g, request, send_file, url_for
from markupsafe import Markup

from .. import events, flow_state, uploads
from ..auth import login_staff, logout, staff_required
from ..credentials import attempts, limits
from ..credentials.attempts import Refusal
from ..credentials.hashing import dummy_hash, verify_secret
from ..events import Event, Reason
from ..extensions import db
from ..htmx import full_redirect, render_form_errors, render_page, see_other
from ..models import DelegationStaff, MailChangeRequest, Registration, RequestStatus, utcnow
from ..passkeys import ceremonies
from ..templating import french_time
from . import bp, second_factor, totp
from .forms import DecisionForm, SecondFactorForm, StaffLoginForm
from .mail import send_code_failure_notice
from .services import AlreadyDecided, decide_questionnaire, decide_registration

WRONG_CREDENTIALS = "L'adresse mail ou le mot de passe est incorrect."
WRONG_CODE = "Le code de vérification est incorrect ou a déjà servi : saisissez le code affiché maintenant."
WRONG_ENROLMENT_CODE = (
    "Le code ne correspond pas : vérifiez que l'heure de votre téléphone est juste et saisissez le code affiché."
)
ANOTHER_ATTEMPT_RUNNING = (
    "Une autre connexion à ce compte est en cours de vérification : patientez quelques secondes puis réessayez."
)
CODES_CAPPED = (
    "Trop de codes erronés ont été saisis aujourd'hui : seul un code de secours est encore accepté. "
    "Sans code de secours, demandez la réinitialisation de votre second facteur."
)
QR_LABEL = "QR code à scanner avec votre application d'authentification"
# The password step's state (who gave a right password), bound to this browser's session.
SECOND_STEP = "staff_second_factor"
SECOND_STEP_LIFETIME = timedelta(minutes=5)
# Time to install an authenticator and scan the QR code.
ENROLMENT_LIFETIME = timedelta(minutes=15)
# The second step's links below « Utiliser ma clé d'accès »: the authenticator's code, a recovery code.
CODE_METHODS = ("code", "secours")
RECOVERY_CODES = "staff_recovery_codes"
RECOVERY_CODES_LIFETIME = timedelta(minutes=5)
REASON_REQUIRED = "Indiquez le motif : il est envoyé à l'agent."
NO_AGENT_CANNOT_BE_ACCEPTED = (
    "Le numéro et la date de naissance ne correspondent à aucun agent : cette demande ne peut pas être "
    "prise en compte. Refusez-la en indiquant le motif."
)


def refused_page(template: str, verdict: attempts.Verdict, **context):
    """The answer to an attempt refused unchecked: another one running, or when to try again."""
    if verdict.refusal is Refusal.BUSY:
        message = ANOTHER_ATTEMPT_RUNNING
    elif verdict.refusal is Refusal.CAPPED:
        message = CODES_CAPPED
    else:
        message = (
            "Après plusieurs tentatives erronées, la connexion est bloquée : "
            f"réessayez à partir de {french_time(verdict.retry_at)}."
        )
    return render_page(template, status=429, errors={"form": message}, **context)


@bp.route("", methods=["GET", "POST"])
def login():
    """Staff login, first step: mail address and password, with the agents' lockout rules."""
    if g.staff is not None:
        return see_other(url_for(".requests"))
    form = StaffLoginForm()
    if request.method == "GET":
        return render_page("backoffice/login.html", form=form, errors={})
    with attempts.place_in_line(attempts.STAFF_PASSWORD):
        return check_password(form)


def check_password(form: StaffLoginForm):
    """The password, through the attempts rule: a right one leads to the second factor."""
    if not form.validate():
        return render_form_errors("backoffice/login.html", form=form, errors={})
    email = form.email.data.strip().lower()
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
    hashed = staff.password_hash if staff else dummy_hash()
    verdict = attempts.attempt(
        attempts.STAFF_PASSWORD, email, lambda: verify_secret(form.password.data, hashed) and staff is not None
    )
    if not verdict.checked:
        return refused_page("backoffice/login.html", verdict, form=form)
    if not verdict.succeeded:
        events.record(Event.LOGIN_FAILURE, None, staff=staff, reason=Reason.STAFF)
        db.session.commit()
        return render_form_errors("backoffice/login.html", form=form, errors={"form": WRONG_CREDENTIALS})
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


def code_failed(staff: DelegationStaff, reason: Reason | None) -> None:
    """A wrong code after a right password: recorded, and the staff member told (the caller commits)."""
    events.record(Event.SECOND_FACTOR_FAILURE, None, staff=staff, reason=reason)
    send_code_failure_notice(staff)


def finish_login(staff: DelegationStaff) -> None:
    """The second factor is checked: only now does the browser hold a staff session (the caller commits)."""
    flow_state.discard(SECOND_STEP, commit=False)
    login_staff(staff)
    events.record(Event.LOGIN_SUCCESS, None, staff=staff, reason=Reason.STAFF)


def check_code(staff: DelegationStaff, code: str, *, authenticator: bool) -> bool:
    """A code of the authenticator (unless past the day's cap) or a recovery code, used once."""
    now = utcnow()
    if authenticator and second_factor.use_totp_code(staff, code, now):
        return True
    if second_factor.use_recovery_code(staff, code, now):
        events.record(Event.RECOVERY_CODE_USED, None, None, staff=staff)
        return True
    return False


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
    template = "backoffice/second_factor.html"
    capped = limits.SECOND_FACTOR_DAILY.reached(staff.email)
    # « Utiliser ma clé d'accès » first for staff with a passkey; the links below it (and any
    # answer to a typed code) lead to the code form, which is also all a browser without
    # JavaScript or WebAuthn shows.
    method = request.args.get("methode") if request.args.get("methode") in CODE_METHODS else None
    if method == "secours":
        form.code.label.text = "Code de secours"
    has_passkey = bool(ceremonies.usable_passkeys(staff))
    context = {"form": form, "method": method, "has_passkey": has_passkey, "passkey_offer": False}
    if request.method == "GET":
        context["passkey_offer"] = has_passkey and method is None
        return render_page(template, errors={"form": CODES_CAPPED} if capped else {}, **context)
    if not form.validate():
        return render_form_errors(template, errors={}, **context)
    # Past the day's cap of wrong codes, only a recovery code (80 bits) is still accepted.
    rule = attempts.STAFF_RECOVERY_CODE if capped else attempts.STAFF_CODE
    verdict = attempts.attempt(rule, staff.email, lambda: check_code(staff, form.code.data, authenticator=not capped))
    if not verdict.checked:
        return refused_page(template, verdict, **context)
    if not verdict.succeeded:
        code_failed(staff, Reason.CAPPED if capped else None)
        db.session.commit()
        form.code.errors = [CODES_CAPPED if capped or verdict.capped_now else WRONG_CODE]
        return render_form_errors(template, errors={}, **context)
    finish_login(staff)
    db.session.commit()
    return full_redirect(url_for(".requests"))


def readable_secret(sealed: str | None) -> str | None:
    """A secret sealed in the login's state, or None when there is none or no key reads it any more."""
    if sealed is None:
        return None
    try:
        return second_factor.unseal(sealed)
    except InvalidToken:
        return None


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
    secret = readable_secret(state.get("secret"))
    if secret is None:
        # A new secret, or its key rotated away meanwhile (SECURITY.md « Rotating keys »): a new QR code.
        secret = totp.new_secret()
        state = {**state, "secret": second_factor.seal(secret)}
        flow_state.save(SECOND_STEP, state, ENROLMENT_LIFETIME)
    form = SecondFactorForm()
    context = {
        "form": form,
        "qr_code": Markup(totp.qr_svg(totp.provisioning_uri(secret, staff.email), QR_LABEL)),
        "secret": totp.grouped(secret),
    }
    template = "backoffice/enrolment.html"
    if request.method == "GET":
        return render_page(template, errors={}, **context)
    if not form.validate():
        return render_form_errors(template, errors={}, **context)
    now = utcnow()
    verdict = attempts.attempt(
        attempts.STAFF_CODE,
        staff.email,
        lambda: totp.accepted_step(secret, form.code.data, now, None),
        succeeded=lambda step: step is not None,
    )
    if not verdict.checked:
        return refused_page(template, verdict, **context)
    if not verdict.succeeded:
        code_failed(staff, Reason.ENROLMENT)
        db.session.commit()
        form.code.errors = [WRONG_ENROLMENT_CODE]
        return render_form_errors(template, errors={}, **context)
    codes = second_factor.enrol(staff, secret, verdict.result, now)
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
    codes = readable_secret(state["codes"])
    if codes is None:
        return see_other(url_for(".requests"))
    codes = codes.split()
    return render_page("backoffice/recovery_codes.html", codes=codes)


@bp.post("/deconnexion")
def log_out():
    """End the staff session on the server."""
    if g.staff is not None:
        events.record(Event.LOGOUT, None, staff=g.staff, reason=Reason.STAFF)
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


def own_registration(registration_id: int) -> Registration:
    """A registration of the staff's delegation that an agent came from (confirmed); any other is a 404."""
    registration = own(Registration, registration_id)
    if registration.agent is None or registration.confirmed_at is None:
        abort(404)
    return registration


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
        "backoffice/requests.html", pending=list(pending), decided=list(decided), registrations=list(registrations)
    )


def decision_page(item, *, template: str, decide_item, positive: str, context_name: str, done: str, **extra):
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


@bp.route("/demandes/<id:request_id>", methods=["GET", "POST"])
@staff_required
def request_detail(request_id: int):
    """One questionnaire, every field, the payslip, and the two decisions."""
    item = own_request(request_id)
    if request.method == "GET":
        events.audit(Event.PERSONAL_DATA_VIEWED, item.agent, subject=item)
        db.session.commit()
    if item.agent is None and request.method == "POST" and request.form.get("decision") == "accept":
        flash(NO_AGENT_CANNOT_BE_ACCEPTED, "info")
        return see_other(request.path)
    on_file = item.agent.establishment if item.agent is not None else None
    return decision_page(
        item,
        template="backoffice/request.html",
        decide_item=decide_questionnaire,
        positive="accept",
        context_name="request_",
        done="La décision est enregistrée et l'agent en est informé par mail.",
        establishment_on_file=on_file,
    )


def send_payslip(item: MailChangeRequest | Registration):
    """A payslip, as a download, recorded in the audit trail."""
    if not item.payslip_path:
        abort(404)
    events.audit(Event.PAYSLIP_DOWNLOADED, item.agent, subject=item)
    db.session.commit()
    return send_file(
        uploads.absolute(item.payslip_path),
        mimetype=item.payslip_mimetype,
        as_attachment=True,
        download_name=item.payslip_filename,
    )


@bp.get("/demandes/<id:request_id>/bulletin")
@staff_required
def payslip(request_id: int):
    """The payslip of a questionnaire, to the staff of its delegation only."""
    return send_payslip(own_request(request_id))


@bp.route("/inscriptions/<id:registration_id>", methods=["GET", "POST"])
@staff_required
def registration_detail(registration_id: int):
    """A confirmed registration: every field, the payslip, verified or rejected."""
    registration = own_registration(registration_id)
    if request.method == "GET":
        events.audit(Event.PERSONAL_DATA_VIEWED, registration.agent, subject=registration)
        db.session.commit()
    return decision_page(
        registration,
        template="backoffice/registration.html",
        decide_item=decide_registration,
        positive="verify",
        context_name="registration",
        done="La décision est enregistrée.",
    )


@bp.get("/inscriptions/<id:registration_id>/bulletin")
@staff_required
def registration_payslip(registration_id: int):
    """The payslip of a registration, on the terms of its page: its delegation's staff, once confirmed."""
    return send_payslip(own_registration(registration_id))
