"""The mail-change questionnaire (guide 1.2.2 and 1.2.3), routed to the regional delegation."""

import secrets
from datetime import date, timedelta

from flask import Blueprint, request, session, url_for

from .. import events, flow_state, uploads
from ..credentials import limits
from ..credentials.accounts import find_agent
from ..delegations import delegation_of
from ..events import Event
from ..extensions import commit_or_roll_back, db
from ..htmx import is_htmx, render_page, see_other
from ..mail import external_url, send_mail
from ..models import Agent, Delegation, Establishment, MailChangeRequest
from ..places.chooser import choices, chosen_establishment
from .forms import QuestionnaireForm

bp = Blueprint("questionnaire", __name__)
STATE = "questionnaire"
STATE_LIFETIME = timedelta(hours=1)
# The questionnaires sent, by the token of the page they were sent from; kept longer than a
# page's CSRF token lives (WTF_CSRF_TIME_LIMIT), so a page is never sent twice.
SENT = "questionnaire_sent"
SENT_LIFETIME = timedelta(days=1)

NO_DELEGATION = "Cet établissement ne relève d'aucune délégation régionale du C.G.O.S."
TEMPLATE = "questionnaire/form.html"


@bp.get("/adresse-mail-inexacte")
def wrong_address():
    """« Demande de modification de mon adresse mail »: the guide's message and the way on."""
    # « Retour » goes back to the flow the agent came from, with the numéro typed there.
    came_from = "forgotten_password" if flow_state.load("forgotten_password") else "first_connection"
    back_url = url_for(f"{came_from}.identify", numero=prefill().get("numero"))
    return render_page("questionnaire/wrong_address.html", tab="first_connection", back_url=back_url)


def show(form: QuestionnaireForm, status: int = 200, errors: dict | None = None, kept: dict | None = None):
    """The questionnaire with the choices that match what was typed and chosen so far, and the payslip kept."""
    action = request.form.get("action", "")
    if not submission_token(form):
        form.submission.data = secrets.token_urlsafe(24)
    # Without JavaScript, « Rechercher » reloads the page: the focus goes to the first result.
    focus = action.removeprefix("search_") if action.startswith("search") and not is_htmx() else None
    return render_page(
        TEMPLATE,
        status=status,
        tab="first_connection",
        form=form,
        errors=errors or {},
        kept=kept,
        focus=focus,
        **choices(form),
    )


def prefill() -> dict:
    """The numéro the agent typed at an identification step of this browser (never data from the file)."""
    for purpose in ("first_connection", "forgotten_password"):
        numero = (flow_state.load(purpose) or {}).get("numero")
        if isinstance(numero, str):
            return {"numero": numero}
    return {}


def keep_payslip_sent() -> tuple[dict | None, str | None]:
    """The payslip of this form (a new upload, checked, replaces the kept one), kept with its flow state."""
    current = flow_state.load(STATE) or {}
    before = uploads.kept_payslip(current.get("payslip"))
    kept, problem = uploads.keep_payslip(request.files.get("payslip"), before)
    if kept is not None and kept != before:
        flow_state.save(STATE, {**current, "payslip": kept}, STATE_LIFETIME)
    return kept, problem


uploads.UPLOAD_ENDPOINTS.add("questionnaire.form")


