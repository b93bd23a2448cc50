"""Attacks from the 2026-11 review on the identification oracles (M1, M2, M4 routing, L1, L2), from outside."""

import io

from cgos.extensions import db
from cgos.models import Delegation, MailChangeRequest, OutboundMail, SecurityEvent
from cgos.templating import french_date
from cgos.validators import parse_french_date
from tests_support.factories import RENNES_CHU, agent_row, establishment_id
from tests_support.flows import answer_questionnaire, identify
from tests_support.personas import LUC, MARIE, NADIA, with_nir_key
from tests_support.staff import log_in_staff

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
QUESTIONNAIRE = "/questionnaire-adresse-mail"
# Nobody has this NIR: a woman born in March 1985 in Rennes, with its computed key.
NOBODYS_NIR = with_nir_key("2850335238124")


def questionnaire(agent, **overrides):
    """Answer each page of the questionnaire as Marie (a Rennes establishment unless told otherwise), then « Envoyer »."""
    fields = {
        "numero": MARIE.numero,
        "birth_date": MARIE.birth_date_typed,
        "new_email": "x@attacker-mail.fr",
        "new_email_confirmation": "x@attacker-mail.fr",
        "last_name": "Dupont",
        "first_name": "Marie",
        "commune": "35238",
        "establishment": str(establishment_id(RENNES_CHU)),
        "payslip": (io.BytesIO(PDF), "bulletin.pdf"),
        **overrides,
    }
    page = answer_questionnaire(agent, {key: value for key, value in fields.items() if value is not None})
    if page.status != 200:
        return page
    return agent.submit(QUESTIONNAIRE + "/verification")


def test_the_questionnaire_does_not_tell_which_birth_date_is_right(new_agent, app):
    """M1: the review's four dates, sent without payslip nor establishment, all get the same answer."""
    answers = set()
    for day in ["12/03/1985", "13/03/1985", "14/03/1985", "15/03/1985"]:
        page = questionnaire(new_agent(app), birth_date=day, commune=None, establishment=None, payslip=None)
        answers.add((page.status, tuple(page.error_summary())))
    assert len(answers) == 1


def test_a_complete_questionnaire_with_a_wrong_birth_date_gets_the_same_answer(new_agent, app):
    """M1: with everything else valid, a wrong and the right birth date both end on « envoyé »."""
    wrong = questionnaire(new_agent(app), birth_date="13/03/1985")
    right = questionnaire(new_agent(app))
    assert (wrong.status, wrong.soup.h1.get_text(strip=True)) == (right.status, right.soup.h1.get_text(strip=True))
    assert wrong.status == 200
    requests = db.session.scalars(db.select(MailChangeRequest).order_by(MailChangeRequest.id)).all()
    assert [r.agent_id is None for r in requests] == [True, False]


def test_questionnaire_tries_count_in_the_identification_limit(make_app, new_agent):
    """M1: past IDENTIFICATION_RATE_LIMIT on a numéro, the questionnaire refuses it too."""
    app = make_app(IDENTIFICATION_RATE_LIMIT="2 per hour")
    with app.app_context():
        assert questionnaire(new_agent(app), birth_date="12/03/1985").status == 200
        assert questionnaire(new_agent(app), birth_date="13/03/1985").status == 200
        assert questionnaire(new_agent(app)).status == 429
        assert identify(new_agent(app), "first_connection").status == 429


# Nobody has this numéro: its check letter is right.
NOBODYS_NUMERO = f"12345678 {'ABCDEFGHJKLMNPRSTUVWXYZ'[12345678 % 23]}"
# The probes: Marie's right pair, a wrong birth date (typed two ways), a numéro nobody has.
PROBES = [
    ("35127846 S", "14/03/1985"),
    ("35127846 S", "13/03/1985"),
    ("35127846 S", "13031985"),
    (NOBODYS_NUMERO, "14/03/1985"),
]


