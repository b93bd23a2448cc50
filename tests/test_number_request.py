"""« Demande de n°C.G.O.S »: NIR checks, recovering a known numéro, registration and its 48-hour link."""

import io
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from cgos import dates
from cgos.backoffice import workload
from cgos.backoffice.check_time import median_working_days, usual_check_days
from cgos.extensions import db
from cgos.identifiers import numero as numero_rules
from cgos.mail import open_mail
from cgos.models import (
    Agent,
    Commune,
    Establishment,
    FlowState,
    OutboundMail,
    Registration,
    RequestStatus,
    SecurityEvent,
    utcnow,
)
from cgos.places.search import MAX_RESULTS, communes_with_establishments
from tests_support.factories import add_agent, add_registration, agent_row, delegation, establishment_id
from tests_support.flows import PDF, QUESTION_PAGES, answer_questions, link_in, nir_step, register, registration_fields
from tests_support.personas import ANNE, JEAN, MARIE
from tests_support.staff import log_in_staff

URL = "/demande-numero"
ESTABLISHMENT_URL = URL + "/inscription/etablissement"
RENNES = "35238"
CHU_RENNES = "Centre Hospitalier Universitaire de Rennes"


def test_the_tab_asks_for_the_nir(either):
    page = either.get(URL)
    assert (
        page.soup.find("label", attrs={"for": "nir"}).find(string=True, recursive=False).strip()
        == "Numéro de sécurité sociale"
    )
    assert page.soup.select_one("nav#tabs a[aria-current=page]").get_text(strip=True) == "Demande de n°C.G.O.S"


@pytest.mark.parametrize(
    ("nir", "message"),
    [
        ("", "Saisissez votre numéro de sécurité sociale"),
        ("2 85 03 35 238", "Le numéro de sécurité sociale comporte 15 chiffres"),
        ("2 85 03 35 238 123 89", "La clé ne correspond pas"),
        ("5 85 03 35 238 123 88", "Le premier chiffre du numéro de sécurité sociale doit être 1 ou 2."),
        ("2 85 13 35 238 123 88", "Le mois de naissance indiqué dans le numéro de sécurité sociale"),
    ],
    ids=["empty", "short", "key", "sex", "month"],
)
def test_each_nir_error_has_its_message(either, nir, message):
    page = nir_step(either, nir)
    assert page.status == 422
    assert page.field_error("nir").startswith(message)
    assert nir.replace(" ", "") not in page.response.get_data(as_text=True) or not nir


def test_corsica_nirs_are_accepted(agent):
    from stdnum.fr import nir as stdnum_nir

    body = "185022A004123"
    page = nir_step(agent, body + stdnum_nir.calc_check_digits(body))
    assert page.soup.h1.get_text(strip=True) == "Votre identité"


def test_nir_lookups_are_rate_limited(make_app, new_agent):
    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():
        agent = new_agent(app)
        nir_step(agent, ANNE.nir)
        nir_step(agent, ANNE.nir)
        assert nir_step(agent, ANNE.nir).status == 429


def test_a_known_nir_mails_the_numero_to_the_address_on_file(either):
    page = nir_step(either, MARIE.spaced_nir)
    assert (
        "Il vous a déjà été attribué un numéro C.G.O.S. Vous devez confirmer votre adresse mail pour le recevoir par messagerie."
        in page.text
    )
    assert page.soup.select_one(".masked-address") is None
    assert "285033523812388" not in page.response.get_data(as_text=True)
    page = either.submit(URL + "/adresse-mail", {"email": MARIE.email, "email_confirmation": MARIE.email})
    assert page.soup.h1.get_text(strip=True) == "Votre numéro C.G.O.S vous a été envoyé"
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "marie.dupont@example.org"
    assert "Or, votre Numéro existe déjà." in mail.text_body
    assert re.search(r"^Numéro C.G.O.S : 35127846 S$", mail.text_body, re.M)
    for nir in ("285033523812388", "2 85 03 35 238 123 88"):
        assert nir not in mail.text_body and nir not in mail.html_body


def test_a_known_nir_never_mails_another_address(either):
    nir_step(either, MARIE.spaced_nir)
    page = either.submit(
        URL + "/adresse-mail", {"email": "pirate@example.org", "email_confirmation": "pirate@example.org"}
    )
    assert page.status == 422
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


def test_a_known_nir_without_mail_is_sent_to_the_delegation(either):
    page = nir_step(either, JEAN.spaced_nir)
    assert "vous rapprocher de votre délégation régionale" in page.text
    assert "Délégation régionale Bretagne" in page.text


