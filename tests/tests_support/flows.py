"""The journeys several test files go through the same way: asking for a provisional
password as Marie, registering Anne (an unknown NIR), Jean's mail-change questionnaire,
reading the link of a mail."""

import io
import re

from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import Establishment, OutboundMail

PDF = b"%PDF-1.4\n%%EOF\n"
# Marie DUPONT of the demo data, as « 1ère connexion » and « Mot de passe oublié » identify her.
MARIE = {"numero": "35127846 S", "birth_year": "1985", "birth_month": "3"}
REGISTRATION_URL = "/demande-numero"
# A NIR nobody has: a woman born in March 1991 in Rennes.
NEW_NIR_BODY = "2910335238456"
NEW_NIR = NEW_NIR_BODY + f"{97 - int(NEW_NIR_BODY) % 97:02d}"


def request_provisional_password(agent):
    """Go through « Mot de passe oublié » for Marie."""
    agent.get("/mot-de-passe-oublie")
    agent.submit("/mot-de-passe-oublie", MARIE)
    return agent.submit(
        "/mot-de-passe-oublie/adresse-mail",
        {"email": "marie.dupont@example.org", "email_confirmation": "marie.dupont@example.org"},
    )


def nir_step(agent, nir):
    """The first step of « Demande de n°C.G.O.S »."""
    agent.get(REGISTRATION_URL)
    return agent.submit(REGISTRATION_URL, {"nir": nir})


def registration_fields(**overrides):
    """A complete registration matching NEW_NIR: Anne LE GOFF, at the CHU de Rennes; None leaves a field out."""
    data = {
        "civility": "Mme",
        "last_name": "Le Goff",
        "first_name": "Anne",
        "birth_date": "12/03/1991",
        "email": "anne.legoff@example.org",
        "country": "FR",
        "postal_code": "35000",
        "city": "rennes",
        "address_street": "2 rue de Brest",
        "commune_query": "Rennes",
        "commune": "35238",
        "establishment": str(establishment_id("Centre Hospitalier Universitaire de Rennes")),
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
    nir_step(agent, NEW_NIR)
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


def establishment_id(name: str) -> int:
    """The id of a reference establishment."""
    return db.session.scalar(db.select(Establishment.id).where(Establishment.name == name))


def questionnaire_fields(**overrides):
    """A complete mail-change questionnaire for Jean MARTIN, whose establishment is in Saint-Brieuc."""
    data = {
        "numero": "22904518 R",
        "birth_date": "02/11/1979",
        "new_email": "jean.martin@example.org",
        "new_email_confirmation": "jean.martin@example.org",
        "last_name": "Martin",
        "first_name": "Jean",
        "commune_query": "Saint-Brieuc",
        "commune": "22278",
        "establishment_query": "",
        "establishment": str(establishment_id("Centre Hospitalier Yves Le Foll")),
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
