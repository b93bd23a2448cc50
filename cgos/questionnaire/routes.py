"""The mail-change questionnaire (guide 1.2.2 and 1.2.3), as question pages, routed to the regional delegation.

Its answers, and the payslip kept aside, wait in the flow's state on the server: the
request and the delegation's mail are written by « Envoyer » on « Vérifiez vos réponses »,
once. Whether the numéro and the birth date are an agent's is looked up only then, and
never said, so no page answers differently for a right and a wrong pair (M1 of November).
"""

from datetime import date, timedelta

from flask import Blueprint, flash, request, session, url_for

from .. import events, flow_state, uploads
from ..credentials import limits
from ..credentials.accounts import find_agent
from ..events import Event, Reason
from ..extensions import commit_or_roll_back, db
from ..htmx import render_page, see_other
from ..mail import external_url, send_mail
from ..models import Agent, Delegation, Establishment, MailChangeRequest
from ..number_request.forms import PayslipForm
from ..places.chooser import CHOOSE_ESTABLISHMENT, choices, chosen_establishment, is_chooser_action
from ..places.search import establishment_in
from ..provisional_password.steps import too_many
from ..question_pages import Question, QuestionPages
from ..regions import delegation_of
from .forms import EstablishmentForm, IdentityForm, NewAddressForm

bp = Blueprint("questionnaire", __name__)
URL = "/questionnaire-adresse-mail"
TAB = "first_connection"
PAGES = QuestionPages(
    purpose="questionnaire",
    lifetime=timedelta(hours=1),
    questions=(
        Question("identity", ".identity", "Votre identité"),
        Question("address", ".address", "Votre nouvelle adresse mail"),
        Question("establishment", ".establishment", "Votre établissement"),
        Question("payslip", ".payslip", "Votre bulletin de paie ou de pension"),
    ),
    check_endpoint=".check",
    tab=TAB,
)
NO_DELEGATION = "Cet établissement ne relève d'aucune délégation régionale du C.G.O.S."
ABANDONED = "Votre demande de changement d'adresse mail est abandonnée : vos réponses ont été effacées."


def came_from_url() -> str:
    """The identification step the agent came from (« 1ère connexion » unless « Mot de passe oublié »), numéro typed."""
    came_from = "forgotten_password" if flow_state.load("forgotten_password") else "first_connection"
    return url_for(f"{came_from}.identify", numero=prefill().get("numero"))


@bp.get("/adresse-mail-inexacte")
def wrong_address():
    """« Demande de modification de mon adresse mail »: the guide's message and the way on."""
    return render_page("questionnaire/wrong_address.html", tab=TAB, back_url=came_from_url())


def prefill() -> dict:
    """The numéro the agent typed at an identification step of this browser (never data from the file)."""
    for purpose in ("first_connection", "forgotten_password"):
        numero = (flow_state.load(purpose) or {}).get("numero")
        if isinstance(numero, str):
            return {"numero": numero}
    return {}


