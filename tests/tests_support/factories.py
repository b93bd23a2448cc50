"""The rows tests find or add: demo agents and staff by persona, new agents and staff,
mail-change questionnaires and registrations received at a chosen time.

Plain functions over the test's database, no factory_boy: see docs/testing.md. Each adder
commits and returns the row; keyword arguments override any column.
"""

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
from tests_support.personas import ANNE, BRETAGNE_STAFF, ILE_DE_FRANCE_STAFF, AgentPersona, StaffPersona

RENNES_CHU = "Centre Hospitalier Universitaire de Rennes"
SAINT_BRIEUC_CH = "Centre Hospitalier Yves Le Foll"
PARIS_APHP = "Assistance Publique - Hôpitaux de Paris"


def delegation(code: str) -> Delegation:
    """A delegation by its code."""
    return db.session.scalar(db.select(Delegation).where(Delegation.code == code))


def establishment(name: str) -> Establishment:
    """A reference establishment by its exact name."""
    return db.session.scalar(db.select(Establishment).where(Establishment.name == name))


def establishment_id(name: str) -> int:
    """The id of a reference establishment, as its choice button sends it."""
    return establishment(name).id


def agent_row(person: AgentPersona | str) -> Agent:
    """An agent's row, by persona or by numéro as typed."""
    numero = person.numero if isinstance(person, AgentPersona) else person
    return db.session.scalar(db.select(Agent).where(Agent.numero == numero_rules.compact(numero)))


def staff_row(person: StaffPersona | str = BRETAGNE_STAFF, fresh: bool = False) -> DelegationStaff:
    """A staff member's row, by persona or by mail address; `fresh` reads it again from the database."""
    email = person.email if isinstance(person, StaffPersona) else person
    query = db.select(DelegationStaff).where(DelegationStaff.email == email)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return db.session.scalar(query)


def add_agent(last_name: str, first_name: str, numero: str, establishment_name: str | None, **values) -> Agent:
    """An agent added to the file (born on 1 January 1980 unless told otherwise)."""
    place = establishment(establishment_name) if establishment_name else None
    person = Agent(
        numero=numero_rules.compact(numero),
        civility=values.pop("civility", "Mme"),
        last_name=last_name,
        first_name=first_name,
        birth_date=values.pop("birth_date", date(1980, 1, 1)),
        establishment_id=place.id if place else None,
        **values,
    )
    db.session.add(person)
    db.session.commit()
    return person


def add_staff(person: StaffPersona = ILE_DE_FRANCE_STAFF, lead: bool = False) -> DelegationStaff:
    """A staff member of the persona's delegation, enrolled with its TOTP secret (none: enrols at first login)."""
    staff = DelegationStaff(
        email=person.email,
        password_hash=hash_secret(person.password),
        delegation=delegation(person.delegation_code),
        lead=lead,
    )
    if person.totp_secret is not None:
        staff.totp_secret_sealed = second_factor.seal(person.totp_secret)
        staff.totp_enrolled_at = utcnow()
    db.session.add(staff)
    db.session.commit()
    return staff


def add_questionnaire(
    person: Agent, received_at: datetime | None = None, place: str = RENNES_CHU, **values
) -> MailChangeRequest:
    """A pending mail-change questionnaire of `person` (received now unless told), to the place's delegation."""
    where = establishment(place)
    item = MailChangeRequest(
        agent_id=person.id,
        delegation_id=db.session.scalar(
            db.select(Delegation.id).where(Delegation.region_code == where.commune.region_code)
        ),
        numero=person.numero,
        birth_date=person.birth_date,
        new_email=values.pop("new_email", "nouvelle.adresse@example.org"),
        last_name=values.pop("last_name", person.last_name),
        first_name=values.pop("first_name", person.first_name),
        commune_insee=where.commune_insee,
        establishment_id=where.id,
        payslip_path=values.pop("payslip_path", None),
        payslip_filename="bulletin.pdf",
        payslip_mimetype="application/pdf",
        payslip_size=values.pop("payslip_size", 100),
        **values,
    )
    if received_at is not None:
        item.created_at = received_at
    db.session.add(item)
    db.session.commit()
    return item


def registration_row(created_at: datetime, place: str = RENNES_CHU, **values) -> Registration:
    """Anne's « Demande de n°C.G.O.S » as the form stores it, created at `created_at`, not yet confirmed nor saved."""
    where = establishment(place)
    return Registration(
        created_at=created_at,
        nir_digest=values.pop("nir_digest", hashlib.sha256(secrets.token_bytes(8)).hexdigest()),
        nir_masked=values.pop("nir_masked", f"{ANNE.nir[0]} {ANNE.nir[1:3]} {ANNE.nir[3:5]} ** *** *** **"),
        civility=values.pop("civility", ANNE.civility),
        last_name=values.pop("last_name", ANNE.last_name),
        first_name=values.pop("first_name", ANNE.first_name),
        birth_date=values.pop("birth_date", ANNE.birth_date),
        email=values.pop("email", ANNE.email),
        country="FR",
        postal_code="35000",
        city="Rennes",
        establishment_id=where.id,
        delegation_id=db.session.scalar(
            db.select(Delegation.id).where(Delegation.region_code == where.commune.region_code)
        ),
        entry_date=values.pop("entry_date", date(2015, 9, 1)),
        position="titulaire",
        token_digest=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        payslip_filename="bulletin.pdf",
        payslip_mimetype="application/pdf",
        payslip_size=values.pop("payslip_size", 100),
        **values,
    )


def add_registration(person: Agent, confirmed_at: datetime, place: str = RENNES_CHU, **values) -> Registration:
    """A confirmed « Demande de n°C.G.O.S » that created `person`, pending the delegation's check unless told."""
    item = registration_row(
        confirmed_at,
        place,
        confirmed_at=confirmed_at,
        nir_masked=values.pop("nir_masked", "2 80 01 ** *** *** 12"),
        last_name=person.last_name,
        first_name=person.first_name,
        birth_date=person.birth_date,
        email=values.pop("email", "inscription@example.org"),
        entry_date=values.pop("entry_date", date(2020, 1, 1)),
        agent_id=person.id,
        status=values.pop("status", RequestStatus.PENDING),
        **values,
    )
    db.session.add(item)
    db.session.commit()
    return item


def verify_registrations_of(person: AgentPersona | str, staff: StaffPersona = BRETAGNE_STAFF) -> None:
    """« Inscription vérifiée » on the agent's registrations, as the staff member's click records it."""
    agent = agent_row(person)
    decider = staff_row(staff)
    for item in db.session.scalars(db.select(Registration).where(Registration.agent_id == agent.id)):
        decide_registration(item, decider, verified=True, reason=None)
    db.session.commit()
