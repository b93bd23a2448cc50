"""The mail-change questionnaire: autocomplete, payslip checks, routing to the delegation."""

import io
from pathlib import Path

import pytest

from cgos.extensions import db
from cgos.models import MailChangeRequest, OutboundMail
from tests_support.flows import PDF, establishment_id, questionnaire_fields

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
URL = "/questionnaire-adresse-mail"


def send(agent, **overrides):
    """Open the questionnaire and send it."""
    agent.get(URL)
    data = {**agent.page.form_data(), **questionnaire_fields(**overrides)}
    return agent.post(URL, data)


def test_the_questionnaire_has_the_guide_fields(either):
    page = either.get(URL)
    labels = [label.find(string=True, recursive=False).strip() for label in page.main.select("label")]
    assert labels == [
        "Numéro C.G.O.S",
        "Date de naissance",
        "Nouvelle adresse mail",
        "Confirmation de la nouvelle adresse mail",
        "Nom",
        "Prénom",
        "Ville de votre établissement",
        "Nom de votre établissement",
        "Joindre votre dernier bulletin de paie ou de pension",
    ]
    assert page.main.find("button", string="Envoyer")
    assert page.soup.find("form")["enctype"] == "multipart/form-data"


def test_commune_search_is_an_htmx_fragment_announced_in_a_live_region(client, either):
    page = either.get(URL)
    assert page.soup.find(id="commune-results")["aria-live"] == "polite"
    response = client.get("/recherche/communes?commune_query=st+brieuc", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Saint-Brieuc (22000)" in html and 'type="radio"' in html


def test_commune_search_is_accent_and_case_insensitive_and_only_where_there_are_hospitals(client):
    html = client.get("/recherche/communes?commune_query=SAINT-ÉTI").get_data(as_text=True)
    assert "Saint-Étienne" in html or "Saint-Priest-en-Jarez" not in html
    assert "Aucune ville" in client.get("/recherche/communes?commune_query=zzz").get_data(as_text=True)
    rennes = client.get("/recherche/communes?commune_query=renn").get_data(as_text=True)
    assert "Rennes (35000)" in rennes and "Rennes-le-Château" not in rennes


def test_establishments_are_filtered_by_the_chosen_commune(client):
    html = client.get("/recherche/etablissements?commune=35238").get_data(as_text=True)
    assert "Centre Hospitalier Universitaire de Rennes" in html and "Centre Hospitalier Guillaume Régnier" in html
    assert "Brest" not in html
    html = client.get("/recherche/etablissements?commune=35238&establishment_query=regnier").get_data(as_text=True)
    assert "Guillaume Régnier" in html and "Universitaire" not in html


def test_search_without_javascript_keeps_what_was_typed(agent):
    agent.get(URL)
    page = agent.submit(URL, {"last_name": "Martin", "commune_query": "renn", "action": "search_commune"})
    assert page.status == 200 and page.error_summary() == []
    assert page.soup.find(id="last_name")["value"] == "Martin"
    radio = page.soup.find("input", attrs={"name": "commune", "value": "35238"})
    assert radio and radio.has_attr("checked"), "the only match is chosen"
    names = [label.get_text() for label in page.soup.select("#establishment-results label")]
    assert "Centre Hospitalier Universitaire de Rennes" in names


def test_a_complete_questionnaire_goes_to_the_delegation_with_the_payslip(either, app):
    page = send(either)
    assert page.soup.h1.get_text(strip=True) == "Votre questionnaire a été envoyé"
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.delegation.code == "bretagne" and request.status == "pending"
    stored = Path(app.config["UPLOAD_FOLDER"]) / request.payslip_path
    assert stored.read_bytes() == PDF and "static" not in str(stored)
    assert stored.name != "bulletin.pdf"
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "delegation.bretagne@example.org"
    assert mail.subject.startswith("Mise à jour adresse mail CGOS")
    assert "jean.martin@example.org" in mail.text_body and "22904518 R" in mail.text_body
    assert [a.filename for a in mail.attachments] == ["bulletin.pdf"]


@pytest.mark.parametrize(
    ("payslip", "message"),
    [
        (None, "Joignez votre dernier bulletin de paie ou de pension."),
        (((b""), "vide.pdf"), "Le fichier joint est vide"),
        (((b"GIF89a" + b"\x00" * 20), "bulletin.pdf"), "Le fichier joint doit être un PDF, une image JPEG ou PNG."),
        (((b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "b.png"), "Le fichier joint doit être un PDF"),
        (((b"%PDF-1.4 <html><script>alert(1)</script>"), "b.pdf"), "Le fichier joint doit être un PDF"),
    ],
    ids=["missing", "empty", "gif", "svg", "polyglot"],
)
def test_a_refused_payslip_keeps_the_rest_and_saves_nothing(either, app, payslip, message):
    page = send(either, payslip=payslip)
    assert page.status == 422
    assert page.field_error("payslip").startswith(message)
    assert page.soup.find(id="last_name")["value"] == "Martin"
    assert db.session.scalar(db.select(db.func.count(MailChangeRequest.id))) == 0
    assert not list(Path(app.config["UPLOAD_FOLDER"]).rglob("*.*"))


@pytest.mark.parametrize(("content", "name"), [(PNG, "photo.png"), (JPEG, "photo.jpeg")])
def test_images_are_accepted(agent, content, name):
    assert send(agent, payslip=((content), name)).status == 200


def test_a_too_large_payslip_gets_a_clear_message_beside_the_field(make_app, new_agent):
    app = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    with app.app_context():
        agent = new_agent(app)
        page = send(agent, payslip=((PDF + b"0" * 100_000), "gros.pdf"))
        assert page.status == 422
        assert page.field_error("payslip").startswith("Le fichier joint dépasse")
        assert page.soup.find(id="last_name")["value"] == "Martin"


def test_a_huge_request_gets_the_413_page(make_app, new_agent):
    app = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    with app.app_context():
        agent = new_agent(app)
        page = send(agent, payslip=((PDF + b"0" * 3_000_000), "enorme.pdf"))
        assert page.status == 413 and "Fichier trop volumineux" in page.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"birth_date": "31/02/1979"}, "birth_date", "Saisissez votre date de naissance au format JJ/MM/AAAA"),
        (
            {"new_email_confirmation": "autre@example.org"},
            "new_email_confirmation",
            "Les deux adresses mail saisies ne sont pas identiques.",
        ),
        ({"last_name": "M4rtin"}, "last_name", "Le champ « Nom » ne peut contenir que des lettres"),
        ({"commune": None}, "commune_query", "Choisissez la ville de votre établissement dans la liste proposée."),
        ({"establishment": "999999"}, "establishment_query", "Choisissez votre établissement dans la liste proposée."),
    ],
)
def test_every_field_is_checked(either, overrides, field, message):
    page = send(either, **overrides)
    assert page.status == 422
    assert page.field_error(field).startswith(message)


