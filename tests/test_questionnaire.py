"""The mail-change questionnaire as question pages: each page, the answers kept, « Envoyer » once, « Abandonner »."""

import io
from datetime import timedelta
from pathlib import Path

import pytest

from cgos import maintenance
from cgos.extensions import db
from cgos.models import FlowState, MailChangeRequest, OutboundMail, SecurityEvent, utcnow
from tests_support.factories import establishment_id
from tests_support.flows import (
    PDF,
    QUESTIONNAIRE_PAGES,
    QUESTIONNAIRE_URL,
    answer_questionnaire,
    questionnaire_fields,
    send_questionnaire,
)
from tests_support.personas import JEAN

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
URL = QUESTIONNAIRE_URL
CHECK = URL + "/verification"
SENT_HEADING = "Votre questionnaire a été envoyé"


def labels(page) -> list[str]:
    """The labels of the page's fields, without the « * » of required ones."""
    return [label.find(string=True, recursive=False).strip() for label in page.main.select("form .field > label")]


def heading(page) -> str:
    """The page's main heading."""
    return page.soup.h1.get_text(" ", strip=True)


def count(model) -> int:
    """How many rows a table holds."""
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def files_in(app, folder: str) -> list[Path]:
    """The files of one folder of UPLOAD_FOLDER (`payslips`: sent with a request; `kept`: waiting for « Envoyer »)."""
    path = Path(app.config["UPLOAD_FOLDER"]) / folder
    return list(path.glob("*")) if path.is_dir() else []


def at_the_check_page(agent, **overrides):
    """Jean's answers given on every page: « Vérifiez vos réponses »."""
    page = answer_questionnaire(agent, questionnaire_fields(**overrides))
    assert heading(page) == "Vérifiez vos réponses", page.text
    return page


@pytest.mark.parametrize(
    ("path", "title", "step", "expected"),
    [
        ("", "Votre identité", 1, ["Numéro C.G.O.S", "Date de naissance", "Nom", "Prénom"]),
        (
            "/adresse",
            "Votre nouvelle adresse mail",
            2,
            ["Nouvelle adresse mail", "Confirmation de la nouvelle adresse mail"],
        ),
        ("/etablissement", "Votre établissement", 3, ["Ville de votre établissement", "Nom de votre établissement"]),
        (
            "/bulletin",
            "Votre bulletin de paie ou de pension",
            4,
            ["Joindre votre dernier bulletin de paie ou de pension"],
        ),
    ],
    ids=["identity", "address", "establishment", "payslip"],
)
def test_each_question_page_asks_its_fields_with_its_step_and_title(either, path, title, step, expected):
    fields = questionnaire_fields()
    for before, names in QUESTIONNAIRE_PAGES[: step - 1]:
        either.get(URL + before)
        either.submit(URL + before, {name: fields[name] for name in names})
    page = either.get(URL + path)
    assert page.status == 200
    assert labels(page) == expected
    assert heading(page) == title
    assert page.title == f"{title} (étape {step} sur 5) – Espace Agent C.G.O.S"
    assert page.main.select_one(".steps").get_text(strip=True) == f"Étape {step} sur 5"
    assert [button.get_text(strip=True) for button in page.main.select("button:not([hidden])")][-1] == "Continuer"
    assert not page.main.find("button", string="Envoyer")
    assert page.main.find("a", string="Retour")


def test_only_the_payslip_page_sends_a_file(either):
    answer_questionnaire(either, questionnaire_fields())
    forms = {path: either.get(URL + path).main.select_one("form") for path, _ in QUESTIONNAIRE_PAGES}
    assert [path for path, form in forms.items() if form.get("enctype") == "multipart/form-data"] == ["/bulletin"]


def test_retour_leads_to_the_page_before_and_keeps_its_answers(either):
    answer_questionnaire(either, questionnaire_fields())
    back = either.get(URL + "/etablissement").main.find("a", string="Retour")["href"]
    assert back == URL + "/adresse"
    page = either.get(back)
    assert page.soup.find(id="new_email")["value"] == "jean.martin@example.org"
    back = page.main.find("a", string="Retour")["href"]
    assert back == URL
    page = either.get(back)
    assert page.soup.find(id="numero")["value"] == "22904518 R"
    assert page.soup.find(id="birth_date")["value"] == "02/11/1979"
    assert page.main.find("a", string="Retour")["href"] == "/premiere-connexion"


