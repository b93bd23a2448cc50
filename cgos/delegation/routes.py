"""The delegation back office: staff see and decide their own delegation's requests only."""

from flask import Blueprint, abort, flash, g, request, send_file, url_for

from .. import events, passwords, ratelimits, uploads
from ..account.services import pepper
from ..auth import login_staff, logout, staff_required
from ..extensions import db
from ..htmx import full_redirect, render_form_errors, render_page, see_other
from ..login.authentication import dummy_hash
from ..models import DelegationStaff, MailChangeRequest, RequestStatus
from ..templating import french_time
from .forms import DecisionForm, StaffLoginForm
from .services import AlreadyDecided, decide

bp = Blueprint("delegation", __name__, url_prefix="/delegation")

WRONG_CREDENTIALS = "L'adresse mail ou le mot de passe est incorrect."
REASON_REQUIRED = "Indiquez le motif : il est envoyé à l'agent."


@bp.route("", methods=["GET", "POST"])
def login():
    """Staff login: mail address and password, with the agents' lockout rules."""
    if g.staff is not None:
        return see_other(url_for(".requests"))
    form = StaffLoginForm()
    if request.method == "GET":
        return render_page("delegation/login.html", form=form, errors={})
    email = (form.email.data or "").strip().lower()
    address_ok = ratelimits.hit_address("staff_login")
    account_ok = ratelimits.hit("LOGIN_LOCKOUT_LIMIT", "staff_login", email) if email else True
    if not address_ok or not account_ok:
        config_key, identifier = (("ADDRESS_RATE_LIMIT", ratelimits.client_address()) if not address_ok
                                  else ("LOGIN_LOCKOUT_LIMIT", email))
        scope = "staff_login"
        retry = ratelimits.retry_at(config_key, scope, identifier)
        message = ("Après plusieurs tentatives erronées, la connexion est bloquée : réessayez à partir de "
                   f"{french_time(retry)}.")
        return render_page("delegation/login.html", status=429, form=form, errors={"form": message})
    if not form.validate():
        return render_form_errors("delegation/login.html", form=form, errors={})
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
    hashed = staff.password_hash if staff else dummy_hash()
    if not passwords.verify_secret(form.password.data, hashed, pepper()) or staff is None:
        events.record(events.LOGIN_FAILURE, None, "staff")
        db.session.commit()
        return render_form_errors("delegation/login.html", form=form, errors={"form": WRONG_CREDENTIALS})
    ratelimits.clear("LOGIN_LOCKOUT_LIMIT", "staff_login", email)
    ratelimits.refund("ADDRESS_RATE_LIMIT", "staff_login", ratelimits.client_address())
    login_staff(staff)
    events.record(events.LOGIN_SUCCESS, None, f"staff {staff.id}")
    db.session.commit()
    return full_redirect(url_for(".requests"))


@bp.post("/deconnexion")
def log_out():
    """End the staff session on the server."""
    logout()
    db.session.commit()
    flash("Vous êtes déconnecté du back office.", "success")
    return full_redirect(url_for(".login"))


def own_request(request_id: int) -> MailChangeRequest:
    """A request of the logged-in staff's delegation; any other is a 404."""
    mail_request = db.session.get(MailChangeRequest, request_id)
    if mail_request is None or mail_request.delegation_id != g.staff.delegation_id:
        abort(404)
    return mail_request


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
        .order_by(MailChangeRequest.decided_at.desc()).limit(50)
    )
    return render_page("delegation/requests.html", pending=list(pending), decided=list(decided))


@bp.route("/demandes/<int:request_id>", methods=["GET", "POST"])
@staff_required
def request_detail(request_id: int):
    """One request, every field, the payslip, and the two decisions."""
    mail_request = own_request(request_id)
    form = DecisionForm()
    if request.method == "GET":
        return render_page("delegation/request.html", request_=mail_request, form=form)
    if not form.validate():
        abort(400)
    accepted = request.form.get("decision") == "accept"
    reason = (form.reason.data or "").strip() or None
    if not accepted and not reason:
        form.reason.errors = [REASON_REQUIRED]
        return render_form_errors("delegation/request.html", request_=mail_request, form=form)
    try:
        decide(mail_request, g.staff, accepted, reason)
    except AlreadyDecided:
        flash("Cette demande a déjà été traitée : une seule décision est possible.", "info")
        return see_other(url_for(".request_detail", request_id=request_id))
    db.session.commit()
    flash("La décision est enregistrée et l'agent en est informé par mail.", "success")
    return see_other(url_for(".requests"))


@bp.get("/demandes/<int:request_id>/bulletin")
@staff_required
def payslip(request_id: int):
    """The payslip, as a download, to the staff of its delegation only."""
    mail_request = own_request(request_id)
    if not mail_request.payslip_path:
        abort(404)
    return send_file(
        uploads.absolute(mail_request.payslip_path),
        mimetype=mail_request.payslip_mimetype,
        as_attachment=True,
        download_name=mail_request.payslip_filename,
    )