def test_an_establishment_of_another_commune_is_refused(agent):
    page = send(agent, establishment=str(establishment_id("Centre Hospitalier Universitaire de Rennes")))
    assert page.field_error("establishment_query") == "Choisissez votre établissement dans la liste proposée."


def test_a_numero_and_birth_date_matching_no_agent_are_sent_with_no_agent(either):
    """Whether the pair matches is never said: the delegation sees it flagged."""
    page = send(either, birth_date="03/11/1979")
    assert page.status == 200
    assert "ne correspondent à aucun agent" not in page.text
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.agent_id is None and request.delegation.code == "bretagne"


def test_iso_dates_are_understood_too(agent):
    assert send(agent, birth_date="1979-11-02").status == 200


def test_a_six_mebibyte_payslip_is_refused_under_the_default_limit(agent, app):
    """The contract's 5 MiB: a 6 MiB scan is refused beside its field, nothing stored."""
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    page = send(agent, payslip=(PDF + b"0" * (6 * 1024 * 1024 - len(PDF)), "scan.pdf"))
    assert page.status == 422
    assert page.field_error("payslip").startswith("Le fichier joint dépasse 5 Mo")
    assert not list(Path(app.config["UPLOAD_FOLDER"]).rglob("*.*"))


def test_a_checked_payslip_is_kept_after_a_form_error_and_sent_with_the_request(either, app):
    page = send(either, payslip=(PDF, "mon bulletin.pdf"), last_name="")
    assert page.status == 422
    assert (
        page.main.select_one(".kept-file").get_text(" ", strip=True) == "Fichier joint : mon bulletin.pdf — Remplacer"
    )
    assert page.field_error("payslip") is None
    data = {**questionnaire_fields(), "payslip": None}
    page = either.submit(URL, {key: value for key, value in data.items() if value is not None})
    assert page.status == 200 and page.soup.select_one(".error-summary") is None
    mail_request = db.session.scalar(db.select(MailChangeRequest))
    assert mail_request.payslip_filename == "mon bulletin.pdf"
    assert not list((Path(app.config["UPLOAD_FOLDER"]) / "kept").glob("*"))


def test_without_javascript_rechercher_keeps_the_payslip_and_focuses_the_first_result(agent):
    agent.get(URL)
    page = agent.submit(
        URL,
        {"commune_query": "brest", "action": "search_commune", "payslip": (io.BytesIO(PDF), "bulletin.pdf")},
    )
    assert "bulletin.pdf — Remplacer" in page.main.select_one(".kept-file").get_text(" ", strip=True)
    assert page.soup.find("input", attrs={"name": "commune"}).has_attr("autofocus")


def test_the_numero_typed_at_an_identification_step_is_prefilled(agent):
    agent.get("/premiere-connexion")
    agent.submit("/premiere-connexion", {"numero": "35127846s", "birth_year": "1985", "birth_month": "3"})
    page = agent.get(URL)
    assert page.soup.find(id="numero")["value"] == "35127846 S"
    assert page.soup.find(id="birth_date").get("value", "") == "", "never data from the file"
