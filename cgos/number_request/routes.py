"""« Demande de n°C.G.O.S »: by NIR, recover a known numéro or register (guide part 3).

The wizard's state (the agent found, or the NIR's facts and digest, then each
question page's answers and the payslip kept) is kept on the server; the session
cookie only holds a handle to it. The registration row is written at « Envoyer »
on « Vérifiez vos réponses », never before.
"""

from datetime import date, timedelta
from functools import partial

from flask import Blueprint, flash, request, session, url_for

from .. import dates, flow_state, uploads
from ..backoffice.check_time import usual_check_days
from ..credentials import limits
from ..credentials.accounts import find_agent_by_nir_digest
from ..extensions import db
from ..htmx import render_page, see_other
from ..identifiers import nir as nir_rules
from ..links import LinkOutcome
from ..models import Agent
from ..places.chooser import CHOOSE_ESTABLISHMENT, choices, chosen_establishment, is_chooser_action
from ..places.search import communes_for_postal_code
from ..provisional_password.forms import MailConfirmationForm
from ..provisional_password.steps import WRONG_ADDRESS, Retyped, check_retyped_address, too_many
from ..regions import delegation_for, delegation_of
from . import services
from .forms import POSITIONS, AddressForm, EstablishmentForm, IdentityForm, NirForm, PayslipForm, countries

bp = Blueprint("number_request", __name__, url_prefix="/demande-numero")
STATE = "number_request"
STATE_LIFETIME = timedelta(hours=1)
TAB = "number_request"
ABANDONED = "Votre demande de numéro C.G.O.S est abandonnée : vos réponses ont été effacées."


def page(template: str, status: int = 200, **context):
    """A page of this tab."""
    return render_page(template, status=status, tab=TAB, **context)


@bp.route("", methods=["GET", "POST"])
def start():
    """The NIR: its structure is checked, then whether the C.G.O.S knows it.

    The NIR of a registration under way comes back typed (« Retour »); typed again, it
    brings its answers back. Another NIR starts an empty registration: the answers of
    the first are thrown away, never shown for another NIR.
    """
    form = NirForm()
    current, facts = registration_state()
    kept = services.unseal_nir(current.get("nir")) if facts else None
    typed = request.form.get("nir", "") if request.method == "POST" else kept or ""
    # The digits' keyboard, unless the agent asked for letters (Corsica's 2A, 2B) or typed some.
    letters = request.args.get("clavier") == "lettres" or any(c.isalpha() for c in typed)
    show = partial(page, "number_request/nir.html", form=form, letters=letters, steps=STEP_COUNT)
    if request.method == "GET":
        return show(errors={}, typed=nir_rules.format(kept) if kept else "")
    if not limits.NIR_LOOKUP_ADDRESS.hit_here():
        return show(429, errors=too_many(limits.NIR_LOOKUP_ADDRESS, limits.client_address()))
    if not form.validate():
        return show(422, errors={})
    facts_typed = services.nir_facts(form.nir.data)
    if facts and facts.get("digest") == facts_typed["digest"]:
        # The NIR of this browser's registration, counted when it was first looked up.
        flow_state.save(STATE, current, STATE_LIFETIME)
        return see_other(url_for(".identity"))
    if not limits.NIR.hit(facts_typed["digest"]):
        return show(429, errors=too_many(limits.NIR, facts_typed["digest"]))
    uploads.forget_kept(current.get("payslip"))
    agent = find_agent_by_nir_digest(facts_typed["digest"])
    if agent is not None:
        flow_state.save(STATE, {"agent": agent.id}, STATE_LIFETIME)
        return see_other(url_for(".known"))
    flow_state.save(STATE, {"facts": facts_typed, "nir": services.seal_nir(form.nir.data)}, STATE_LIFETIME)
    return see_other(url_for(".identity"))


def state() -> dict:
    """What the NIR step found, kept on the server."""
    value = flow_state.load(STATE)
    return value if isinstance(value, dict) else {}