def test_the_check_page_shows_every_answer_with_modifier(either):
    page = at_the_check_page(either)
    assert page.title == "Vérifiez vos réponses (étape 5 sur 5) – Espace Agent C.G.O.S"
    assert page.main.select_one(".steps").get_text(strip=True) == "Étape 5 sur 5"
    rows = {
        row.dt.get_text(strip=True): row.select("dd")[0].get_text(" ", strip=True)
        for row in page.main.select(".summary-list__row")
    }
    assert rows == {
        "Votre identité": "Jean Martin Numéro C.G.O.S : 22904518 R Date de naissance : 2 novembre 1979",
        "Nouvelle adresse mail": "jean.martin@example.org",
        "Votre établissement": "Centre Hospitalier Yves Le Foll Saint-Brieuc",
        "Bulletin joint": "bulletin.pdf",
    }
    changes = [link["href"] for link in page.main.select(".summary-list__action a")]
    assert changes == [f"{URL}{path}?retour=verification" for path, _ in QUESTIONNAIRE_PAGES]
    assert [text.get_text(" ", strip=True) for text in page.main.select(".summary-list__action a")][1] == (
        "Modifier : Nouvelle adresse mail"
    )
    # No cancel button beside « Envoyer »: a plain link below it.
    assert [button.get_text(strip=True) for button in page.main.select("button")] == ["Envoyer"]
    abandon = page.main.find("a", string="Abandonner ma demande")
    assert abandon["href"] == URL + "/abandonner" and "button" not in (abandon.get("class") or [])
    assert page.main.find("a", string="Retour")["href"] == URL + "/bulletin"


def test_modifier_comes_back_to_the_check_page_with_the_new_answer(either):
    at_the_check_page(either)
    page = either.get(URL + "/adresse?retour=verification")
    assert page.main.find("a", string="Retour")["href"] == CHECK
    address = "jean.martin@example.net"
    page = either.submit(
        URL + "/adresse?retour=verification", {"new_email": address, "new_email_confirmation": address}
    )
    assert heading(page) == "Vérifiez vos réponses"
    assert address in page.text and "Jean Martin" in page.text


def test_nothing_is_written_before_envoyer_which_sends_the_request_and_its_payslip(either, app):
    at_the_check_page(either)
    assert count(MailChangeRequest) == 0 and count(OutboundMail) == 0 and count(SecurityEvent) == 0
    assert files_in(app, "payslips") == [] and len(files_in(app, "kept")) == 1
    page = either.submit(CHECK)
    assert heading(page) == SENT_HEADING
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.delegation.code == "bretagne" and request.status == "pending"
    assert (request.numero, request.last_name, request.first_name) == ("22904518R", "Martin", "Jean")
    stored = Path(app.config["UPLOAD_FOLDER"]) / request.payslip_path
    assert stored.read_bytes() == PDF and "static" not in str(stored) and stored.name != "bulletin.pdf"
    assert files_in(app, "kept") == []
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "delegation.bretagne@example.org"
    assert mail.subject.startswith("Mise à jour adresse mail CGOS")
    assert "jean.martin@example.org" in mail.text_body and "22904518 R" in mail.text_body
    assert [a.filename for a in mail.attachments] == ["bulletin.pdf"]


def test_envoyer_again_after_sending_sends_nothing_more(either, app):
    """The back button then « Envoyer », or the same POST replayed: still one request, one mail."""
    at_the_check_page(either)
    form = either.page.form_data()
    assert heading(either.post(CHECK, form)) == SENT_HEADING
    page = either.post(CHECK, form)
    assert heading(page) == SENT_HEADING
    assert heading(either.get(CHECK, follow_redirects=True)) == SENT_HEADING
    assert count(MailChangeRequest) == 1 and count(OutboundMail) == 1
    assert len(files_in(app, "payslips")) == 1


def test_a_failure_while_sending_keeps_the_answers(app, agent, monkeypatch):
    """« Envoyer » fails half-way (the mail queue, say): the state taken comes back with the rollback."""
    at_the_check_page(agent)

    def broken_queue(*args, **kwargs):
        """The mail queue fails."""
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr("cgos.questionnaire.routes.send_mail", broken_queue)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert agent.submit(CHECK).status == 500
    monkeypatch.undo()
    assert count(MailChangeRequest) == 0 and files_in(app, "payslips") == []
    page = agent.get(CHECK)
    assert heading(page) == "Vérifiez vos réponses" and "Jean Martin" in page.text
    assert heading(agent.submit(CHECK)) == SENT_HEADING and count(MailChangeRequest) == 1


