"""The journeys several test files go through the same way: identifying as an agent in
« 1ère connexion » or « Mot de passe oublié » and asking for a provisional password (Marie
unless told), registering Anne (an unknown NIR), Jean's mail-change questionnaire, reading
the link of a mail."""

import io
import re

from cgos.mail import open_mail
from cgos.models import OutboundMail
from tests_support.factories import RENNES_CHU, SAINT_BRIEUC_CH, establishment_id
from tests_support.personas import ANNE, JEAN, MARIE, AgentPersona

PDF = b"%PDF-1.4\n%%EOF\n"
REGISTRATION_URL = "/demande-numero"
# The two flows that identify an agent and mail a provisional password, by their first step.
IDENTIFICATION_URLS = {"first_connection": "/premiere-connexion", "forgotten_password": "/mot-de-passe-oublie"}


def identify(agent, flow: str, person: AgentPersona = MARIE, **fields):
    """The identification step of « 1ère connexion » or « Mot de passe oublié » (`flow`) as `person`.

    `fields` replace what is typed (`birth_year="1986"`).
    """
    agent.get(IDENTIFICATION_URLS[flow])
    return agent.submit(IDENTIFICATION_URLS[flow], {**person.identity, **fields})


def confirm_address(agent, flow: str, address: str, confirmation: str | None = None):
    """The mail step of the flow: the address typed, then its confirmation (the same unless told)."""
    return agent.submit(
        f"{IDENTIFICATION_URLS[flow]}/adresse-mail", {"email": address, "email_confirmation": confirmation or address}
    )


def request_provisional_password(agent, person: AgentPersona = MARIE, flow: str = "forgotten_password"):
    """Identify as `person`, then confirm the address on file: a provisional password is mailed."""
    identify(agent, flow, person)
    return confirm_address(agent, flow, person.email)


def nir_step(agent, nir):
    """The first step of « Demande de n°C.G.O.S »."""
    agent.get(REGISTRATION_URL)
    return agent.submit(REGISTRATION_URL, {"nir": nir})


def registration_fields(**overrides):
    """A complete registration matching Anne's NIR, at the CHU de Rennes; None leaves a field out."""
    data = {
        "civility": ANNE.civility,
        "last_name": ANNE.last_name,
        "first_name": ANNE.first_name,
        "birth_date": ANNE.birth_date_typed,
        "email": ANNE.email,
        "country": "FR",
        "postal_code": "35000",
        "city": "rennes",
        "address_street": "2 rue de Brest",
        "commune_query": "Rennes",
        "commune": "35238",
        "establishment": str(establishment_id(RENNES_CHU)),
        "entry_date": "01/09/2015",
        "position": "titulaire",
        "payslip": (PDF, "bulletin.pdf"),
    }
    return with_payslip(data, overrides)


# The question pages of the registration and the fields of each.
QUESTION_PAGES = [
    ("/inscription", ["civility", "last_name", "first_name", "birth_date", "email"]),
    (
        "/inscription/adresse",
        ["address_flat", "address_building", "address_street", "address_locality", "country", "postal_code", "city"],
    ),
    (
        "/inscription/etablissement",
        ["commune_query", "commune", "establishment_query", "establishment", "entry_date", "position"],
    ),
    ("/inscription/bulletin", ["payslip"]),
]


def answer_pages(agent, url, pages, fields):
    """Answer each question page (path under `url`, its fields) from `fields`; the first page refused, or the check page."""
    for path, names in pages:
        agent.get(url + path)
        page = agent.submit(url + path, {name: fields[name] for name in names if name in fields})
        if page.status != 200:
            return page
    return page


def answer_questions(agent, fields):
    """Answer each question page of the registration; the first page refused, or the check page."""
    return answer_pages(agent, REGISTRATION_URL, QUESTION_PAGES, fields)


def register(agent, **overrides):
    """Go through the NIR step, each question page, then « Envoyer » on « Vérifiez vos réponses » (Anne, unless overridden)."""
    nir_step(agent, ANNE.nir)
    page = answer_questions(agent, registration_fields(**overrides))
    if page.status != 200:
        return page
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses"
    return agent.submit(REGISTRATION_URL + "/inscription/verification")


def with_payslip(data: dict, overrides: dict) -> dict:
    """`data` with `overrides`, the payslip (content, name) as an upload; None leaves a field out."""
    data = {**data, **overrides}
    if isinstance(data.get("payslip"), tuple):
        content, name = data["payslip"]
        data["payslip"] = (io.BytesIO(content), name)
    return {key: value for key, value in data.items() if value is not None}


def questionnaire_fields(**overrides):
    """A complete mail-change questionnaire for Jean MARTIN (no mail on file), whose establishment is in Saint-Brieuc."""
    data = {
        "numero": JEAN.numero,
        "birth_date": JEAN.birth_date_typed,
        "new_email": "jean.martin@example.org",
        "new_email_confirmation": "jean.martin@example.org",
        "last_name": "Martin",
        "first_name": JEAN.first_name,
        "commune_query": "Saint-Brieuc",
        "commune": "22278",
        "establishment_query": "",
        "establishment": str(establishment_id(SAINT_BRIEUC_CH)),
        "payslip": (PDF, "bulletin.pdf"),
    }
    return with_payslip(data, overrides)


QUESTIONNAIRE_URL = "/questionnaire-adresse-mail"
# The question pages of the questionnaire and the fields of each.
QUESTIONNAIRE_PAGES = [
    ("", ["numero", "birth_date", "last_name", "first_name"]),
    ("/adresse", ["new_email", "new_email_confirmation"]),
    ("/etablissement", ["commune_query", "commune", "establishment_query", "establishment"]),
    ("/bulletin", ["payslip"]),
]


def answer_questionnaire(agent, fields):
    """Answer each page of the questionnaire; the first page refused, or the check page."""
    return answer_pages(agent, QUESTIONNAIRE_URL, QUESTIONNAIRE_PAGES, fields)


def send_questionnaire(agent, **overrides):
    """Answer every page of Jean's questionnaire (unless overridden), then « Envoyer » on « Vérifiez vos réponses »."""
    page = answer_questionnaire(agent, questionnaire_fields(**overrides))
    if page.status != 200:
        return page
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses", page.text
    return agent.submit(QUESTIONNAIRE_URL + "/verification")


def link_in(mail: OutboundMail) -> str:
    """The path of the link a mail holds on a line of its own."""
    return re.search(r"^https?://[^/\s]+(/\S+)$", open_mail(mail).text_body, re.M).group(1)