@bp.route("/adresse-mail", methods=["GET", "POST"])
def known():
    """A known NIR: the numéro goes to the mail address on file, once confirmed."""
    agent_id = state().get("agent")
    agent = db.session.get(Agent, agent_id) if isinstance(agent_id, int) else None
    if agent is None:
        return see_other(url_for(".start"))
    if not agent.email:
        return page("number_request/no_mail.html", delegation=delegation_for(agent))
    form = MailConfirmationForm()
    context = {"form": form, "errors": {}}
    if request.method == "GET":
        return page("number_request/known.html", **context)
    if not limits.NIR_LOOKUP_ADDRESS.hit_here():
        context["errors"] = too_many(limits.NIR_LOOKUP_ADDRESS, limits.client_address())
        return page("number_request/known.html", 429, **context)
    if not form.validate():
        return page("number_request/known.html", 422, **context)
    outcome = check_retyped_address(agent, form.email.data)
    if outcome is Retyped.BLOCKED:
        return page("number_request/no_mail.html", 422, delegation=delegation_for(agent), wrong=True)
    if outcome is Retyped.WRONG:
        form.email.errors.append(WRONG_ADDRESS)
        return page("number_request/known.html", 422, **context)
    services.mail_known_numero(agent)
    flow_state.discard(STATE, commit=False)
    db.session.commit()
    session["numero_sent"] = True
    return see_other(url_for(".sent"))


@bp.get("/envoye")
def sent():
    """The numéro has been mailed."""
    if not session.get("numero_sent"):
        return see_other(url_for(".start"))
    return page("number_request/sent.html")


# The question pages of the registration, in order: (key, endpoint, title). The NIR is step 1,
# « Vérifiez vos réponses » the last.
QUESTIONS = (
    ("identity", ".identity", "Votre identité"),
    ("address", ".address", "Votre adresse"),
    ("establishment", ".establishment", "Votre établissement"),
    ("payslip", ".payslip", "Votre bulletin de paie ou de pension"),
)
STEP_COUNT = len(QUESTIONS) + 2


def step_of(key: str) -> int:
    """The step number of a question page (the NIR is step 1)."""
    return 2 + [question[0] for question in QUESTIONS].index(key)


def answers(current: dict) -> dict:
    """The answers given so far, by question page."""
    value = current.get("answers")
    return value if isinstance(value, dict) else {}


def save_answers(current: dict, key: str, values: dict) -> None:
    """Keep one page's answers with the rest of the registration's state."""
    flow_state.save(STATE, {**current, "answers": {**answers(current), key: values}}, STATE_LIFETIME)


def next_url(key: str) -> str:
    """Where « Continuer » leads: back to the check page when coming from « Modifier », else the next page."""
    if request.args.get("retour") == "verification":
        return url_for(".check")
    keys = [question[0] for question in QUESTIONS]
    position = keys.index(key)
    return url_for(QUESTIONS[position + 1][1]) if position + 1 < len(QUESTIONS) else url_for(".check")


def question_page(key: str, template: str, form, status: int = 200, errors: dict | None = None, **context):
    """A question page of the registration, with its step and the address it posts to."""
    title = next(question[2] for question in QUESTIONS if question[0] == key)
    return page(
        template,
        status,
        form=form,
        errors=errors or {},
        title=title,
        step=step_of(key),
        steps=STEP_COUNT,
        action=url_for(request.endpoint, retour=request.args.get("retour")),
        **context,
    )


def registration_state() -> tuple[dict, dict | None]:
    """(the state, the NIR's facts) of a registration under way; facts None when there is none."""
    current = state()
    facts = current.get("facts")
    return current, facts if isinstance(facts, dict) else None


def refused_here():
    """The address's registration limit (payslips sent, registrations sent); the message when over it."""
    if limits.REGISTRATION_ADDRESS.hit_here():
        return None
    return too_many(limits.REGISTRATION_ADDRESS, limits.client_address())


def entry_date_problem(entry: date, birth: date | None) -> str | None:
    """The entry-date rule on today's date in Paris.

    Checked on its question page, and again on « Vérifiez vos réponses »: a birth
    date changed through « Modifier » may make the entry date too early.
    """
    return services.entry_date_problem(entry, birth, dates.paris_today())