def test_an_unknown_nir_gets_the_registration_form_with_the_guide_fields(either):
    """The guide's fields, spread over the question pages."""
    page = nir_step(either, ANNE.nir)
    labels = []
    for path, _ in QUESTION_PAGES:
        page = either.get(URL + path)
        labels += [label.find(string=True, recursive=False).strip() for label in page.main.select("label")]
        if path == "/inscription/etablissement":
            positions = page.soup.select("#position option")
    for name in [
        "Civilité",
        "Nom",
        "Prénom",
        "Date de naissance",
        "Email personnel",
        "Appart., escalier",
        "Bâtiment, entrée, résidence",
        "N° et voie",
        "Lieu-dit",
        "Pays",
        "Code postal",
        "Ville",
        "Ville de votre établissement",
        "Nom de votre établissement",
        "Date d'entrée dans votre établissement",
        "Votre position statutaire",
        "Joindre votre dernier bulletin de paie ou de pension",
    ]:
        assert name in labels
    assert [o.get_text() for o in positions][1:] == [
        "Titulaire",
        "Stagiaire",
        "Contractuel",
        "Apprenti",
        "Contrat aidé",
        "Retraité",
    ]
    page = either.get(URL + "/inscription")
    assert ANNE.nir not in page.response.get_data(as_text=True)
    assert "2 •• •• •• ••• ••• " in page.text


def test_the_city_field_offers_the_communes_of_the_postal_code(client):
    html = client.get("/recherche/villes?postal_code=35000").get_data(as_text=True)
    assert '<option value="Rennes">' in html
    assert client.get("/recherche/villes?postal_code=3500").get_data(as_text=True).strip() == ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"civility": "M."}, "civility", "La civilité ne correspond pas au numéro de sécurité sociale"),
        ({"birth_date": "12/03/1990"}, "birth_date", "L'année de naissance ne correspond pas"),
        ({"birth_date": "12/04/1991"}, "birth_date", "Le mois de naissance ne correspond pas"),
        ({"city": "Brest"}, "city", "La ville ne correspond pas au code postal 35000"),
        ({"postal_code": "99999"}, "city", "Le code postal 99999 n'existe pas"),
        (
            {"entry_date": (date.today() + timedelta(days=3)).strftime("%d/%m/%Y")},
            "entry_date",
            "ne peut pas être dans le futur",
        ),
        ({"entry_date": "01/09/2005"}, "entry_date", "doit être postérieure à vos 18 ans"),
        ({"position": "chef"}, "position", "Choisissez votre position statutaire dans la liste."),
        ({"position": ""}, "position", "Choisissez votre position statutaire."),
        ({"civility": "Mlle"}, "civility", "Choisissez votre civilité dans la liste."),
        ({"civility": " "}, "civility", "Choisissez votre civilité."),
        ({"country": "XX"}, "country", "Choisissez votre pays dans la liste."),
        ({"payslip": (b"GIF89a", "b.gif")}, "payslip", "Le fichier joint doit être un PDF"),
        ({"commune": None}, "commune_query", "Choisissez la ville de votre établissement"),
        # Found by the fuzzer: an id beyond the database's integers was a 500.
        ({"establishment": "9" * 30}, "establishment_query", "Choisissez votre établissement dans la liste"),
        ({"establishment": "\u0663"}, "establishment_query", "Choisissez votre établissement dans la liste"),
        ({"establishment": "-1"}, "establishment_query", "Choisissez votre établissement dans la liste"),
    ],
)
def test_registration_errors(either, app, overrides, field, message):
    page = register(either, **overrides)
    assert page.status == 422
    assert message in page.field_error(field)
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_a_foreign_address_needs_no_matching_commune(agent):
    page = register(agent, country="BE", postal_code="1000", city="Bruxelles")
    assert page.soup.h1.get_text(strip=True) == "Confirmez votre adresse mail"


def test_registration_sends_a_link_valid_48_hours_without_the_nir(either, app):
    page = register(either)
    assert "Vous devez confirmer votre adresse de messagerie sous 48 heures" in page.text
    registration = db.session.scalar(db.select(Registration))
    assert registration.delegation.code == "bretagne" and registration.agent is None
    assert registration.city == "Rennes" and registration.commune_insee == "35238"
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "anne.legoff@example.org"
    path = link_in(mail)
    assert ANNE.nir not in path and ANNE.nir not in mail.text_body and ANNE.nir[:13] not in mail.text_body


def test_following_the_link_creates_the_agent_with_a_new_numero(agent, app, new_agent):
    register(agent)
    path = link_in(db.session.scalar(db.select(OutboundMail)))
    visitor = new_agent(app)
    page = visitor.get(path)
    assert page.status == 200
    numero = re.search(r"Numéro C.G.O.S : (\d{8} [A-Z])", page.text).group(1)
    assert numero_rules.is_valid(numero)
    anne = db.session.scalar(db.select(Agent).where(Agent.numero == numero_rules.compact(numero)))
    assert anne.last_name == "LE GOFF" and anne.email == "anne.legoff@example.org"
    assert anne.establishment.name == "Centre Hospitalier Universitaire de Rennes"
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    assert re.search(rf"^Numéro C.G.O.S : {numero}$", mail.text_body, re.M)
    assert "Votre délégation vérifie votre inscription" in mail.text_body
    assert "/premiere-connexion" not in mail.text_body + (mail.html_body or ""), "no link into the refusal yet"
    again = visitor.get(path)
    assert again.status == 410 and "déjà été utilisé" in again.text
    assert db.session.scalar(db.select(db.func.count(Agent.id))) == 6, "no second agent"