def test_a_new_questionnaire_after_sending_starts_empty_and_is_a_new_request(agent):
    assert heading(send_questionnaire(agent)) == SENT_HEADING
    page = agent.get(URL)
    assert page.soup.find(id="last_name").get("value", "") == ""
    assert heading(send_questionnaire(agent)) == SENT_HEADING
    assert count(MailChangeRequest) == 2


def test_the_payslip_is_kept_across_pages_and_can_be_replaced(either, app):
    at_the_check_page(either, payslip=(PDF, "mon bulletin.pdf"))
    either.get(URL + "?retour=verification")
    page = either.submit(URL + "?retour=verification", {"last_name": "Martin-Le Goff"})
    assert "mon bulletin.pdf" in page.main.select_one(".summary-list").get_text()
    page = either.get(URL + "/bulletin?retour=verification")
    kept = page.main.select_one(".kept-file").get_text(" ", strip=True)
    assert kept == "Fichier joint : mon bulletin.pdf — Remplacer"
    assert page.soup.find(id="payslip").get("aria-required") is None, "already attached: not asked again"
    page = either.submit(URL + "/bulletin?retour=verification")
    assert heading(page) == "Vérifiez vos réponses", "Continuer without a new file keeps the kept one"
    [first] = files_in(app, "kept")
    either.get(URL + "/bulletin?retour=verification")
    page = either.submit(URL + "/bulletin?retour=verification", {"payslip": (io.BytesIO(PNG), "photo.png")})
    assert "photo.png" in page.main.select_one(".summary-list").get_text()
    assert not first.exists() and len(files_in(app, "kept")) == 1
    page = either.submit(CHECK)
    request = db.session.scalar(db.select(MailChangeRequest))
    assert (request.payslip_filename, request.last_name) == ("photo.png", "Martin-Le Goff")


def test_the_purge_keeps_the_payslip_of_a_questionnaire_under_way(agent, app):
    """`uploads purge` deletes kept payslips no live flow state names: the questionnaire's must be named."""
    at_the_check_page(agent)
    assert maintenance.purge_kept_payslips(utcnow() + timedelta(minutes=30)) == 0, "its questionnaire is still open"
    assert heading(agent.submit(CHECK)) == SENT_HEADING
    assert maintenance.purge_kept_payslips(utcnow() + timedelta(hours=2)) == 0, "sent: nothing is left to purge"


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
def test_a_refused_payslip_is_said_beside_its_field_and_nothing_is_kept(either, app, payslip, message):
    page = send_questionnaire(either, payslip=payslip)
    assert page.status == 422 and heading(page) == "Votre bulletin de paie ou de pension"
    assert page.field_error("payslip").startswith(message)
    assert page.error_summary()[0].startswith(message)
    assert count(MailChangeRequest) == 0
    assert not list(Path(app.config["UPLOAD_FOLDER"]).rglob("*.*"))


@pytest.mark.parametrize(("content", "name"), [(PNG, "photo.png"), (JPEG, "photo.jpeg")])
def test_images_are_accepted(agent, content, name):
    assert heading(send_questionnaire(agent, payslip=((content), name))) == SENT_HEADING


def test_a_too_large_payslip_gets_a_clear_message_beside_the_field(make_app, new_agent):
    app = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    with app.app_context():
        page = send_questionnaire(new_agent(app), payslip=((PDF + b"0" * 100_000), "gros.pdf"))
        assert page.status == 422
        assert page.field_error("payslip").startswith("Le fichier joint dépasse")


