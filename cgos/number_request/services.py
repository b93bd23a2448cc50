"""Numéros C.G.O.S: recovering a known one, registering an unknown agent."""

import hashlib
import secrets
from datetime import date

from cryptography.fernet import InvalidToken

from .. import events, sealing, uploads
from ..backoffice.check_time import usual_check_days
from ..credentials.accounts import find_agent_by_nir_digest
from ..credentials.hashing import nir_digest
from ..dates import years_after
from ..events import Event
from ..extensions import commit_or_roll_back, db
from ..identifiers import nir as nir_rules
from ..identifiers import numero as numero_rules
from ..links import LINK_LIFETIME, LinkOutcome, is_link_expired, link_expires_at
from ..mail import external_url, send_mail
from ..models import Agent, Commune, Registration, utcnow
from ..places.search import communes_for_postal_code, establishment_in
from ..reference_data import normalize_search_text
from ..regions import delegation_for, delegation_of

_random = secrets.SystemRandom()
# The key of the NIR a registration's flow state keeps, to type it back on « Retour ».
NIR_SEALING = b"cgos registration nir while its flow lives"


def nir_facts(nir: str) -> dict:
    """What the form must agree with, without the NIR itself: sex, year, month."""
    return {
        "sex": nir_rules.sex(nir),
        "year": nir_rules.birth_year_suffix(nir),
        "month": nir_rules.birth_month(nir),
        "digest": nir_digest(nir),
        "masked": nir_rules.mask(nir),
    }


def seal_nir(nir: str) -> str:
    """The NIR as a registration's flow state keeps it: sealed, never in clear in the database."""
    return sealing.cipher(NIR_SEALING).encrypt(nir_rules.compact(nir).encode()).decode()


def unseal_nir(sealed) -> str | None:
    """The NIR a flow state keeps, or None (none kept, or sealed under a key dropped since)."""
    if not isinstance(sealed, str):
        return None
    try:
        return sealing.cipher(NIR_SEALING).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def identity_mismatches(facts: dict, civility: str | None, birth: date | None) -> dict[str, str]:
    """Field -> message for what disagrees with the NIR (sex digit, year, month)."""
    problems = {}
    if civility in ("M.", "Mme") and facts["sex"] != (1 if civility == "M." else 2):
        problems["civility"] = (
            "La civilité ne correspond pas au numéro de sécurité sociale : son premier chiffre est "
            f"{facts['sex']} ({'homme' if facts['sex'] == 1 else 'femme'})."
        )
    if isinstance(birth, date):
        if birth.year % 100 != facts["year"]:
            problems["birth_date"] = (
                "L'année de naissance ne correspond pas au numéro de sécurité sociale (2e et 3e chiffres)."
            )
        elif facts["month"] is not None and birth.month != facts["month"]:
            problems["birth_date"] = (
                "Le mois de naissance ne correspond pas au numéro de sécurité sociale (4e et 5e chiffres)."
            )
    return problems


def entry_date_problem(entry: date, birth: date | None, today: date) -> str | None:
    """Why an entry date is impossible, or None."""
    if entry > today:
        return "La date d'entrée dans votre établissement ne peut pas être dans le futur."
    if isinstance(birth, date) and entry < years_after(birth, 18):
        return "La date d'entrée dans votre établissement doit être postérieure à vos 18 ans."
    return None


def french_city(postal_code: str, city: str) -> tuple[Commune | None, str | None]:
    """The commune a French postal code and city name designate, or the message to show."""
    code = (postal_code or "").strip()
    if not (len(code) == 5 and code.isdigit()):
        return None, "Le code postal comporte 5 chiffres, par exemple 35000."
    communes = communes_for_postal_code(code)
    if not communes:
        return None, f"Le code postal {code} n'existe pas : vérifiez-le."
    wanted = normalize_search_text(city or "")
    for commune in communes:
        if normalize_search_text(commune.name) == wanted:
            return commune, None
    names = ", ".join(c.name for c in communes[:8])
    return None, f"La ville ne correspond pas au code postal {code} : choisissez parmi {names}."