@bp.route("/questionnaire-adresse-mail", methods=["GET", "POST"])
def form():
    """The questionnaire: searches (without JavaScript) or the request itself."""
    form = QuestionnaireForm(data=prefill())
    searching = request.form.get("action", "").startswith("search")
    uploading = bool(getattr(request.files.get("payslip"), "filename", None))
    if request.method == "GET" or (searching and not uploading):
        return show(form, kept=uploads.kept_payslip((flow_state.load(STATE) or {}).get("payslip")))
    # Counted: « Envoyer », and a search carrying a file (the file is written aside).
    if not limits.QUESTIONNAIRE_ADDRESS.hit_here():
        message = limits.too_many_message(limits.QUESTIONNAIRE_ADDRESS, limits.client_address())
        return show(form, 429, {"form": message})
    if searching:
        # A file chosen before « Rechercher » is kept too (it is checked; its error waits for « Envoyer »).
        kept, _ = keep_payslip_sent()
        return show(form, kept=kept)
    # The whole form is checked first; whether the numéro and birth date match is never said
    # (the delegation sees it), so the answer is the same for a right and a wrong birth date.
    valid = form.validate()
    establishment = chosen_establishment(form)
    if establishment is not None and delegation_of(establishment) is None:
        form.establishment_query.errors = [NO_DELEGATION]
    kept, payslip_error = keep_payslip_sent()
    if payslip_error:
        form.payslip.errors = [payslip_error]
    if not valid or form.commune_query.errors or form.establishment_query.errors or payslip_error:
        return show(form, 422, kept=kept)
    if first_sending(form):
        if not limits.IDENTIFICATION.hit(form.numero.data):
            db.session.rollback()  # Not sent: the page's token is free again.
            message = limits.too_many_message(limits.IDENTIFICATION, form.numero.data)
            return show(form, 429, {"form": message}, kept=kept)
        agent = matching_agent(form.numero.data, form.birth_date.data)
        save_request(form, agent, establishment, routed_delegation(agent, establishment), uploads.kept_file(kept))
    flow_state.discard(STATE)
    uploads.forget_kept(kept)
    session["questionnaire_sent"] = True
    return see_other(url_for(".sent"))


def submission_token(form: QuestionnaireForm) -> str | None:
    """The token of the page the questionnaire was sent from, if it carries one."""
    token = form.submission.data
    return token if isinstance(token, str) and 16 <= len(token) <= 64 else None


def first_sending(form: QuestionnaireForm) -> bool:
    """False when the page was already sent (a double click, the back button), even by a request running now.

    Its token is claimed in the request's transaction. A page without a token (one cached
    before it had one) is sent as it is.
    """
    token = submission_token(form)
    return token is None or flow_state.claim(SENT, token, SENT_LIFETIME)


def matching_agent(numero: str, birth_date: date) -> Agent | None:
    """The agent of this numéro and birth date; a mismatch is recorded as an identification failure."""
    agent = find_agent(numero)
    if agent is not None and agent.birth_date == birth_date:
        return agent
    events.record(Event.IDENTIFICATION_FAILURE, agent, "questionnaire")
    return None


def routed_delegation(agent: Agent | None, declared: Establishment) -> Delegation | None:
    """The delegation of the establishment on file when there is one, else of the declared one."""
    on_file = delegation_of(agent.establishment) if agent is not None else None
    return on_file or delegation_of(declared)


def save_request(form, agent, establishment, delegation, checked) -> MailChangeRequest:
    """Store the payslip, then the request and the delegation's mail in one transaction."""
    with uploads.stored(checked) as path:
        mail_request = MailChangeRequest(
            agent=agent,
            delegation=delegation,
            numero=form.numero.data,
            birth_date=form.birth_date.data,
            new_email=form.new_email.data,
            last_name=form.last_name.data,
            first_name=form.first_name.data,
            commune_insee=establishment.commune_insee,
            establishment=establishment,
            payslip_path=path,
            payslip_filename=checked.filename,
            payslip_mimetype=checked.mimetype,
            payslip_size=len(checked.content),
        )
        db.session.add(mail_request)
        db.session.flush()
        send_mail(
            delegation.email,
            f"Mise à jour adresse mail CGOS – demande n° {mail_request.id}",
            "questionnaire_to_delegation",
            attachments=[(path, checked.filename, checked.mimetype)],
            request=mail_request,
            link=external_url("delegation.request_detail", request_id=mail_request.id),
        )
        commit_or_roll_back()
    return mail_request


@bp.get("/questionnaire-adresse-mail/envoye")
def sent():
    """What happens next, once the questionnaire is sent."""
    if not session.get("questionnaire_sent"):
        return see_other(url_for(".form"))
    return render_page("questionnaire/sent.html", tab="first_connection")