def test_a_huge_request_gets_the_413_page(make_app, new_agent):
    app = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    with app.app_context():
        page = send_questionnaire(new_agent(app), payslip=((PDF + b"0" * 3_000_000), "enorme.pdf"))
        assert page.status == 413 and "Fichier trop volumineux" in page.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"numero": ""}, "numero", "Saisissez votre numéro C.G.O.S"),
        ({"birth_date": "31/02/1979"}, "birth_date", "Saisissez votre date de naissance au format JJ/MM/AAAA"),
        ({"last_name": "M4rtin"}, "last_name", "Le champ « Nom » ne peut contenir que des lettres"),
        ({"first_name": ""}, "first_name", "Saisissez votre prénom."),
        ({"new_email": "pas une adresse"}, "new_email", "Saisissez une adresse mail valide"),
        (
            {"new_email_confirmation": "autre@example.org"},
            "new_email_confirmation",
            "Les deux adresses mail saisies ne sont pas identiques.",
        ),
        ({"commune": None}, "commune_query", "Choisissez la ville de votre établissement dans la liste proposée."),
        ({"establishment": "999999"}, "establishment_query", "Choisissez votre établissement dans la liste proposée."),
    ],
)
def test_every_field_is_checked_on_its_page_in_the_summary_and_beside_it(either, overrides, field, message):
    page = send_questionnaire(either, **overrides)
    assert page.status == 422
    assert page.field_error(field).startswith(message)
    assert page.title.startswith("Erreur : ")
    summary = page.soup.select_one(".error-summary [role=alert]")
    assert summary.find("a", href=f"#{field}").get_text(strip=True).startswith(message)
    assert count(MailChangeRequest) == 0


def test_an_empty_identity_page_lists_every_error(either):
    either.get(URL)
    page = either.submit(URL, {"numero": ""})
    assert page.status == 422
    assert page.error_summary() == [
        "Saisissez votre numéro C.G.O.S (8 chiffres suivis d'une lettre).",
        "Saisissez votre date de naissance.",
        "Saisissez votre nom.",
        "Saisissez votre prénom.",
    ]
    assert page.soup.select_one(".error-summary").has_attr("autofocus")


def test_a_post_that_leaves_a_field_out_does_not_reuse_the_answer_kept(either):
    """A field missing from the POST is empty, not the answer kept (a kept date once gave a 500 here)."""
    answer_questionnaire(either, questionnaire_fields())
    either.get(URL)
    page = either.post(URL, {"csrf_token": either.page.form_data()["csrf_token"], "numero": JEAN.numero})
    assert page.status == 422
    assert page.field_error("birth_date") == "Saisissez votre date de naissance."
    assert kept_state().data["answers"]["identity"]["birth_date"] == "1979-11-02", "the answer kept is unchanged"


def test_an_establishment_of_another_commune_is_refused(agent):
    page = send_questionnaire(agent, establishment=str(establishment_id("Centre Hospitalier Universitaire de Rennes")))
    assert page.field_error("establishment_query") == "Choisissez votre établissement dans la liste proposée."


def kept_state() -> FlowState:
    """The questionnaire's state kept on the server."""
    return db.session.scalar(db.select(FlowState).where(FlowState.purpose == "questionnaire"))


def test_an_establishment_gone_before_envoyer_is_said_on_the_check_page(either, app):
    at_the_check_page(either)
    state = kept_state()
    gone = {"commune": "22278", "establishment": "999999"}
    state.data = {**state.data, "answers": {**state.data["answers"], "establishment": gone}}
    db.session.commit()
    page = either.submit(CHECK)
    assert page.status == 422
    assert page.error_summary() == ["Choisissez votre établissement dans la liste proposée."]
    assert page.soup.select_one(".error-summary a")["href"] == "#establishment"
    assert page.soup.find(id="establishment") is not None
    assert count(MailChangeRequest) == 0


def test_the_answers_are_kept_on_the_server_not_in_the_cookie(agent):
    at_the_check_page(agent)
    with agent.client.session_transaction() as session:
        values = repr(dict(session))
    assert "Martin" not in values and "22904518" not in values and "1979" not in values
    assert kept_state().data["answers"]["identity"] == {
        "numero": "22904518R",
        "birth_date": "1979-11-02",
        "last_name": "Martin",
        "first_name": "Jean",
    }


def test_search_without_javascript_keeps_what_was_typed_and_focuses_the_first_result(agent):
    answer_questionnaire(agent, questionnaire_fields(commune=None))
    page = agent.submit(URL + "/etablissement", {"commune_query": "renn", "action": "search_commune"})
    assert page.status == 200 and page.error_summary() == []
    assert page.soup.find(id="commune_query")["value"] == "renn"
    first = page.soup.find("button", attrs={"name": "choose_commune"})
    assert first["value"] == "35238" and first.has_attr("autofocus")
    page = agent.submit(URL + "/etablissement", {"choose_commune": "35238"})
    names = [button.get_text() for button in page.soup.select("#establishment-results button")]
    assert "Centre Hospitalier Universitaire de Rennes" in names