def test_an_expired_link_gets_a_clear_page(clock, agent):
    register(agent)
    path = link_in(db.session.scalar(db.select(OutboundMail)))
    clock.shift(timedelta(hours=48, minutes=1))
    page = agent.get(path)
    assert page.status == 410 and "sous 48 heures" in page.text
    assert page.main.find("a", string="Demande de n°C.G.O.S")
    assert db.session.scalar(db.select(db.func.count(Agent.id))) == 5


def test_a_link_just_within_48_hours_works(clock, agent):
    register(agent)
    path = link_in(db.session.scalar(db.select(OutboundMail)))
    clock.shift(timedelta(hours=47, minutes=59))
    assert agent.get(path).status == 200


def test_each_registration_link_outcome_has_its_status_title_and_heading(clock, agent):
    def seen(url):
        """Status, title and heading of a link's page."""
        page = agent.get(url)
        return page.status, page.title.split(" – ")[0], page.soup.h1.get_text(strip=True)

    assert seen(URL + "/confirmer/inconnu") == (404, "Lien invalide", "Lien invalide")
    register(agent)
    path = link_in(db.session.scalar(db.select(OutboundMail)))
    sent = utcnow()
    clock.shift(timedelta(hours=48, minutes=1))
    assert seen(path) == (410, "Lien expiré", "Lien expiré")
    clock.move_to(sent)
    assert seen(path) == (200, "Votre numéro C.G.O.S", "Votre numéro C.G.O.S")
    assert seen(path) == (410, "Lien déjà utilisé", "Lien déjà utilisé")


def test_a_registration_link_for_a_nir_that_already_has_a_numero(agent):
    register(agent)
    path = link_in(db.session.scalar(db.select(OutboundMail)))
    registration = db.session.scalar(db.select(Registration))
    marie = agent_row(MARIE)
    registration.nir_digest = marie.nir_digest
    db.session.commit()
    page = agent.get(path)
    assert page.status == 200
    assert page.title.startswith("Numéro déjà attribué") and page.soup.h1.get_text(strip=True) == "Numéro déjà attribué"
    assert "Un numéro C.G.O.S vous a déjà été attribué." in page.text


def test_an_unknown_link_is_refused(agent):
    assert agent.get(URL + "/confirmer/inconnu").status == 404


def test_the_whole_journey_to_a_first_login(agent, app, new_agent):
    """A new agent registers, confirms the mail, is accepted, gets a provisional password and logs in."""
    register(agent)
    page = new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    numero = re.search(r"Numéro C.G.O.S : (\d{8} [A-Z])", page.text).group(1)
    registration = db.session.scalar(db.select(Registration))
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/inscriptions/{registration.id}")
    staff.submit(f"/delegation/inscriptions/{registration.id}", {"decision": "verify"})
    person = new_agent(app)
    person.get("/premiere-connexion")
    person.submit("/premiere-connexion", {"numero": numero, "birth_year": "1991", "birth_month": "3"})
    page = person.submit(
        "/premiere-connexion/adresse-mail",
        {"email": "anne.legoff@example.org", "email_confirmation": "anne.legoff@example.org"},
    )
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", open_mail(mail).text_body, re.M).group(1)
    page = person.log_in(numero, pin)
    assert page.soup.h1.get_text(strip=True) == "Conditions générales d'utilisation"


def test_the_registration_reaches_the_back_office_and_a_rejection_disables_the_account(agent, app, new_agent):
    register(agent)
    new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    registration = db.session.scalar(db.select(Registration))
    staff = new_agent(app)
    page = log_in_staff(staff)
    assert "Anne LE GOFF" in page.text
    page = staff.get(f"/delegation/inscriptions/{registration.id}")
    assert "2 •• •• •• ••• ••• " in page.text and ANNE.nir not in page.response.get_data(as_text=True)
    assert staff.client.get(f"/delegation/inscriptions/{registration.id}/bulletin").data == PDF
    page = staff.submit(
        f"/delegation/inscriptions/{registration.id}", {"decision": "reject", "reason": "Bulletin d'un autre agent"}
    )
    db.session.refresh(registration)
    assert registration.status == "rejected" and registration.agent.disabled_at is not None
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    assert mail.recipient == "anne.legoff@example.org" and "Bulletin d'un autre agent" in mail.text_body
    person = new_agent(app)
    person.get("/premiere-connexion")
    page = person.submit(
        "/premiere-connexion", {"numero": registration.agent.numero, "birth_year": "1991", "birth_month": "3"}
    )
    assert page.soup.h1.get_text(strip=True) == "Compte désactivé"


def test_staff_can_mark_a_registration_verified(agent, app, new_agent):
    register(agent)
    new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    registration = db.session.scalar(db.select(Registration))
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/inscriptions/{registration.id}")
    staff.submit(f"/delegation/inscriptions/{registration.id}", {"decision": "verify"})
    db.session.refresh(registration)
    assert registration.status == "accepted" and registration.agent.disabled_at is None


