"""The steps « 1ère connexion » and « Mot de passe oublié » share: identification, mail confirmation, limits.

Each test runs for both flows; what only one flow does is tested in
`test_first_connection.py` or `test_forgotten_password.py`.
"""

import re

import pytest

from cgos.credentials import limits
from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import OutboundMail, SecurityEvent
from tests_support.factories import agent_row
from tests_support.flows import IDENTIFICATION_URLS, confirm_address, identify
from tests_support.personas import JEAN, MARIE, SOPHIE

NO_MATCH = (
    "Les informations saisies ne correspondent à aucun agent connu du C.G.O.S. Vérifiez votre "
    "numéro C.G.O.S, votre année et votre mois de naissance."
)
WRONG_ADDRESS = "L'adresse mail saisie n'est pas celle connue du C.G.O.S. Vérifiez votre saisie."
LAST_TRY = (
    " Attention : si la prochaine adresse saisie est aussi erronée, vous devrez compléter le questionnaire "
    "de changement d'adresse mail."
)
HEADINGS = {
    "first_connection": "Vous n'avez pas encore de mot de passe",
    "forgotten_password": "Renvoi du mot de passe",
}

by_flow = pytest.mark.parametrize("flow", ["first_connection", "forgotten_password"])


@by_flow
def test_first_step_as_page_and_fragment(either, flow):
    page = either.get(IDENTIFICATION_URLS[flow])
    assert page.status == 200
    assert page.soup.h1.get_text(strip=True) == HEADINGS[flow]
    labels = [label.find(string=True, recursive=False).strip() for label in page.main.select("label")]
    assert labels == ["Numéro C.G.O.S", "Année de naissance", "Mois de naissance"]
    months = [o.get_text() for o in page.soup.select("#birth_month option")][1:]
    assert months[0] == "janvier" and months[11] == "décembre"
    assert page.main.find("button", string="Continuer")
    assert page.soup.find(id="birth_year")["autocomplete"] == "bday-year"


@by_flow
@pytest.mark.parametrize(
    "fields",
    [{"birth_year": "1986"}, {"birth_month": "4"}, {"numero": JEAN.numero}, {"numero": SOPHIE.numero}],
    ids=["year", "month", "numero", "numero-of-another-agent-with-a-password"],
)
def test_a_wrong_combination_does_not_say_which_part_is_wrong(either, flow, fields):
    page = identify(either, flow, **fields)
    assert page.status == 422
    assert page.error_summary() == [NO_MATCH]


@by_flow
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"birth_year": "85"}, "birth_year", "Saisissez votre année de naissance sur 4 chiffres, par exemple 1985."),
        ({"birth_year": ""}, "birth_year", "Saisissez votre année de naissance sur 4 chiffres."),
        ({"birth_month": ""}, "birth_month", "Choisissez votre mois de naissance."),
        ({"birth_month": "13"}, "birth_month", "Choisissez votre mois de naissance dans la liste."),
        ({"birth_month": " "}, "birth_month", "Choisissez votre mois de naissance."),
        (
            {"numero": "35127846 T"},
            "numero",
            "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre.",
        ),
    ],
)
def test_field_errors_are_beside_their_field(either, flow, fields, field, message):
    page = identify(either, flow, **fields)
    assert page.status == 422
    assert page.field_error(field) == message
    assert message in page.error_summary()
    assert page.title.startswith("Erreur : ")


@by_flow
def test_repeated_tries_on_one_numero_are_limited(make_app, new_agent, flow):
    app = make_app(IDENTIFICATION_RATE_LIMIT="3 per hour")
    with app.app_context():
        agent = new_agent(app)
        for _ in range(3):
            assert identify(agent, flow, birth_year="1990").status == 422
        page = identify(agent, flow)
        assert page.status == 429
        assert "Trop de demandes" in " ".join(page.error_summary())


@by_flow
def test_repeated_tries_from_one_address_are_limited(make_app, new_agent, flow):
    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():
        agent = new_agent(app)
        identify(agent, flow, birth_year="1990")
        identify(agent, flow, numero=JEAN.numero)
        assert identify(agent, flow).status == 429


@by_flow
def test_the_mail_step_needs_the_first_one(agent, flow):
    response = agent.client.get(f"{IDENTIFICATION_URLS[flow]}/adresse-mail")
    assert response.status_code == 303 and response.headers["Location"].endswith(IDENTIFICATION_URLS[flow])


@by_flow
def test_a_reload_keeps_the_wizard_where_it_was(agent, flow):
    identify(agent, flow)
    page = agent.get(f"{IDENTIFICATION_URLS[flow]}/adresse-mail")
    assert page.status == 200 and page.soup.find(id="email_confirmation")


@by_flow
def test_a_wrong_address_is_refused_and_nothing_is_sent(either, flow):
    identify(either, flow)
    page = confirm_address(either, flow, "marie@example.org")
    assert page.status == 422
    assert page.field_error("email") == WRONG_ADDRESS
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