def probe_page_by_page(agent, numero: str, birth_date: str) -> list[tuple]:
    """Each page of the questionnaire up to « Vérifiez vos réponses », never sent, as the prober reads it.

    Every value any probe types is taken out of what each page says: what is left is what the portal adds.
    """
    pages = [agent.get(QUESTIONNAIRE)]
    # First without a name (a page of errors), then complete: an oracle could hide in either answer.
    for name in ("", "Dupont"):
        fields = {"numero": numero, "birth_date": birth_date, "last_name": name, "first_name": "Marie"}
        pages.append(agent.submit(QUESTIONNAIRE, fields))
    pages.append(questionnaire(agent, numero=numero, birth_date=birth_date, payslip=None))
    pages.append(answer_questionnaire(agent, {"payslip": (io.BytesIO(PDF), "bulletin.pdf")}))
    typed = {value for probe in PROBES for value in probe}
    typed |= {french_date(parse_french_date(born)) for _, born in PROBES}

    def told(page) -> tuple:
        """Status, address, title and text of the page, without what was typed."""
        text = page.main.get_text(" ", strip=True)
        for value in sorted(typed, key=len, reverse=True):
            text = text.replace(value, "…")
        return page.status, page.response.request.path, page.title, text

    return [told(page) for page in pages]


def test_probing_numero_and_birth_date_page_by_page_tells_nothing(make_app, new_agent):
    """M1 with question pages: the right pair, a wrong birth date and an unknown numéro get the same pages,
    and nothing is looked up, counted or recorded before « Envoyer »."""
    app = make_app(IDENTIFICATION_RATE_LIMIT="1 per hour")
    with app.app_context():
        seen = [probe_page_by_page(new_agent(app), numero, born) for numero, born in PROBES]
        assert seen[0][-1][2].startswith("Vérifiez vos réponses"), "the probe reached the check page"
        assert [len(pages) for pages in seen] == [5] * len(PROBES)
        for pages in seen[1:]:
            assert pages == seen[0]
        assert db.session.scalar(db.select(db.func.count(SecurityEvent.id))) == 0
        assert db.session.scalar(db.select(db.func.count(MailChangeRequest.id))) == 0
        # Three probes of Marie's numéro, and her one identification try of the hour is still there.
        assert identify(new_agent(app), "first_connection").status == 200
        assert identify(new_agent(app), "first_connection").status == 429


def test_identification_tries_are_counted_once_across_both_tabs(make_app, new_agent):
    """L1: ten tries in « 1ère connexion » leave none for « Mot de passe oublié »."""
    app = make_app(IDENTIFICATION_RATE_LIMIT="3 per hour")
    with app.app_context():
        for year in ("1980", "1981", "1982"):
            assert identify(new_agent(app), "first_connection", birth_year=year).status == 422
        assert identify(new_agent(app), "forgotten_password", birth_year="1983").status == 429


def test_identification_failures_are_security_events_without_the_birth_date(new_agent, app):
    """L1: a wrong year is recorded against the numéro's agent, with no birth date in it."""
    identify(new_agent(app), "first_connection", birth_year="1984")
    event = db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.kind == "identification_failure"))
    marie = agent_row(MARIE)
    assert event is not None and event.agent_id == marie.id
    assert "1984" not in (event.detail or "") and "1985" not in (event.detail or "")


def test_a_paris_agents_request_with_a_rennes_establishment_goes_to_ile_de_france(new_agent, app):
    """M4 step 1: Nadia HADDAD (AP-HP) with CHU de Rennes declared lands in Île-de-France."""
    questionnaire(
        new_agent(app),
        numero=NADIA.numero,
        birth_date=NADIA.birth_date_typed,
        last_name="Haddad",
        first_name=NADIA.first_name,
    )
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.delegation.code == "ile-de-france"
    bretagne = db.session.scalar(db.select(Delegation).where(Delegation.code == "bretagne"))
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient != bretagne.email


def test_bretagne_staff_never_see_a_paris_agents_request(new_agent, app):
    """M4 step 2: the forged request is not on Bretagne's screen."""
    questionnaire(
        new_agent(app),
        numero=NADIA.numero,
        birth_date=NADIA.birth_date_typed,
        last_name="Haddad",
        first_name=NADIA.first_name,
    )
    request = db.session.scalar(db.select(MailChangeRequest))
    staff = new_agent(app)
    log_in_staff(staff)
    assert staff.get(f"/delegation/demandes/{request.id}").status == 404


def test_a_request_matching_no_agent_cannot_be_accepted(new_agent, app):
    """M1/M4: staff see the mismatch flagged, have no accept button, and a forged accept is refused."""
    questionnaire(new_agent(app), birth_date="13/03/1985")
    request = db.session.scalar(db.select(MailChangeRequest))
    staff = new_agent(app)
    log_in_staff(staff)
    page = staff.get(f"/delegation/demandes/{request.id}")
    assert "Le numéro et la date de naissance ne correspondent à aucun agent" in page.text
    assert not page.main.find("button", string="Demande prise en compte")
    form = page.form_data()
    staff.post(f"/delegation/demandes/{request.id}", {**form, "decision": "accept"})
    db.session.refresh(request)
    assert request.status == "pending"
    marie = agent_row(MARIE)
    assert marie.email == "marie.dupont@example.org"
    staff.post(f"/delegation/demandes/{request.id}", {**form, "decision": "reject", "reason": "Inconnu"})
    db.session.refresh(request)
    assert request.status == "rejected"