def stored_date(value) -> date | None:
    """A date kept in the state (ISO text), or None."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def registration_values(facts: dict, given: dict) -> dict:
    """The row's values from the answers kept, and the establishment (None if it has gone)."""
    identity, address, work = given["identity"], given["address"], given["establishment"]
    chosen = establishment_in(work.get("commune"), work.get("establishment"))
    values = {
        "nir_digest": facts["digest"],
        "nir_masked": facts["masked"],
        **{name: identity[name] for name in ("civility", "last_name", "first_name", "email")},
        "birth_date": stored_date(identity["birth_date"]),
        **{
            name: address.get(name)
            for name in (
                "address_flat",
                "address_building",
                "address_street",
                "address_locality",
                "country",
                "postal_code",
                "city",
                "commune_insee",
            )
        },
        "establishment": chosen,
        "entry_date": stored_date(work["entry_date"]),
        "position": work["position"],
    }
    return values


def new_numero() -> str:
    """A random numéro C.G.O.S that no agent has had (the check letter of the contract)."""
    while True:
        candidate = numero_rules.generate(_random)
        if not db.session.scalar(db.select(Agent.id).where(Agent.numero == candidate)):
            return candidate


def _token_digest(token: str) -> str:
    """What is stored of a confirmation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def register(values: dict, checked: uploads.CheckedFile) -> Registration:
    """Store the payslip and the registration, and queue the confirmation mail (one transaction)."""
    token = secrets.token_urlsafe(32)
    with uploads.stored(checked) as path:
        delegation = delegation_of(values["establishment"])
        registration = Registration(
            **values,
            delegation=delegation,
            token_digest=_token_digest(token),
            payslip_path=path,
            payslip_filename=checked.filename,
            payslip_mimetype=checked.mimetype,
            payslip_size=len(checked.content),
        )
        db.session.add(registration)
        send_mail(
            registration.email,
            "Espace Agent C.G.O.S : confirmez votre adresse mail",
            "registration_confirm",
            secrets={"link": external_url("number_request.confirm", token=token)},
            registration=registration,
            hours=int(LINK_LIFETIME.total_seconds() // 3600),
        )
        commit_or_roll_back()
    return registration


def confirm(token: str) -> tuple[Registration | None, LinkOutcome]:
    """Follow a confirmation link: (registration, outcome), CREATED, EXISTS, USED, EXPIRED or INVALID."""
    registration = db.session.scalar(db.select(Registration).where(Registration.token_digest == _token_digest(token)))
    if registration is None:
        return None, LinkOutcome.INVALID
    if registration.confirmed_at is not None:
        return registration, LinkOutcome.USED
    if is_link_expired(link_expires_at(registration.created_at), utcnow()):
        return registration, LinkOutcome.EXPIRED
    if find_agent_by_nir_digest(registration.nir_digest) is not None:
        registration.confirmed_at = utcnow()
        return registration, LinkOutcome.EXISTS
    agent = Agent(
        numero=new_numero(),
        nir_digest=registration.nir_digest,
        civility=registration.civility,
        last_name=registration.last_name.upper(),
        first_name=registration.first_name,
        birth_date=registration.birth_date,
        email=registration.email,
        establishment=registration.establishment,
        position=registration.position,
    )
    db.session.add(agent)
    registration.agent = agent
    registration.confirmed_at = utcnow()
    db.session.flush()
    events.record(Event.REGISTRATION_CONFIRMED, agent)
    send_mail(
        agent.email,
        "Espace Agent C.G.O.S : votre numéro C.G.O.S",
        "new_numero",
        agent=agent,
        check_days=usual_check_days(registration.delegation_id),
    )
    return registration, LinkOutcome.CREATED


def mail_known_numero(agent: Agent) -> None:
    """« Or, votre Numéro existe déjà »: the numéro goes to the address on file only."""
    events.record(Event.NUMERO_RECOVERED, agent)
    send_mail(
        agent.email,
        "Espace Agent C.G.O.S : votre numéro C.G.O.S",
        "known_numero",
        agent=agent,
        login_url=external_url("login.login"),
        delegation=delegation_for(agent),
    )