@pytest.mark.parametrize(
    ("decision", "kind"),
    [
        ({"decision": "verify"}, "registration_accepted"),
        ({"decision": "reject", "reason": "Bulletin illisible"}, "registration_rejected"),
    ],
)
def test_confirming_and_deciding_a_registration_leave_audit_rows(agent, app, new_agent, decision, kind):
    register(agent)
    new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    registration = db.session.scalar(db.select(Registration))
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/inscriptions/{registration.id}")
    staff.submit(f"/delegation/inscriptions/{registration.id}", decision)
    rows = [
        (e.kind, e.registration_id, e.detail)
        for e in db.session.scalars(db.select(SecurityEvent).order_by(SecurityEvent.id))
        if e.agent_id == registration.agent_id
    ]
    assert rows == [
        ("registration_confirmed", None, None),
        ("personal_data_viewed", registration.id, None),
        (kind, registration.id, None),
    ]


def test_a_chosen_commune_beyond_the_first_results_stays_chosen(agent):
    """As in the questionnaire (one chooser): a commune chosen from a long list is not lost on a later search."""
    without = (
        db.select(Commune)
        .where(Commune.search_name.startswith("sa"), ~Commune.insee.in_(db.select(Establishment.commune_insee)))
        .order_by(Commune.search_name)
        .limit(MAX_RESULTS)
    )
    for number, commune in enumerate(db.session.scalars(without)):
        db.session.add(
            Establishment(
                name=f"Hôpital {number}", search_name=f"hopital {number}", category="CH", commune_insee=commune.insee
            )
        )
    db.session.commit()
    chosen = communes_with_establishments("sa", limit=50)[-1]
    assert chosen not in communes_with_establishments("sa")
    nir_step(agent, ANNE.nir)
    agent.get(URL + "/inscription/etablissement")
    agent.submit(URL + "/inscription/etablissement", {"commune_query": "sa", "choose_commune": chosen.insee})
    page = agent.submit(URL + "/inscription/etablissement", {"action": "search_establishment"})
    assert page.soup.find("input", attrs={"name": "commune"})["value"] == chosen.insee
    assert chosen.name in page.main.select_one("#commune-chosen").get_text()


def test_each_question_page_shows_its_step_and_moves_on_with_continuer(either):
    nir_step(either, ANNE.nir)
    fields = registration_fields()
    for number, (path, names) in enumerate(QUESTION_PAGES, start=2):
        page = either.get(URL + path)
        assert page.soup.select_one(".steps").get_text(strip=True) == f"Étape {number} sur 6"
        assert f"(étape {number} sur 6)" in page.title
        assert page.main.select("form .actions button")[0].get_text(strip=True) == "Continuer"
        assert page.main.select_one("a.back-link").get_text(strip=True) == "Retour"
        page = either.submit(URL + path, {name: fields[name] for name in names if name in fields})
    assert page.soup.select_one(".steps").get_text(strip=True) == "Étape 6 sur 6"
    assert page.main.find("button", string="Envoyer")


def test_a_required_select_starts_with_an_empty_placeholder_so_pays_is_not_required(either):
    """The Nu Html Checker's error (issue 22, item 10): « Pays » was `required` and starts on « France »."""
    nir_step(either, ANNE.nir)
    fields = registration_fields()
    either.submit(URL + "/inscription", {name: fields[name] for name in QUESTION_PAGES[0][1]})
    page = either.get(URL + "/inscription/adresse")
    country = page.main.find("select", attrs={"name": "country"})
    assert country.find("option", selected=True)["value"] == "FR"
    assert not country.has_attr("required") and country["aria-required"] == "true"
    for select in page.main.select("select[required]"):
        assert select.find("option")["value"] == "", select["name"]
    civility = either.get(URL + "/inscription").main.find("select", attrs={"name": "civility"})
    assert civility.has_attr("required") and civility.find("option")["value"] == ""


def test_the_nir_page_is_step_one_with_a_numeric_keyboard_and_a_way_to_type_2a(either):
    page = either.get(URL)
    assert page.soup.select_one(".steps").get_text(strip=True) == "Étape 1 sur 6"
    assert page.soup.find(id="nir")["inputmode"] == "numeric"
    link = page.main.find("a", string="utiliser le clavier avec lettres")
    page = either.get(link["href"])
    assert page.soup.find(id="nir")["inputmode"] == "text"
    assert "2A ou 2B" in page.soup.find(id="nir-hint").get_text()


def test_no_row_is_written_before_envoyer(agent):
    nir_step(agent, ANNE.nir)
    page = answer_questions(agent, registration_fields())
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses"
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


def test_check_page_lists_every_answer_and_modifier_comes_back_to_it(either):
    nir_step(either, ANNE.nir)
    page = answer_questions(either, registration_fields())
    rows = {
        row.dt.get_text(strip=True): row.select("dd")[0].get_text(strip=True)
        for row in page.main.select(".summary-list__row")
    }
    assert rows["Nom"] == "Le Goff" and rows["Date de naissance"] == "12 mars 1991"
    assert (
        rows["Ville"] == "Rennes" and rows["Nom de votre établissement"] == "Centre Hospitalier Universitaire de Rennes"
    )
    assert rows["Votre position statutaire"] == "Titulaire" and rows["Bulletin joint"] == "bulletin.pdf"
    modify = page.main.select_one(".summary-list__action a")
    assert modify.get_text(" ", strip=True) == "Modifier : Civilité"
    page = either.get(modify["href"])
    assert page.soup.find(id="last_name")["value"] == "Le Goff"
    assert page.main.select_one("a.back-link")["href"].endswith("/inscription/verification")
    # (The test client's form_data leaves selects empty: a browser sends the option selected.)
    page = either.submit(modify["href"], {"civility": "Mme", "first_name": "Annie"})
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses"
    assert "Annie" in page.text
    page = either.submit(URL + "/inscription/verification")
    assert db.session.scalar(db.select(Registration.first_name)) == "Annie"


