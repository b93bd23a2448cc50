"""Attacks on the answers a registration keeps while its flow lives (issue 22, item 8): the NIR typed back on
« Retour » and the answers brought back by typing the same NIR again are this browser's, for that NIR only."""

import json

from cgos.extensions import db
from cgos.models import FlowState
from tests_support.flows import QUESTION_PAGES, answer_questions, nir_step, registration_fields
from tests_support.personas import ANNE, with_nir_key

URL = "/demande-numero"
# A second NIR nobody has: a man born in July 1980 in Rennes.
OTHER_NIR = with_nir_key("1800735238111")


def spellings(nir: str) -> list[str]:
    """A NIR compact and as a carte Vitale writes it."""
    return [nir, " ".join((nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]))]


def answer_identity_and_address(agent) -> None:
    """Anne's first two question pages, after the NIR page."""
    fields = registration_fields()
    for path, names in QUESTION_PAGES[:2]:
        agent.get(URL + path)
        agent.submit(URL + path, {name: fields[name] for name in names if name in fields})


def identity_values(page) -> dict:
    """What the identity page shows in its text fields."""
    return {name: page.soup.find(id=name).get("value", "") for name in ("last_name", "first_name", "email")}


def test_another_nir_typed_in_the_same_browser_does_not_show_the_first_nirs_answers(agent):
    nir_step(agent, ANNE.nir)
    answer_identity_and_address(agent)
    page = nir_step(agent, OTHER_NIR)
    assert page.soup.h1.get_text(strip=True) == "Votre identité"
    assert identity_values(page) == {"last_name": "", "first_name": "", "email": ""}
    assert "Le Goff" not in page.text and "anne.legoff@example.org" not in page.text
    # Nor on any later page: the check page sends back to the first unanswered page.
    page = agent.get(URL + "/inscription/adresse")
    assert page.soup.find(id="address_street").get("value", "") == ""
    page = agent.get(URL + "/inscription/verification", follow_redirects=True)
    assert page.soup.h1.get_text(strip=True) == "Votre identité"
    # The first NIR's answers are gone for good, not waiting for it to be typed again.
    page = nir_step(agent, ANNE.nir)
    assert identity_values(page) == {"last_name": "", "first_name": "", "email": ""}


def test_another_browser_typing_the_same_nir_sees_neither_the_answers_nor_the_nir(app, new_agent):
    owner, stranger = new_agent(app), new_agent(app)
    nir_step(owner, ANNE.nir)
    answer_identity_and_address(owner)
    page = stranger.get(URL)
    assert page.soup.find(id="nir").get("value", "") == ""
    page = nir_step(stranger, ANNE.nir)
    assert identity_values(page) == {"last_name": "", "first_name": "", "email": ""}
    assert "Le Goff" not in page.text
    # The owner's answers are still theirs.
    page = nir_step(owner, ANNE.nir)
    assert identity_values(page)["last_name"] == "Le Goff"


def test_the_nir_kept_for_retour_is_not_in_clear_in_the_database(agent):
    nir_step(agent, ANNE.nir)
    answer_questions(agent, registration_fields())
    stored = " ".join(json.dumps(row.data) for row in db.session.scalars(db.select(FlowState)))
    assert stored, "the registration keeps a flow state"
    for spelling in spellings(ANNE.nir):
        assert spelling not in stored
    page = agent.get(URL)
    assert page.soup.find(id="nir")["value"] == spellings(ANNE.nir)[1]


def test_a_link_cannot_throw_a_registration_away(agent, new_agent, app):
    """Only « Oui, abandonner ma demande », a POST with the page's CSRF token, throws the answers away."""
    nir_step(agent, ANNE.nir)
    answer_identity_and_address(agent)
    page = agent.get(URL + "/inscription/abandonner")
    assert page.status == 200 and page.soup.h1.get_text(strip=True) == "Voulez-vous vraiment abandonner votre demande ?"
    response = agent.client.post(URL + "/inscription/abandonner", data={})
    assert response.status_code == 400
    page = agent.get(URL + "/inscription")
    assert identity_values(page)["last_name"] == "Le Goff"
