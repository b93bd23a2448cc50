"""« Demande de n°C.G.O.S »: by NIR, recover a known numéro or register (guide part 3).

The wizard's state (the agent found, or the NIR's facts and digest) is kept on
the server; the session cookie only holds a handle to it.
"""

from datetime import date, timedelta

from flask import Blueprint, render_template, request, session, url_for

from .. import flow_state, uploads
from ..credentials import limits
from ..credentials.accounts import find_agent_by_nir_digest
from ..delegations import delegation_for
from ..extensions import db
from ..htmx import render_page, see_other
from ..identification.forms import MailConfirmationForm
from ..identification.steps import WRONG_ADDRESS, check_retyped_address, too_many
from ..links import LinkOutcome
from ..models import Agent
from ..places.chooser import choices, chosen_establishment
from . import services
from .forms import NirForm, RegistrationForm

bp = Blueprint("number_request", __name__, url_prefix="/demande-numero")
STATE = "number_request"
STATE_LIFETIME = timedelta(hours=1)
TAB = "number_request"
uploads.UPLOAD_ENDPOINTS.add("number_request.registration")


def page(template: str, status: int = 200, **context):
    """A page of this tab."""
    return render_page(template, status=status, tab=TAB, **context)


@bp.route("", methods=["GET", "POST"])
def start():
    """The NIR: its structure is checked, then whether the C.G.O.S knows it."""
    form = NirForm()
    if request.method == "GET":
        return page("number_request/nir.html", form=form, errors={})
    if not limits.NIR_LOOKUP_ADDRESS.hit_here():
        return page(
            "number_request/nir.html",
            429,
            form=form,
            errors=too_many(limits.NIR_LOOKUP_ADDRESS, limits.client_address()),
        )
    if not form.validate():
        return page("number_request/nir.html", 422, form=form, errors={})
    facts = services.nir_facts(form.nir.data)
    if not limits.NIR.hit(facts["digest"]):
        return page("number_request/nir.html", 429, form=form, errors=too_many(limits.NIR, facts["digest"]))
    agent = find_agent_by_nir_digest(facts["digest"])
    if agent is not None:
        flow_state.save(STATE, {"agent": agent.id}, STATE_LIFETIME)
        return see_other(url_for(".known"))
    flow_state.save(STATE, {"facts": facts}, STATE_LIFETIME)
    return see_other(url_for(".registration"))


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
    if outcome == "blocked":
        return page("number_request/no_mail.html", 422, delegation=delegation_for(agent), wrong=True)
    if outcome == "wrong":
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


def registration_choices(form: RegistrationForm) -> dict:
    """Communes and establishments matching what was typed and chosen so far, and the postal code's cities."""
    return {**choices(form), "cities": services.communes_for_postal_code(form.postal_code.data or "")}


@bp.route("/inscription", methods=["GET", "POST"])
def registration():
    """An unknown NIR: the registration form of the guide."""
    facts = state().get("facts")
    if not isinstance(facts, dict):
        return see_other(url_for(".start"))
    form = RegistrationForm()

    def show(status: int = 200, errors: dict | None = None):
        """The form, with what was typed and the choices it leads to."""
        return page(
            "number_request/registration.html",
            status,
            form=form,
            errors=errors or {},
            masked_nir=facts["masked"],
            **registration_choices(form),
        )

    if request.method == "GET" or request.form.get("action", "").startswith("search"):
        return show()
    if not limits.REGISTRATION_ADDRESS.hit_here():
        return show(429, too_many(limits.REGISTRATION_ADDRESS, limits.client_address()))
    form.validate()
    birth = form.birth_date.data if isinstance(form.birth_date.data, date) else None
    for name, message in services.identity_mismatches(facts, form.civility.data, birth).items():
        if not form[name].errors:
            form[name].errors = [message]
    commune = None
    if form.country.data == "FR" and form.postal_code.data and form.city.data:
        commune, problem = services.french_city(form.postal_code.data, form.city.data)
        if problem:
            form.city.errors = [problem]
    if isinstance(form.entry_date.data, date):
        problem = services.entry_date_problem(form.entry_date.data, birth, date.today())
        if problem:
            form.entry_date.errors = [problem]
    establishment = chosen_establishment(form)
    checked, payslip_error = uploads.check_payslip(request.files.get("payslip"))
    if payslip_error:
        form.payslip.errors = [payslip_error]
    if any(field.errors for field in form):
        return show(422)
    values = {
        "nir_digest": facts["digest"],
        "nir_masked": facts["masked"],
        "civility": form.civility.data,
        "last_name": form.last_name.data,
        "first_name": form.first_name.data,
        "birth_date": birth,
        "email": form.email.data,
        "address_flat": form.address_flat.data,
        "address_building": form.address_building.data,
        "address_street": form.address_street.data,
        "address_locality": form.address_locality.data,
        "country": form.country.data,
        "postal_code": form.postal_code.data.strip(),
        "city": commune.name if commune else form.city.data.strip(),
        "commune_insee": commune.insee if commune else None,
        "establishment": establishment,
        "entry_date": form.entry_date.data,
        "position": form.position.data,
    }
    registration = services.register(values, checked)
    flow_state.discard(STATE)
    session["registration_sent"] = registration.email
    return see_other(url_for(".registration_sent"))


@bp.get("/inscription/envoyee")
def registration_sent():
    """« Vous devez confirmer votre adresse de messagerie sous 48 heures »."""
    email = session.get("registration_sent")
    if not email:
        return see_other(url_for(".start"))
    return page("number_request/registration_sent.html", email=email)


@bp.get("/confirmer/<token>")
def confirm(token: str):
    """The link of the confirmation mail: the agent is created and gets a new numéro."""
    registration, outcome = services.confirm(token)
    db.session.commit()
    return page(
        "number_request/confirmed.html", outcome.status, registration=registration, outcome=outcome, Outcome=LinkOutcome
    )


@bp.get("/villes")
def cities():
    """The communes of a postal code, as the options offered for « Ville »."""
    cities = services.communes_for_postal_code(request.args.get("postal_code", ""))
    return render_template("partials/number_request/cities.html", cities=cities)