def test_the_check_page_sends_back_to_a_page_not_answered(agent):
    nir_step(agent, ANNE.nir)
    page = agent.get(URL + "/inscription/verification", follow_redirects=True)
    assert page.soup.h1.get_text(strip=True) == "Votre identité"


def test_the_payslip_is_kept_across_pages_and_replaced_by_a_new_one(either, app):
    nir_step(either, ANNE.nir)
    answer_questions(either, registration_fields(payslip=(PDF, "mon bulletin.pdf")))
    page = either.get(URL + "/inscription/bulletin")
    kept = page.main.select_one(".kept-file")
    assert kept.get_text(" ", strip=True) == "Fichier joint : mon bulletin.pdf — Remplacer"
    assert page.soup.find(id="payslip").get("aria-required") is None
    page = either.submit(URL + "/inscription/bulletin")
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses", "no new file: the kept one stays"
    either.get(URL + "/inscription/bulletin")
    page = either.submit(URL + "/inscription/bulletin", {"payslip": (io.BytesIO(b"GIF89a"), "b.gif")})
    assert page.status == 422 and "Le fichier joint doit être un PDF" in page.field_error("payslip")
    assert "mon bulletin.pdf" in page.main.select_one(".kept-file").get_text()
    page = either.submit(URL + "/inscription/bulletin", {"payslip": (io.BytesIO(PDF), "autre.pdf")})
    assert "autre.pdf" in page.text
    either.submit(URL + "/inscription/verification")
    registration = db.session.scalar(db.select(Registration))
    assert registration.payslip_filename == "autre.pdf"
    kept_folder = Path(app.config["UPLOAD_FOLDER"]) / "kept"
    assert not list(kept_folder.glob("*")), "sent: the kept copy is gone"


def test_an_abandoned_payslip_is_purged_with_its_flow_state(agent, app, monkeypatch):
    from cgos import maintenance

    nir_step(agent, ANNE.nir)
    answer_questions(agent, registration_fields())
    kept_folder = Path(app.config["UPLOAD_FOLDER"]) / "kept"
    assert len(list(kept_folder.glob("*"))) == 1
    assert maintenance.purge_kept_payslips(utcnow() + timedelta(minutes=30)) == 0, "its form is still open"
    assert maintenance.purge_kept_payslips(utcnow() + timedelta(hours=2)) == 1
    assert not list(kept_folder.glob("*"))


def test_without_javascript_a_search_puts_the_focus_on_the_first_result(agent):
    nir_step(agent, ANNE.nir)
    agent.get(URL + "/inscription/etablissement")
    page = agent.submit(URL + "/inscription/etablissement", {"commune_query": "rennes", "action": "search_commune"})
    assert page.soup.find("button", attrs={"name": "choose_commune"}).has_attr("autofocus")
    agent.submit(URL + "/inscription/etablissement", {"choose_commune": RENNES})
    page = agent.submit(URL + "/inscription/etablissement", {"action": "search_establishment"})
    assert page.soup.find("button", attrs={"name": "choose_establishment"}).has_attr("autofocus")


def test_the_numero_page_says_the_delegation_checks_first_with_no_button_into_the_refusal(agent, app, new_agent):
    register(agent)
    sent = agent.page.main
    assert sent.select_one(".panel.panel--success h1").get_text(strip=True) == "Confirmez votre adresse mail"
    assert "Votre délégation vérifie votre inscription." in sent.get_text(" ", strip=True)
    assert not sent.select('a[href^="/premiere-connexion"]')
    page = new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    panel = page.main.select_one(".panel.panel--success")
    assert re.search(r"\d{8} [A-Z]", panel.select_one(".numero-panel__numero").get_text())
    text = page.main.get_text(" ", strip=True)
    assert "Votre délégation vérifie votre inscription. Vous recevrez un mail : vous pourrez alors demander" in text
    assert "demandez maintenant" not in text and "en général sous" not in text
    assert not page.main.find("a", string="Demander mon mot de passe")
    assert not page.main.select('a[href^="/premiere-connexion"]')


