"""The delegation back office: staff see and decide their own delegation's requests only."""

from flask import Blueprint, abort, flash, g, request, send_file, url_for

from .. import events, uploads
from ..auth import login_staff, logout, staff_required
from ..credentials import bcrypt_slots, limits
from ..credentials.hashing import dummy_hash, verify_secret
from ..events import Event
from ..extensions import db
from ..htmx import full_redirect, render_form_errors, render_page, see_other
from ..models import DelegationStaff, MailChangeRequest, Registration, RequestStatus
from ..templating import french_time
from .forms import DecisionForm, StaffLoginForm
from .services import AlreadyDecided, decide, decide_registration

bp = Blueprint("delegation", __name__, url_prefix="/delegation")

WRONG_CREDENTIALS = "L'adresse mail ou le mot de passe est incorrect."
REASON_REQUIRED = "Indiquez le motif : il est envoyé à l'agent."
NO_AGENT_CANNOT_BE_ACCEPTED = (
    "Le numéro et la date de naissance ne correspondent à aucun agent : cette demande ne peut pas être "
    "prise en compte. Refusez-la en indiquant le motif."
)


@bp.route("", methods=["GET", "POST"])
@bcrypt_slots.refuse_when_busy
def login():
    """Staff login: mail address and password, with the agents' lockout rules."""
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
        message = (
            "Après plusieurs tentatives erronées, la connexion est bloquée : réessayez à partir de "
            f"{french_time(retry)}."
        )
        return render_page("delegation/login.html", status=429, form=form, errors={"form": message})
    if not form.validate():
        return render_form_errors("delegation/login.html", form=form, errors={})
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
    hashed = staff.password_hash if staff else dummy_hash()
    if not verify_secret(form.password.data, hashed) or staff is None:
        events.record(Event.LOGIN_FAILURE, None, "staff", staff=staff)
        db.session.commit()
        return render_form_errors("delegation/login.html", form=form, errors={"form": WRONG_CREDENTIALS})
    limits.STAFF_LOCKOUT.clear(email)
    limits.STAFF_LOGIN_ADDRESS.refund_here()
    login_staff(staff)
    events.record(Event.LOGIN_SUCCESS, None, "staff", staff=staff)
    db.session.commit()
    return full_redirect(url_for(".requests"))


@bp.post("/deconnexion")
def log_out():
    """End the staff session on the server."""
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


@bp.get("/demandes")
@staff_required
def requests():
    """Pending requests, newest first, then the latest decided ones."""
    base = db.select(MailChangeRequest).where(MailChangeRequest.delegation_id == g.staff.delegation_id)
    pending = db.session.scalars(
        base.where(MailChangeRequest.status == RequestStatus.PENDING).order_by(MailChangeRequest.created_at.desc())
    )
    decided = db.session.scalars(
        base.where(MailChangeRequest.status != RequestStatus.PENDING)
        .order_by(MailChangeRequest.decided_at.desc())
        .limit(50)
    )
    registrations = db.session.scalars(
        db.select(Registration)
        .where(
            Registration.delegation_id == g.staff.delegation_id,
            Registration.confirmed_at.is_not(None),
            Registration.agent_id.is_not(None),
            Registration.status == RequestStatus.PENDING,
        )
        .order_by(Registration.confirmed_at.desc())
    )
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


def send_payslip(item):
    """A payslip, as a download."""
    if not item.payslip_path:
        abort(404)
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
    return send_payslip(own_request(request_id))


@bp.route("/inscriptions/<int:registration_id>", methods=["GET", "POST"])
@staff_required
def registration_detail(registration_id: int):
    """A confirmed registration: every field, the payslip, verified or rejected."""
    registration = own(Registration, registration_id)
    if registration.agent is None:
        abort(404)
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
    return send_payslip(own(Registration, registration_id))


# The views of agents and of the dashboard join this blueprint.
from . import agents, dashboard  # noqa: E402, F401