@bp.route("/inscription", methods=["GET", "POST"])
def identity():
    """Question page 1: civility, names, birth date and mail, checked against the NIR."""
    current, facts = registration_state()
    if facts is None:
        return see_other(url_for(".start"))
    if request.method == "GET":
        given = answers(current).get("identity", {})
        form = IdentityForm(data={**given, "birth_date": services.stored_date(given.get("birth_date"))})
        return question_page("identity", "number_request/identity.html", form, masked_nir=facts["masked"])
    form = IdentityForm()
    show = partial(question_page, "identity", "number_request/identity.html", form, masked_nir=facts["masked"])
    form.validate()
    birth = form.birth_date.data if isinstance(form.birth_date.data, date) else None
    for name, message in services.identity_mismatches(facts, form.civility.data, birth).items():
        if not form[name].errors:
            form[name].errors = [message]
    if any(field.errors for field in form):
        return show(422)
    values = {name: form[name].data for name in ("civility", "last_name", "first_name", "email")}
    save_answers(current, "identity", {**values, "birth_date": birth.isoformat()})
    return see_other(next_url("identity"))


@bp.route("/inscription/adresse", methods=["GET", "POST"])
def address():
    """Question page 2: the postal address; in France, the city must match the postal code."""
    current, facts = registration_state()
    if facts is None:
        return see_other(url_for(".start"))
    form = AddressForm(data=answers(current).get("address", {})) if request.method == "GET" else AddressForm()

    def show(status: int = 200, errors: dict | None = None):
        """The page, with the cities of the postal code typed."""
        cities = communes_for_postal_code(form.postal_code.data or "")
        return question_page("address", "number_request/address.html", form, status, errors, cities=cities)

    if request.method == "GET":
        return show()
    form.validate()
    commune = None
    if form.country.data == "FR" and form.postal_code.data and form.city.data:
        commune, problem = services.french_city(form.postal_code.data, form.city.data)
        if problem:
            form.city.errors = [problem]
    if any(field.errors for field in form):
        return show(422)
    values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    values["postal_code"] = form.postal_code.data.strip()
    values["city"] = commune.name if commune else form.city.data.strip()
    values["commune_insee"] = commune.insee if commune else None
    save_answers(current, "address", values)
    return see_other(next_url("address"))


@bp.route("/inscription/etablissement", methods=["GET", "POST"])
def establishment():
    """Question page 3: the establishment (chosen in its commune), the entry date and the position."""
    current, facts = registration_state()
    if facts is None:
        return see_other(url_for(".start"))
    given = answers(current).get("establishment", {})
    if request.method == "GET":
        form = EstablishmentForm(data={**given, "entry_date": services.stored_date(given.get("entry_date"))})
    else:
        form = EstablishmentForm()
    choosing = request.method == "POST" and is_chooser_action(request.form)

    def show(status: int = 200, errors: dict | None = None):
        """The page, with the city and establishment chosen, or the choices matching what was typed."""
        found = choices(form, given if request.method == "GET" else None)
        return question_page("establishment", "number_request/establishment.html", form, status, errors, **found)

    if request.method == "GET" or choosing:
        return show()
    form.validate()
    chosen = chosen_establishment(form)
    birth = services.stored_date(answers(current).get("identity", {}).get("birth_date"))
    if isinstance(form.entry_date.data, date) and (problem := entry_date_problem(form.entry_date.data, birth)):
        form.entry_date.errors = [problem]
    if any(field.errors for field in form):
        return show(422)
    values = {
        "commune_query": form.commune_query.data,
        "commune": chosen.commune_insee,
        "establishment_query": form.establishment_query.data,
        "establishment": str(chosen.id),
        "entry_date": form.entry_date.data.isoformat(),
        "position": form.position.data,
    }
    save_answers(current, "establishment", values)
    return see_other(next_url("establishment"))