def test_staff_see_the_declared_establishment_beside_the_one_on_file(new_agent, app):
    """M4: Marie (CHU de Rennes on file) declaring Guillaume Régnier: both are shown."""
    questionnaire(new_agent(app), establishment=str(establishment_id("Centre Hospitalier Guillaume Régnier")))
    request = db.session.scalar(db.select(MailChangeRequest))
    staff = new_agent(app)
    log_in_staff(staff)
    page = staff.get(f"/delegation/demandes/{request.id}")
    assert "Centre Hospitalier Guillaume Régnier" in page.text
    assert "Centre Hospitalier Universitaire de Rennes" in page.text


def test_an_agent_with_no_establishment_on_file_is_routed_by_the_declared_one_and_flagged(new_agent, app):
    """M4: no establishment on file: the declared one routes the request, and staff are told."""
    marie = agent_row(MARIE)
    marie.establishment = None
    db.session.commit()
    questionnaire(new_agent(app))
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.delegation.code == "bretagne"
    staff = new_agent(app)
    log_in_staff(staff)
    assert "aucun établissement au fichier" in staff.get(f"/delegation/demandes/{request.id}").text


def test_the_right_address_is_refused_once_the_mail_confirmation_limit_is_reached(agent):
    """L2 (identification): after three wrong addresses, the right one gets the questionnaire page too."""
    form = identify(agent, "first_connection").form_data()
    for address in ("a1@example.net", "a2@example.net", "a3@example.net", "marie.dupont@example.org"):
        page = agent.post("/premiere-connexion/adresse-mail", {**form, "email": address, "email_confirmation": address})
    assert page.status == 422
    assert db.session.scalar(db.select(OutboundMail)) is None


def nir_step(agent, nir):
    """The first step of « Demande de n°C.G.O.S »."""
    agent.get("/demande-numero")
    return agent.submit("/demande-numero", {"nir": nir})


def test_the_right_address_is_refused_once_the_limit_is_reached_in_the_nir_flow(agent):
    """L2 (NIR flow): the review's proof, a1…a4 then the right address, which must not be mailed."""
    form = nir_step(agent, MARIE.nir).form_data()
    for address in ("a1@x.fr", "a2@x.fr", "a3@x.fr", "a4@x.fr", "marie.dupont@example.org"):
        page = agent.post("/demande-numero/adresse-mail", {**form, "email": address, "email_confirmation": address})
    assert page.status == 422
    assert db.session.scalar(db.select(OutboundMail)) is None


def test_a_known_nir_does_not_show_the_masked_address(agent):
    """M2: the « known » step asks for the address without hinting at it."""
    page = nir_step(agent, LUC.nir)
    body = page.response.get_data(as_text=True)
    assert page.soup.select_one(".masked-address") is None
    assert "luc*" not in body and "lu*" not in body and "@e" not in body.replace("@example.org", "")


def test_one_nir_cannot_be_looked_up_more_than_the_nir_limit(make_app, new_agent):
    """M2: tries are counted per NIR whatever the address, known or not."""
    app = make_app(NIR_RATE_LIMIT="2 per day")
    with app.app_context():
        for nir in (MARIE.nir, NOBODYS_NIR):
            assert nir_step(new_agent(app), nir).status == 200
            assert nir_step(new_agent(app), nir).status == 200
            page = nir_step(new_agent(app), nir)
            assert page.status == 429 and "Trop de demandes" in page.text


def test_the_session_cookie_holds_neither_agent_id_nor_nir_digest(agent, app):
    """M2 / I9: the wizard state of both flows is on the server; the cookie holds a handle only."""
    from cgos.credentials.hashing import nir_digest

    marie = agent_row(MARIE)
    for step in (
        lambda: nir_step(agent, MARIE.nir),
        lambda: nir_step(agent, NOBODYS_NIR),
        lambda: identify(agent, "first_connection"),
        lambda: identify(agent, "forgotten_password"),
    ):
        step()
        with agent.client.session_transaction() as session:
            values = repr(dict(session))
        assert nir_digest(NOBODYS_NIR) not in values and nir_digest(MARIE.nir) not in values
        assert "'agent'" not in values and f": {marie.id}" not in values
