"""The back office's test data: staff of two delegations, requests received at a chosen time."""

import hashlib
import secrets
from datetime import date, datetime

from cgos.backoffice import second_factor
from cgos.backoffice.services import decide_registration
from cgos.credentials.hashing import hash_secret
from cgos.extensions import db
from cgos.identifiers import numero as numero_rules
from cgos.models import (
    Agent,
    Delegation,
    DelegationStaff,
    Establishment,
    MailChangeRequest,
    Registration,
    RequestStatus,
    utcnow,
)

from . import staff as staff_support

BRETAGNE = {"email": "delegation.bretagne@example.org", "password": "Demo-Delegation-2026"}
ILE_DE_FRANCE = {"email": "delegation.idf@example.org", "password": "Autre-Delegation-2026"}
RENNES_CHU = "Centre Hospitalier Universitaire de Rennes"
PARIS_APHP = "Assistance Publique - Hôpitaux de Paris"


def log_in_staff(browser, credentials: dict = BRETAGNE):
    """Log a staff member in to the back office, password then code (both enrolled with the demo secret)."""
    return staff_support.log_in_staff(browser, **credentials)


def ile_de_france_staff() -> DelegationStaff:
    """A staff member of the Île-de-France delegation."""
    person = DelegationStaff(
        email=ILE_DE_FRANCE["email"],
        password_hash=hash_secret(ILE_DE_FRANCE["password"]),
        delegation=delegation("ile-de-france"),
        totp_secret_sealed=second_factor.seal(staff_support.DEMO_TOTP_SECRET),
        totp_enrolled_at=utcnow(),
    )
    db.session.add(person)
    db.session.commit()
    return person


def delegation(code: str) -> Delegation:
    """A delegation by its code."""
    return db.session.scalar(db.select(Delegation).where(Delegation.code == code))


def establishment(name: str) -> Establishment:
    """An establishment by its exact name."""
    return db.session.scalar(db.select(Establishment).where(Establishment.name == name))


def agent(numero: str) -> Agent:
    """A demo agent by numéro."""
    return db.session.scalar(db.select(Agent).where(Agent.numero == numero_rules.compact(numero)))


def new_agent(last_name: str, first_name: str, numero: str, establishment_name: str | None, **values) -> Agent:
    """An agent added to the file."""
    place = establishment(establishment_name) if establishment_name else None
    person = Agent(
        numero=numero_rules.compact(numero),
        civility="Mme",
        last_name=last_name,
        first_name=first_name,
        birth_date=date(1980, 1, 1),
        establishment_id=place.id if place else None,
        **values,
    )
    db.session.add(person)
    db.session.commit()
    return person


def questionnaire(person: Agent, received_at: datetime, place: str = RENNES_CHU, **values) -> MailChangeRequest:
    """A mail-change questionnaire of `person`, received at `received_at`, to the place's delegation."""
    where = establishment(place)
    item = MailChangeRequest(
        created_at=received_at,
        agent_id=person.id,
        delegation_id=db.session.scalar(
            db.select(Delegation.id).where(Delegation.region_code == where.commune.region_code)
        ),
        numero=person.numero,
        birth_date=person.birth_date,
        new_email=values.pop("new_email", "nouvelle.adresse@example.org"),
        last_name=values.pop("last_name", person.last_name),
        first_name=person.first_name,
        commune_insee=where.commune_insee,
        establishment_id=where.id,
        payslip_path=values.pop("payslip_path", None),
        payslip_filename="bulletin.pdf",
        payslip_mimetype="application/pdf",
        payslip_size=100,
        **values,
    )
    db.session.add(item)
    db.session.commit()
    return item


def registration(person: Agent, confirmed_at: datetime, place: str = RENNES_CHU, **values) -> Registration:
    """A confirmed « Demande de n°C.G.O.S » that created `person`."""
    where = establishment(place)
    item = Registration(
        created_at=confirmed_at,
        confirmed_at=confirmed_at,
        nir_digest=hashlib.sha256(secrets.token_bytes(8)).hexdigest(),
        nir_masked="2 80 01 ** *** *** 12",
        civility="Mme",
        last_name=person.last_name,
        first_name=person.first_name,
        birth_date=person.birth_date,
        email="inscription@example.org",
        country="FR",
        postal_code="35000",
        city="Rennes",
        establishment_id=where.id,
        delegation_id=db.session.scalar(
            db.select(Delegation.id).where(Delegation.region_code == where.commune.region_code)
        ),
        entry_date=date(2020, 1, 1),
        position="titulaire",
        token_digest=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        agent_id=person.id,
        payslip_path=None,
        payslip_filename="bulletin.pdf",
        payslip_mimetype="application/pdf",
        payslip_size=100,
        status=values.pop("status", RequestStatus.PENDING),
        **values,
    )
    db.session.add(item)
    db.session.commit()
    return item


def verify_registrations_of(numero: str, staff_email: str = BRETAGNE["email"]) -> None:
    """« Inscription vérifiée » on the agent's registration, as the staff member's click records it."""
    person = agent(numero)
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == staff_email))
    for item in db.session.scalars(db.select(Registration).where(Registration.agent_id == person.id)):
        decide_registration(item, staff, verified=True, reason=None)
    db.session.commit()