def test_verifying_the_registration_mails_a_link_to_first_connection_with_the_numero_typed(agent, app, new_agent):
    register(agent)
    new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    registration = db.session.scalar(db.select(Registration))
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/inscriptions/{registration.id}")
    staff.submit(f"/delegation/inscriptions/{registration.id}", {"decision": "verify"})
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    assert mail.recipient == "anne.legoff@example.org"
    assert mail.subject == "Espace Agent C.G.O.S : votre inscription est vérifiée"
    text = open_mail(mail).text_body
    assert re.search(r"^Demander mon mot de passe :\nhttps?://\S+/premiere-connexion\?numero=\S+$", text, re.M)
    numero = registration.agent.numero
    assert re.search(rf"^Numéro C.G.O.S : {numero[:8]} {numero[8]}$", text, re.M)
    assert "Demander mon mot de passe" in mail.html_body
    page = new_agent(app).get(link_in(mail))
    assert page.soup.h1.get_text(strip=True) == "Vous n'avez pas encore de mot de passe"
    assert page.soup.find(id="numero")["value"] == f"{numero[:8]} {numero[8]}"


def test_rejecting_a_registration_sends_no_password_link(agent, app, new_agent):
    register(agent)
    new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    registration = db.session.scalar(db.select(Registration))
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/inscriptions/{registration.id}")
    staff.submit(f"/delegation/inscriptions/{registration.id}", {"decision": "reject", "reason": "Bulletin illisible"})
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    assert "désactivé" in mail.text_body and "/premiere-connexion" not in open_mail(mail).text_body


def checked_registrations(days: list[int], now=None, region_agents: int = 0) -> None:
    """Bretagne registrations confirmed on a Monday and checked `days` working days later (public holidays off)."""
    now = now or utcnow()
    monday = workload.week_start(dates.local_day(now)) - timedelta(weeks=3)
    for number, waited in enumerate(days):
        digits = f"{61000000 + region_agents + number:08d}"
        person = add_agent("VERIFIE", f"Agent {number}", digits + numero_rules.calc_check_letter(digits), None)
        checked_day = monday
        holidays_off = workload.days_off("53", monday.year, monday.year + 1)
        while workload.working_days_between(monday, checked_day, holidays_off) < waited:
            checked_day += timedelta(days=1)
        confirmed = datetime.combine(monday, time(10), dates.PARIS)
        checked = datetime.combine(checked_day, time(15), dates.PARIS)
        add_registration(person, confirmed, status=RequestStatus.ACCEPTED, decided_at=checked)


def test_the_median_check_time_needs_ten_checks_in_ninety_days():
    monday = datetime(2026, 11, 2, 10, tzinfo=dates.PARIS)
    pairs = [(monday, monday + timedelta(days=3))] * 9
    assert median_working_days(pairs) is None
    pairs += [(monday, monday + timedelta(days=10))]
    assert median_working_days(pairs) == 3, "Monday to Thursday: 3 working days; the median, not the mean"
    assert median_working_days([(monday, monday + timedelta(hours=2))] * 10) == 1, "same day: « sous 1 jour »"


def test_fewer_than_ten_checked_registrations_give_no_delay(agent, app, new_agent):
    checked_registrations([3] * 9)
    old = utcnow() - timedelta(days=120)
    checked_registrations([3], now=old, region_agents=50)
    assert usual_check_days(delegation("bretagne").id) is None, "a check of 120 days ago is not counted"
    register(agent)
    assert "en général sous" not in agent.page.main.get_text(" ", strip=True)
    page = new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    assert "en général sous" not in page.main.get_text(" ", strip=True)
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    assert "en général sous" not in mail.text_body


def test_ten_checked_registrations_give_their_median_in_working_days(agent, app, new_agent):
    checked_registrations([3] * 6 + [8] * 4)
    assert usual_check_days(delegation("bretagne").id) == 3
    assert usual_check_days(delegation("ile-de-france").id) is None, "another delegation's checks"
    phrase = "Votre délégation vérifie votre inscription (en général sous 3 jours ouvrés)."
    register(agent)
    assert phrase in agent.page.main.get_text(" ", strip=True)
    page = new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    assert phrase in page.main.get_text(" ", strip=True)
    mail = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    assert phrase in mail.text_body and phrase in mail.html_body


def test_envoyer_has_no_cancel_button_beside_it_but_a_plain_abandon_link_below(either):
    nir_step(either, ANNE.nir)
    page = answer_questions(either, registration_fields())
    actions = page.main.select_one("form .actions")
    assert [control.get_text(strip=True) for control in actions.select("button, a")] == ["Envoyer"]
    link = page.main.find("a", string="Abandonner ma demande")
    assert link is not None and link.find_parent("form") is None and "button" not in (link.get("class") or [])
    assert link["href"] == URL + "/inscription/abandonner"


def test_continuer_ma_demande_keeps_the_answers(either):
    nir_step(either, ANNE.nir)
    answer_questions(either, registration_fields())
    page = either.get(URL + "/inscription/abandonner")
    assert page.soup.h1.get_text(strip=True) == "Voulez-vous vraiment abandonner votre demande ?"
    assert page.main.find("button", string="Oui, abandonner ma demande")
    page = either.get(page.main.find("a", string="Continuer ma demande")["href"])
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses"
    assert "Le Goff" in page.text