def test_the_establishment_page_shows_the_establishment_chosen_before(either):
    answer_questionnaire(either, questionnaire_fields())
    page = either.get(URL + "/etablissement")
    line = page.soup.find(id="establishment-chosen").get_text(" ", strip=True)
    assert line.startswith("Établissement choisi : Centre Hospitalier Yves Le Foll")
    assert page.soup.find("input", attrs={"name": "establishment"})["value"] == str(
        establishment_id("Centre Hospitalier Yves Le Foll")
    )


def test_the_numero_typed_at_an_identification_step_is_prefilled(agent):
    agent.get("/premiere-connexion")
    agent.submit("/premiere-connexion", {"numero": "35127846s", "birth_year": "1985", "birth_month": "3"})
    page = agent.get(URL)
    assert page.soup.find(id="numero")["value"] == "35127846 S"
    assert page.soup.find(id="birth_date").get("value", "") == "", "never data from the file"
    assert page.main.find("a", string="Retour")["href"] == "/premiere-connexion?numero=35127846S"


@pytest.mark.parametrize("path", ["/adresse", "/etablissement", "/bulletin", "/verification"])
def test_a_later_page_before_the_first_answer_leads_to_the_first_page(either, path):
    page = either.get(URL + path, follow_redirects=True)
    assert heading(page) == "Votre identité"


def test_the_check_page_sends_to_the_first_unanswered_page(either):
    either.get(URL)
    either.submit(URL, {name: questionnaire_fields()[name] for name in QUESTIONNAIRE_PAGES[0][1]})
    assert heading(either.get(CHECK, follow_redirects=True)) == "Votre nouvelle adresse mail"


def test_abandonner_asks_first_and_the_link_back_keeps_the_answers(either, app):
    at_the_check_page(either)
    page = either.get(URL + "/abandonner")
    assert heading(page) == "Voulez-vous vraiment abandonner votre demande ?"
    assert [button.get_text(strip=True) for button in page.main.select("button")] == ["Oui, abandonner ma demande"]
    back = page.main.find("a", string="Continuer ma demande")["href"]
    assert back == CHECK
    assert heading(either.get(back)) == "Vérifiez vos réponses"
    assert len(files_in(app, "kept")) == 1


def test_abandonner_throws_the_answers_and_the_payslip_away(either, app):
    at_the_check_page(either)
    either.get(URL + "/abandonner")
    page = either.submit(URL + "/abandonner")
    assert heading(page) == "Vous n'avez pas encore de mot de passe"
    assert "Votre demande de changement d'adresse mail est abandonnée" in page.main.select_one(".notice").get_text()
    assert files_in(app, "kept") == [] and count(FlowState) == 0
    assert either.get(URL).soup.find(id="last_name").get("value", "") == ""
    assert count(MailChangeRequest) == 0 and count(OutboundMail) == 0


def test_a_numero_and_birth_date_matching_no_agent_are_sent_with_no_agent(either):
    """Whether the pair matches is never said: the delegation sees it flagged."""
    page = send_questionnaire(either, birth_date="03/11/1979")
    assert heading(page) == SENT_HEADING
    assert "ne correspondent à aucun agent" not in page.text
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.agent_id is None and request.delegation.code == "bretagne"


def test_iso_dates_are_understood_too(agent):
    assert heading(send_questionnaire(agent, birth_date="1979-11-02")) == SENT_HEADING


def test_a_six_mebibyte_payslip_is_refused_under_the_default_limit(agent, app):
    """The contract's 5 MiB: a 6 MiB scan is refused beside its field, nothing stored."""
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    page = send_questionnaire(agent, payslip=(PDF + b"0" * (6 * 1024 * 1024 - len(PDF)), "scan.pdf"))
    assert page.status == 422
    assert page.field_error("payslip").startswith("Le fichier joint dépasse 5 Mo")
    assert not list(Path(app.config["UPLOAD_FOLDER"]).rglob("*.*"))


def test_commune_search_is_an_htmx_fragment_announced_in_a_live_region(client, either):
    answer_questionnaire(either, questionnaire_fields(commune=None))
    page = either.get(URL + "/etablissement")
    assert page.soup.find(id="commune-results")["aria-live"] == "polite"
    response = client.get("/recherche/communes?commune_query=st+brieuc", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Saint-Brieuc (22000)" in html and 'name="choose_commune"' in html


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