def stored_date(value) -> date | None:
    """A date kept in the state (ISO text), or None."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@bp.route(URL, methods=["GET", "POST"])
def identity():
    """Question page 1: numéro, birth date and names, checked for their form only (never against the file)."""
    current = PAGES.state()
    given = PAGES.given(current, "identity")
    # What was answered before fills a page shown, never a field a POST left out.
    kept = {**prefill(), **given, "birth_date": stored_date(given.get("birth_date"))}
    form = IdentityForm(data=kept) if request.method == "GET" else IdentityForm()
    if request.method == "POST" and form.validate():
        values = {name: form[name].data for name in ("numero", "last_name", "first_name")}
        PAGES.save_answers(current, "identity", {**values, "birth_date": form.birth_date.data.isoformat()})
        return see_other(PAGES.next_url("identity"))
    status = 422 if request.method == "POST" else 200
    return PAGES.render("identity", "questionnaire/identity.html", form, status, before=came_from_url())


def answering(key: str):
    """The state of a questionnaire under way, or where to go when it has not started (its first page)."""
    current = PAGES.state()
    if not PAGES.answers(current) and key != "identity":
        return None, see_other(url_for(".identity"))
    return current, None


@bp.route(f"{URL}/adresse", methods=["GET", "POST"])
def address():
    """Question page 2: the new mail address, typed twice."""
    current, elsewhere = answering("address")
    if elsewhere:
        return elsewhere
    form = NewAddressForm(data=PAGES.given(current, "address")) if request.method == "GET" else NewAddressForm()
    if request.method == "POST" and form.validate():
        values = {name: form[name].data for name in ("new_email", "new_email_confirmation")}
        PAGES.save_answers(current, "address", values)
        return see_other(PAGES.next_url("address"))
    return PAGES.render("address", "questionnaire/address.html", form, 422 if request.method == "POST" else 200)


@bp.route(f"{URL}/etablissement", methods=["GET", "POST"])
def establishment():
    """Question page 3: the establishment, chosen in its commune, that has a delegation."""
    current, elsewhere = answering("establishment")
    if elsewhere:
        return elsewhere
    given = PAGES.given(current, "establishment")
    form = EstablishmentForm(data=given) if request.method == "GET" else EstablishmentForm()
    choosing = request.method == "POST" and is_chooser_action(request.form)

    def show(status: int = 200):
        """The page, with the city and establishment chosen, or the choices matching what was typed."""
        found = choices(form, given if request.method == "GET" else None)
        return PAGES.render("establishment", "questionnaire/establishment.html", form, status, **found)

    if request.method == "GET" or choosing:
        return show()
    form.validate()
    chosen = chosen_establishment(form)
    if chosen is not None and delegation_of(chosen) is None:
        form.establishment_query.errors = [NO_DELEGATION]
    if any(field.errors for field in form):
        return show(422)
    typed = {name: form[name].data for name in ("commune_query", "establishment_query")}
    PAGES.save_answers(
        current, "establishment", {**typed, "commune": chosen.commune_insee, "establishment": str(chosen.id)}
    )
    return see_other(PAGES.next_url("establishment"))


@bp.route(f"{URL}/bulletin", methods=["GET", "POST"])
@uploads.accepts_payslip
def payslip():
    """Question page 4: the payslip, checked and kept aside with the questionnaire's state until « Envoyer »."""
    current, elsewhere = answering("payslip")
    if elsewhere:
        return elsewhere
    form = PayslipForm()
    kept = uploads.kept_payslip(current.get("payslip"))
    template = "questionnaire/payslip.html"
    if request.method == "GET":
        return PAGES.render("payslip", template, form, kept=kept)
    # Counted: a file written aside, as « Envoyer » is.
    if getattr(request.files.get("payslip"), "filename", None) and not limits.QUESTIONNAIRE_ADDRESS.hit_here():
        refusal = too_many(limits.QUESTIONNAIRE_ADDRESS, limits.client_address())
        return PAGES.render("payslip", template, form, 429, refusal, kept=kept)
    kept, problem = uploads.keep_payslip(request.files.get("payslip"), kept)
    if kept is not None:
        # The file kept is named at the state's top, as `uploads purge` looks for it; the answer is its name.
        PAGES.save_answers({**current, "payslip": kept}, "payslip", {"filename": kept["filename"]})
    if problem:
        form.payslip.errors = [problem]
        return PAGES.render("payslip", template, form, 422, kept=kept)
    return see_other(PAGES.next_url("payslip"))


def answered(current: dict) -> dict:
    """What « Vérifiez vos réponses » shows and « Envoyer » sends, from the answers kept."""
    given = PAGES.answers(current)
    identity, work = given["identity"], given["establishment"]
    return {
        **{name: identity.get(name) for name in ("numero", "last_name", "first_name")},
        "birth_date": stored_date(identity.get("birth_date")),
        "new_email": given["address"].get("new_email"),
        "establishment": establishment_in(work.get("commune"), work.get("establishment")),
    }


def check_page(values: dict, kept: dict, status: int = 200, errors: dict | None = None):
    """« Vérifiez vos réponses », the last step."""
    return render_page(
        "questionnaire/check.html",
        status=status,
        tab=TAB,
        values=values,
        kept=kept,
        errors=errors or {},
        step=PAGES.steps,
        steps=PAGES.steps,
    )