@by_flow
def test_the_confirmation_must_repeat_the_address(either, flow):
    identify(either, flow)
    page = confirm_address(either, flow, "marie.dupont@example.org", "marie.dupon@example.org")
    assert page.field_error("email_confirmation") == "Les deux adresses mail saisies ne sont pas identiques."


@by_flow
def test_three_wrong_addresses_lead_to_the_questionnaire(either, flow):
    identify(either, flow)
    page = confirm_address(either, flow, "marie@example.org")
    assert page.field_error("email") == WRONG_ADDRESS
    page = confirm_address(either, flow, "marie@example.org")
    assert page.field_error("email") == WRONG_ADDRESS + LAST_TRY, (
        "the second one says the next leads to the questionnaire"
    )
    page = confirm_address(either, flow, "marie@example.org")
    assert "Vous avez constaté que votre adresse de messagerie est inexacte" in page.text
    assert page.main.find("a", string="Compléter le questionnaire")["href"] == "/questionnaire-adresse-mail"
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0


@by_flow
def test_after_the_last_wrong_address_the_summary_alone_takes_the_focus(either, flow):
    """With htmx the heading also asked for the focus: two `autofocus` in one page, the summary passed over."""
    identify(either, flow)
    for _ in range(3):
        page = confirm_address(either, flow, "marie@example.org")
    assert [element.get("class") for element in page.main.select("[autofocus]")] == [["error-summary"]]


@by_flow
def test_the_number_of_wrong_addresses_is_configurable(make_app, new_agent, flow):
    app = make_app(MAIL_CONFIRMATION_LIMIT="1 per day")
    with app.app_context():
        agent = new_agent(app)
        identify(agent, flow)
        assert "Compléter le questionnaire" in confirm_address(agent, flow, "marie@example.org").text


@by_flow
def test_right_addresses_never_use_up_the_wrong_address_limit(make_app, new_agent, flow):
    """Only wrong addresses count: an agent who asks three times in a day with the right one is not blocked."""
    app = make_app(MAIL_CONFIRMATION_LIMIT="1 per day")
    with app.app_context():
        for _ in range(3):
            agent = new_agent(app)
            identify(agent, flow)
            page = confirm_address(agent, flow, MARIE.email)
            assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
        assert limits.MAIL_CONFIRMATION.attempts(MARIE.compact_numero) == 0


@by_flow
def test_the_right_address_sends_a_provisional_password(either, flow):
    page = identify(either, flow)
    assert page.main.find("label", attrs={"for": "email"})
    assert page.main.find("button", string="Confirmer") and page.main.find("a", string="Annuler")
    assert "marie.dupont@example.org" not in page.response.get_data(as_text=True)
    page = confirm_address(either, flow, "Marie.Dupont@example.org", "marie.dupont@example.org")
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"
    assert "L'envoi de votre mot de passe a été pris en compte." in page.text
    mail = db.session.scalar(db.select(OutboundMail))
    assert mail.recipient == "marie.dupont@example.org"
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", open_mail(mail).text_body, re.M).group(1)
    assert "30 jours" in mail.text_body
    assert "Merci de surveiller votre messagerie et de vérifier les messages indésirables (Spams)" in mail.text_body
    assert re.search(r"^https?://\S+/$", mail.text_body, re.M), "the login link on a line of its own"
    marie = agent_row(MARIE)
    assert marie.provisional_pin_hash and pin not in marie.provisional_pin_hash
    kinds = [e.kind for e in db.session.scalars(db.select(SecurityEvent))]
    assert "provisional_password_issued" in kinds


@by_flow
def test_the_mailed_password_lets_the_agent_log_in(agent, app, new_agent, flow):
    identify(agent, flow)
    confirm_address(agent, flow, MARIE.email)
    mail = db.session.scalar(db.select(OutboundMail))
    pin = re.search(r"^Mot de passe provisoire : (\d{6})$", open_mail(mail).text_body, re.M).group(1)
    page = new_agent(app).log_in(MARIE.numero, pin)
    assert page.soup.h1.get_text(strip=True) == "Conditions générales d'utilisation"


@by_flow
def test_an_agent_without_mail_is_sent_to_the_questionnaire_or_the_delegation(either, flow):
    page = identify(either, flow, JEAN)
    assert (
        "Votre demande de mot de passe ne peut aboutir car votre adresse de messagerie est indispensable "
        "pour la finaliser."
    ) in page.text
    assert page.main.find("a", string="Compléter le questionnaire")["href"] == "/questionnaire-adresse-mail"
    assert "Délégation régionale Bretagne" in page.text


@by_flow
def test_the_confirmation_page_is_only_shown_after_a_request(agent, flow):
    page = agent.get(f"{IDENTIFICATION_URLS[flow]}/confirmation")
    assert page.status == 303 and page.response.headers["Location"].endswith(IDENTIFICATION_URLS[flow])