def test_abandoning_throws_the_answers_and_the_payslip_away_and_goes_back_to_the_tab(either, app):
    nir_step(either, ANNE.nir)
    answer_questions(either, registration_fields())
    kept_folder = Path(app.config["UPLOAD_FOLDER"]) / "kept"
    assert len(list(kept_folder.glob("*"))) == 1
    either.get(URL + "/inscription/abandonner")
    page = either.submit(URL + "/inscription/abandonner")
    assert page.soup.h1.get_text(strip=True) == "Vous n'avez pas encore de numéro C.G.O.S"
    assert "Votre demande de numéro C.G.O.S est abandonnée" in page.main.select_one(".notice").get_text()
    assert page.soup.find(id="nir").get("value", "") == ""
    assert not list(kept_folder.glob("*"))
    assert db.session.scalar(db.select(db.func.count(FlowState.id))) == 0
    page = nir_step(either, ANNE.nir)
    assert page.soup.find(id="last_name").get("value", "") == ""


def test_retour_from_the_identity_page_shows_the_nir_typed_and_each_page_its_answers(either):
    nir_step(either, ANNE.nir)
    answer_questions(either, registration_fields())
    for path, names in reversed(QUESTION_PAGES[:3]):
        page = either.get(URL + path)
        typed = [name for name in names if name in ("last_name", "email", "postal_code", "entry_date")]
        assert all(page.soup.find(id=name).get("value") for name in typed), path
        back = page.main.select_one("a.back-link")["href"]
    assert back == URL
    page = either.get(back)
    assert page.soup.find(id="nir")["value"] == "2 91 03 35 238 456 " + ANNE.nir[13:]


def test_the_same_nir_typed_again_brings_its_answers_back_without_counting_another_look_up(make_app, new_agent):
    app = make_app(NIR_RATE_LIMIT="1 per day")
    with app.app_context():
        agent = new_agent(app)
        nir_step(agent, ANNE.nir)
        answer_questions(agent, registration_fields())
        for _ in range(3):
            page = nir_step(agent, ANNE.nir[:5] + " " + ANNE.nir[5:])
            assert page.status == 200 and page.soup.h1.get_text(strip=True) == "Votre identité"
            assert page.soup.find(id="last_name")["value"] == "Le Goff"
        page = agent.get(URL + "/inscription/verification")
        assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses"


def test_a_corsican_nir_comes_back_on_the_keyboard_with_letters(agent):
    from stdnum.fr import nir as stdnum_nir

    body = "185022A004123"
    nir_step(agent, body + stdnum_nir.calc_check_digits(body))
    page = agent.get(URL)
    assert page.soup.find(id="nir")["inputmode"] == "text"
    assert page.soup.find(id="nir")["value"].startswith("1 85 02 2A 004 123")


def chosen_line(page, id_: str) -> str:
    """The line of a choice made (« Ville choisie : … — Changer »), its text as read."""
    line = page.main.select_one(f"#{id_}")
    return " ".join(line.get_text(" ", strip=True).split()) if line else ""


def test_a_chosen_city_then_establishment_show_as_one_line_each_with_changer(either):
    nir_step(either, ANNE.nir)
    either.get(ESTABLISHMENT_URL)
    page = either.submit(ESTABLISHMENT_URL, {"commune_query": "renn", "action": "search_commune"})
    assert page.soup.find("button", attrs={"name": "choose_commune", "value": RENNES}).get_text() == "Rennes (35000)"
    assert not chosen_line(page, "commune-chosen"), "a city found is not chosen until the agent chooses it"
    page = either.submit(ESTABLISHMENT_URL, {"choose_commune": RENNES})
    assert (
        chosen_line(page, "commune-chosen") == "Ville choisie : Rennes (35000) — Changer : Ville de votre établissement"
    )
    assert page.main.select_one("#commune-chosen").has_attr("autofocus")
    assert page.soup.find(id="commune_query") is None or page.soup.find(id="commune_query")["type"] == "hidden"
    offered = [button.get_text() for button in page.main.select("#establishment-results button")]
    assert CHU_RENNES in offered and "Centre Hospitalier Guillaume Régnier" in offered
    chu = establishment_id(CHU_RENNES)
    page = either.submit(ESTABLISHMENT_URL, {"choose_establishment": str(chu)})
    assert chosen_line(page, "establishment-chosen") == (
        f"Établissement choisi : {CHU_RENNES} — Changer : Nom de votre établissement"
    )
    assert chosen_line(page, "commune-chosen").startswith("Ville choisie : Rennes (35000)")
    assert page.main.select("#establishment-results button") == []
    page = either.submit(ESTABLISHMENT_URL, {"entry_date": "01/09/2015", "position": "titulaire"})
    assert page.soup.h1.get_text(strip=True) == "Votre bulletin de paie ou de pension"
    # Back on the page, both are shown as chosen, from the answers kept.
    page = either.get(ESTABLISHMENT_URL)
    assert chosen_line(page, "establishment-chosen").startswith(f"Établissement choisi : {CHU_RENNES}")
    assert chosen_line(page, "commune-chosen").startswith("Ville choisie : Rennes (35000)")