@bp.route("/inscription/bulletin", methods=["GET", "POST"])
@uploads.accepts_payslip
def payslip():
    """Question page 4: the payslip, kept on the server with the registration's state until « Envoyer »."""
    current, facts = registration_state()
    if facts is None:
        return see_other(url_for(".start"))
    form = PayslipForm()
    kept = uploads.kept_payslip(current.get("payslip"))
    show = partial(question_page, "payslip", "number_request/payslip.html", form)
    if request.method == "GET":
        return show(kept=kept)
    if refusal := refused_here():
        return show(429, refusal, kept=kept)
    kept, problem = uploads.keep_payslip(request.files.get("payslip"), kept)
    if kept is not None:
        current = {**current, "payslip": kept}
        flow_state.save(STATE, current, STATE_LIFETIME)
    if problem:
        form.payslip.errors = [problem]
        return show(422, kept=kept)
    return see_other(next_url("payslip"))


def incomplete(current: dict) -> str | None:
    """The endpoint of the first question page not answered yet, or None."""
    given = answers(current)
    for key, endpoint, _ in QUESTIONS[:-1]:
        if not isinstance(given.get(key), dict):
            return endpoint
    if uploads.kept_payslip(current.get("payslip")) is None:
        return ".payslip"
    return None


@bp.route("/inscription/verification", methods=["GET", "POST"])
def check():
    """« Vérifiez vos réponses »: every answer with « Modifier »; « Envoyer » writes the registration."""
    current, facts = registration_state()
    if facts is None:
        return see_other(url_for(".start"))
    if missing := incomplete(current):
        return see_other(url_for(missing))
    values = services.registration_values(facts, answers(current))
    kept = uploads.kept_payslip(current.get("payslip"))
    errors = {}
    if values["establishment"] is None:
        errors["establishment"] = CHOOSE_ESTABLISHMENT
    if problem := entry_date_problem(values["entry_date"], values["birth_date"]):
        errors["entry_date"] = problem
    show = partial(
        page,
        "number_request/check.html",
        values=values,
        kept=kept,
        masked_nir=facts["masked"],
        positions=POSITIONS,
        country_names=dict((choice.value, choice.label) for choice in countries()),
        step=STEP_COUNT,
        steps=STEP_COUNT,
    )
    if request.method == "GET":
        return show(errors=errors)
    if errors:
        return show(422, errors=errors)
    if refusal := refused_here():
        return show(429, errors=refusal)
    # The state is used once, taken in the registration's transaction: of two « Envoyer » at
    # once (a double click, two tabs), the second waits, finds it gone and registers nothing.
    if flow_state.take(STATE, commit=False) is not None:
        services.register(values, uploads.kept_file(kept))
        uploads.forget_kept(kept)
    flow_state.discard(STATE)
    session["registration_sent"] = values["email"]
    delegation = delegation_of(values["establishment"])
    session["registration_delegation"] = delegation.id if delegation else None
    return see_other(url_for(".registration_sent"))


@bp.route("/inscription/abandonner", methods=["GET", "POST"])
def abandon():
    """« Abandonner ma demande », asked once more: « Oui » throws the answers and the payslip away."""
    current, facts = registration_state()
    if request.method == "GET":
        if facts is None:
            return see_other(url_for(".start"))
        return page("number_request/abandon.html", action=url_for(".abandon"), back_url=url_for(".check"))
    if facts is not None:
        uploads.forget_kept(current.get("payslip"))
        flow_state.discard(STATE)
    flash(ABANDONED, "info")
    return see_other(url_for(".start"))


@bp.get("/inscription/envoyee")
def registration_sent():
    """« Vous devez confirmer votre adresse de messagerie sous 48 heures », then the delegation's check."""
    email = session.get("registration_sent")
    if not email:
        return see_other(url_for(".start"))
    delegation_id = session.get("registration_delegation")
    check_days = usual_check_days(delegation_id if isinstance(delegation_id, int) else None)
    return page("number_request/registration_sent.html", email=email, check_days=check_days)


@bp.get("/confirmer/<token>")
def confirm(token: str):
    """The link of the confirmation mail: the agent is created and gets a new numéro; the delegation checks next."""
    registration, outcome = services.confirm(token)
    db.session.commit()
    check_days = usual_check_days(registration.delegation_id) if outcome is LinkOutcome.CREATED else None
    return page(
        "number_request/confirmed.html",
        outcome.status,
        registration=registration,
        outcome=outcome,
        Outcome=LinkOutcome,
        check_days=check_days,
    )