@bp.route(f"{URL}/verification", methods=["GET", "POST"])
def check():
    """« Vérifiez vos réponses »: every answer with « Modifier »; « Envoyer » sends the questionnaire, once."""
    current = PAGES.state()
    if not PAGES.answers(current):
        # Sent already (a second « Envoyer », the back button), abandoned or expired: nothing to send.
        return see_other(url_for(".sent" if session.get("questionnaire_sent") else ".identity"))
    if missing := PAGES.unanswered(current):
        return see_other(url_for(missing))
    kept = uploads.kept_payslip(current.get("payslip"))
    if kept is None:
        return see_other(url_for(".payslip"))
    values = answered(current)
    establishment = values["establishment"]
    errors = {}
    if establishment is None or delegation_of(establishment) is None:
        errors["establishment"] = CHOOSE_ESTABLISHMENT
    if request.method == "GET" or errors:
        return check_page(values, kept, 422 if request.method == "POST" else 200, errors)
    if not limits.QUESTIONNAIRE_ADDRESS.hit_here():
        return check_page(values, kept, 429, too_many(limits.QUESTIONNAIRE_ADDRESS, limits.client_address()))
    # The state is used once, taken in the request's transaction: of two « Envoyer » at once
    # (a double tap, two tabs), the second waits, finds it gone and sends nothing.
    if flow_state.take(PAGES.purpose, commit=False) is not None:
        if not limits.IDENTIFICATION.hit(values["numero"]):
            db.session.rollback()  # Not sent: the answers are still there.
            return check_page(values, kept, 429, too_many(limits.IDENTIFICATION, values["numero"]))
        agent = matching_agent(values["numero"], values["birth_date"])
        save_request(values, agent, routed_delegation(agent, establishment), uploads.kept_file(kept))
        uploads.forget_kept(kept)
    flow_state.discard(PAGES.purpose)
    session["questionnaire_sent"] = True
    return see_other(url_for(".sent"))


def matching_agent(numero: str, birth_date: date) -> Agent | None:
    """The agent of this numéro and birth date; a mismatch is recorded as an identification failure."""
    agent = find_agent(numero)
    if agent is not None and agent.birth_date == birth_date:
        return agent
    events.record(Event.IDENTIFICATION_FAILURE, agent, reason=Reason.QUESTIONNAIRE)
    return None


def routed_delegation(agent: Agent | None, declared: Establishment) -> Delegation | None:
    """The delegation of the establishment on file when there is one, else of the declared one."""
    on_file = delegation_of(agent.establishment) if agent is not None else None
    return on_file or delegation_of(declared)


def save_request(values: dict, agent, delegation, checked) -> MailChangeRequest:
    """Store the payslip, then the request and the delegation's mail in one transaction."""
    establishment = values["establishment"]
    with uploads.stored(checked) as path:
        mail_request = MailChangeRequest(
            agent=agent,
            delegation=delegation,
            **{name: values[name] for name in ("numero", "birth_date", "new_email", "last_name", "first_name")},
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
            questionnaire=mail_request,
            link=external_url("backoffice.request_detail", request_id=mail_request.id),
        )
        commit_or_roll_back()
    return mail_request


@bp.route(f"{URL}/abandonner", methods=["GET", "POST"])
def abandon():
    """« Abandonner ma demande »: asked once more; « Abandonner » throws the answers and the payslip away."""
    if request.method == "GET":
        return render_page(
            "questionnaire/abandon.html", tab=TAB, back_url=url_for(".check"), action=url_for(".abandon")
        )
    current = PAGES.state()
    uploads.forget_kept(current.get("payslip"))
    flow_state.discard(PAGES.purpose)
    flash(ABANDONED, "info")
    return see_other(came_from_url())


@bp.get(f"{URL}/envoye")
def sent():
    """What happens next, once the questionnaire is sent."""
    if not session.get("questionnaire_sent"):
        return see_other(url_for(".identity"))
    return render_page("questionnaire/sent.html", tab=TAB)