def test_changer_offers_the_search_again_with_the_focus_on_its_field(agent):
    nir_step(agent, ANNE.nir)
    agent.get(ESTABLISHMENT_URL)
    agent.submit(ESTABLISHMENT_URL, {"commune_query": "renn", "choose_commune": RENNES})
    agent.submit(ESTABLISHMENT_URL, {"choose_establishment": str(establishment_id(CHU_RENNES))})
    page = agent.submit(ESTABLISHMENT_URL, {"action": "change_establishment"})
    assert not chosen_line(page, "establishment-chosen") and chosen_line(page, "commune-chosen")
    assert page.soup.find(id="establishment_query").has_attr("autofocus")
    assert CHU_RENNES in [button.get_text() for button in page.main.select("#establishment-results button")]
    page = agent.submit(ESTABLISHMENT_URL, {"action": "change_commune"})
    assert not chosen_line(page, "commune-chosen")
    field = page.soup.find(id="commune_query")
    assert field.has_attr("autofocus") and field["value"] == "renn"
    assert "Rennes (35000)" in [button.get_text() for button in page.main.select("#commune-results button")]
    assert page.main.select_one("#establishment-results").get_text(strip=True).startswith("Choisissez d'abord")
    # Changed, not chosen again: « Continuer » asks for the city.
    page = agent.submit(ESTABLISHMENT_URL, {"entry_date": "01/09/2015", "position": "titulaire"})
    assert page.status == 422 and page.field_error("commune_query").startswith("Choisissez la ville")


def test_choosing_the_city_after_its_error_takes_the_error_away(agent):
    nir_step(agent, ANNE.nir)
    agent.get(ESTABLISHMENT_URL)
    page = agent.submit(ESTABLISHMENT_URL, {"commune_query": "renn", "entry_date": "01/09/2015"})
    assert page.status == 422 and page.field_error("commune_query").startswith("Choisissez la ville")
    page = agent.submit(ESTABLISHMENT_URL, {"choose_commune": RENNES})
    assert page.status == 200 and page.error_summary() == [] and not page.title.startswith("Erreur")
    assert page.soup.find(id="entry_date")["value"] == "01/09/2015"
    page = agent.submit(ESTABLISHMENT_URL, {"position": "titulaire"})
    assert page.status == 422 and chosen_line(page, "commune-chosen")
    assert page.field_error("establishment_query") == "Choisissez votre établissement dans la liste proposée."


def test_an_establishment_of_another_city_is_not_chosen(agent):
    nir_step(agent, ANNE.nir)
    agent.get(ESTABLISHMENT_URL)
    agent.submit(ESTABLISHMENT_URL, {"commune_query": "renn", "choose_commune": RENNES})
    elsewhere = db.session.scalar(db.select(Establishment.id).where(Establishment.commune_insee != RENNES))
    page = agent.submit(ESTABLISHMENT_URL, {"choose_establishment": str(elsewhere)})
    assert not chosen_line(page, "establishment-chosen") and chosen_line(page, "commune-chosen")


def test_with_javascript_the_chooser_is_swapped_alone_and_says_what_was_chosen(agent):
    url = "/recherche/choix"
    page = agent.get(url, query_string={"commune_query": "renn", "choose_commune": RENNES})
    html = page.response.get_data(as_text=True)
    assert page.status == 200 and "<html" not in html and "<form" not in html
    assert chosen_line(page, "commune-chosen").startswith("Ville choisie : Rennes (35000)")
    assert page.soup.select_one("#commune-chosen").has_attr("autofocus")
    status = page.soup.select_one("#establishment-chooser-status")
    assert status["hx-swap-oob"] == "innerHTML" and status.get_text() == "Ville choisie : Rennes (35000)"
    chu = str(establishment_id(CHU_RENNES))
    page = agent.get(url, query_string={"commune": RENNES, "choose_establishment": chu})
    assert chosen_line(page, "establishment-chosen").startswith(f"Établissement choisi : {CHU_RENNES}")
    assert page.soup.select_one("#establishment-chooser-status").get_text() == f"Établissement choisi : {CHU_RENNES}"
    page = agent.get(url, query_string={"commune": RENNES, "establishment": chu, "action": "change_commune"})
    assert page.soup.find(id="commune_query").has_attr("autofocus") and not chosen_line(page, "establishment-chosen")
    for button in page.soup.select("button"):
        assert button["hx-get"] in (url, "/recherche/communes", "/recherche/etablissements")


def test_a_kept_answer_left_out_of_a_post_is_asked_again_not_a_500(either):
    nir_step(either, ANNE.nir)
    answer_questions(either, registration_fields())
    data = either.get(URL + "/inscription").form_data("form")
    del data["birth_date"]
    page = either.post(URL + "/inscription", data)
    assert page.status == 422
    assert page.soup.find(id="birth_date").get("aria-invalid") == "true"


def test_an_address_left_out_of_a_post_is_asked_again(either):
    nir_step(either, ANNE.nir)
    answer_questions(either, registration_fields())
    data = either.get(URL + "/inscription/adresse").form_data("form")
    data["country"] = "FR"
    del data["postal_code"]
    page = either.post(URL + "/inscription/adresse", data)
    assert page.status == 422
    assert page.soup.find(id="postal_code").get("aria-invalid") == "true", "the left-out answer is asked again"
