"""Attacks on the staff passkeys (issue 23): the second factor after the password, and the
delegation's « Supprimer les clés d'accès » on an agent.

A staff passkey replaces the authenticator's code, never the password; it opens only its own
staff member's login, never an agent's account, and an agent's passkey never opens the back
office. Each test runs the ceremonies over HTTP with `tests_support.authenticator.SoftAuthenticator`.
"""

from datetime import timedelta

import pytest

from cgos.credentials import limits
from cgos.extensions import db
from cgos.models import AuthSession, FlowState, OutboundMail, Passkey, SecurityEvent, utcnow
from tests_support.authenticator import SoftAuthenticator
from tests_support.factories import add_staff, agent_row, staff_row
from tests_support.passkeys import PasskeyBrowser, give_passkey
from tests_support.personas import BRETAGNE_STAFF, ILE_DE_FRANCE_STAFF, NADIA, SOPHIE
from tests_support.staff import log_in_staff
from tests_support.staff_passkeys import (
    OPTIONS,
    SECOND_FACTOR,
    StaffPasskeyBrowser,
    page_token,
    staff_passkeys,
)


def staff_sessions(staff) -> list[AuthSession]:
    """The staff member's live server-side sessions."""
    query = db.select(AuthSession).where(AuthSession.staff_id == staff.id, AuthSession.revoked_at.is_(None))
    return list(db.session.scalars(query))


def passkey_failures() -> list[tuple[int | None, int | None, str]]:
    """The passkey sign-in failures recorded: (agent id, staff id, reason); nothing left in `detail`."""
    query = db.select(SecurityEvent).where(SecurityEvent.kind == "passkey_failure").order_by(SecurityEvent.id)
    events = list(db.session.scalars(query))
    assert [event.detail for event in events] == [None] * len(events)
    return [(event.agent_id, event.staff_id, event.reason) for event in events]


def assert_second_factor_refused(response, staff, reason: str) -> None:
    """Refused with a French message, no staff session, the failure recorded against the staff member."""
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["error"] and "redirect" not in response.get_json()
    assert passkey_failures()[-1] == (None, staff.id, reason)
    assert not staff_sessions(staff)


@pytest.fixture
def bretagne_phone(app, new_agent) -> SoftAuthenticator:
    """The Bretagne demo staff member's phone: a passkey enrolled after password and code."""
    browser = StaffPasskeyBrowser(new_agent(app))
    browser.enrol()
    return browser.authenticator


@pytest.fixture
def idf_staff(app):
    """A staff member of Île-de-France, with a passkey of their own on `idf_staff.phone`."""
    person = add_staff(ILE_DE_FRANCE_STAFF)
    person.phone = SoftAuthenticator()
    give_passkey(person, person.phone)
    return person


def test_a_staff_passkey_after_the_password_opens_the_back_office_in_a_new_session(app, agent, bretagne_phone):
    """The baseline the refusals below are measured against: the code's finish of the login."""
    staff = staff_row()
    browser = StaffPasskeyBrowser(agent, bretagne_phone)
    browser.password_step()
    response = browser.second_factor()
    assert response.status_code == 200
    assert response.get_json() == {"redirect": "/delegation/demandes"}
    assert len(staff_sessions(staff)) == 1
    assert agent.client.get("/delegation/demandes").status_code == 200
    logins = db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == "login_success")).all()
    assert (logins[-1].staff_id, logins[-1].reason) == (staff.id, "staff")
    assert not db.session.scalar(db.select(FlowState).where(FlowState.purpose == "staff_second_factor"))


# --- Whose passkey ---------------------------------------------------------------------------


def test_a_staff_passkey_does_not_open_an_agent_account(app, bretagne_phone):
    response = PasskeyBrowser(app.test_client(), bretagne_phone).sign_in()
    assert response.status_code == 403
    assert passkey_failures()[-1] == (None, None, "other_owner")
    assert not db.session.scalar(db.select(AuthSession).where(AuthSession.agent_id.is_not(None)))


def test_an_agents_passkey_is_refused_as_a_staff_second_factor(app, agent):
    """Someone with the staff password and an agent's phone: the agent's passkey is not the staff's."""
    sophie = agent_row(SOPHIE)
    agents_phone = SoftAuthenticator()
    give_passkey(sophie, agents_phone)
    staff = staff_row()
    browser = StaffPasskeyBrowser(agent, agents_phone)
    browser.password_step()
    assert_second_factor_refused(browser.second_factor(), staff, "other_owner")


def test_another_staff_members_passkey_is_refused_as_second_factor(app, agent, bretagne_phone, idf_staff):
    """Île-de-France staff who learnt the Bretagne password cannot confirm it with their own passkey."""
    staff = staff_row()
    browser = StaffPasskeyBrowser(agent, idf_staff.phone)
    browser.password_step()
    token, options = browser.second_factor_options()
    assert [c["id"] for c in options["allowCredentials"]], "only the Bretagne staff's passkeys are asked for"
    answer = idf_staff.phone.get(options, browser.origin)
    assert_second_factor_refused(browser.post(SECOND_FACTOR, token, answer), staff, "other_owner")
    assert not staff_sessions(idf_staff)


def test_a_passkey_challenge_of_ones_own_login_cannot_finish_anothers_password_step(app, agent, idf_staff):
    """Île-de-France staff start their own login (password, passkey options), then type the Bretagne
    password in the same browser and answer the first challenge with their own passkey."""
    staff = staff_row()
    browser = StaffPasskeyBrowser(agent, idf_staff.phone)
    browser.password_step(ILE_DE_FRANCE_STAFF)
    token, options = browser.second_factor_options()
    answer = idf_staff.phone.get(options, browser.origin)
    browser.password_step()  # the half-logged state now names the Bretagne staff member
    assert_second_factor_refused(browser.post(SECOND_FACTOR, token, answer), staff, "other_owner")
    assert not staff_sessions(idf_staff)
    passkey = db.session.scalar(db.select(Passkey).where(Passkey.staff_id == idf_staff.id))
    assert passkey.last_used_at is None and passkey.sign_count == 0, "a refused use is not a use"


# --- No skipping the password ----------------------------------------------------------------


def test_the_passkey_second_factor_is_refused_without_the_password_step(app, agent, bretagne_phone):
    """The staff member's phone alone (stolen, unlocked): no password step, no challenge, no session."""
    staff = staff_row()
    token = page_token(agent, "/delegation")
    response = agent.client.post(OPTIONS, json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 401 and response.get_json()["redirect"] == "/delegation"
    assert not db.session.scalar(db.select(FlowState).where(FlowState.purpose.like("passkey%")))
    # An assertion over the attacker's own challenge, of the agents' sign-in or invented.
    agent_options = PasskeyBrowser(agent.client).sign_in_options()[1]
    for challenge in (agent_options["challenge"], None):
        options = {**agent_options, "challenge": challenge or "AAAA"}
        answer = bretagne_phone.get(options, "http://localhost")
        response = agent.client.post(
            SECOND_FACTOR, json=answer, headers={"X-CSRFToken": page_token(agent, "/delegation")}
        )
        assert response.status_code == 401
    assert not staff_sessions(staff)
    assert agent.client.get("/delegation/demandes").status_code == 303


def test_a_wrong_password_does_not_open_the_passkey_step(app, agent, bretagne_phone):
    browser = StaffPasskeyBrowser(agent, bretagne_phone)
    page = browser.password_step(password="Mauvais-Mot-De-Passe")
    assert page.status == 422
    response = browser.post(OPTIONS, page_token(agent, "/delegation"))
    assert response.status_code == 401
    assert not staff_sessions(staff_row())


def test_an_expired_password_step_does_not_open_the_passkey_step(app, agent, bretagne_phone):
    browser = StaffPasskeyBrowser(agent, bretagne_phone)
    browser.password_step()
    token, options = browser.second_factor_options()
    db.session.execute(
        db.update(FlowState)
        .where(FlowState.purpose == "staff_second_factor")
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    response = browser.post(SECOND_FACTOR, token, bretagne_phone.get(options, browser.origin))
    assert response.status_code == 401
    assert not staff_sessions(staff_row())


# --- Replay -----------------------------------------------------------------------------------


def test_a_replayed_assertion_at_the_second_factor_is_refused(app, agent, new_agent, bretagne_phone):
    """An attacker who has the password and captured one of the victim's assertions replays it."""
    staff = staff_row()
    victim = StaffPasskeyBrowser(agent, bretagne_phone)
    victim.password_step()
    token, options = victim.second_factor_options()
    captured = bretagne_phone.get(options, victim.origin)
    assert victim.post(SECOND_FACTOR, token, captured).status_code == 200
    [victims_session] = staff_sessions(staff)

    attacker = StaffPasskeyBrowser(new_agent(app))
    attacker.password_step()
    attackers_token, _ = attacker.second_factor_options()  # a fresh challenge of the attacker's own
    response = attacker.post(SECOND_FACTOR, attackers_token, captured)
    assert response.status_code == 403
    assert passkey_failures()[-1] == (None, staff.id, "invalid")
    assert staff_sessions(staff) == [victims_session]
    # Sent again by the victim's browser itself: its password step ended with the login.
    fresh_token = page_token(agent, "/delegation/demandes")
    assert victim.post(SECOND_FACTOR, fresh_token, captured).status_code == 401
    assert staff_sessions(staff) == [victims_session]


def test_a_challenge_cannot_be_used_twice_at_the_second_factor(app, agent, bretagne_phone):
    """A first answer refused has used the challenge: a genuine one over it finds it gone."""
    staff = staff_row()
    browser = StaffPasskeyBrowser(agent, bretagne_phone)
    browser.password_step()
    token, options = browser.second_factor_options()
    forged = bretagne_phone.get(options, "https://evil.example")
    assert_second_factor_refused(browser.post(SECOND_FACTOR, token, forged), staff, "invalid")
    genuine = bretagne_phone.get(options, browser.origin)
    assert_second_factor_refused(browser.post(SECOND_FACTOR, token, genuine), staff, "challenge")


# --- The attempts rule ------------------------------------------------------------------------


def test_failed_passkey_second_factors_count_in_the_staff_per_address_limit(make_app, new_agent):
    app = make_app(ADDRESS_RATE_LIMIT="3 per hour")
    with app.app_context():
        browser = StaffPasskeyBrowser(new_agent(app))
        browser.enrol()
        limits.STAFF_LOGIN_ADDRESS.clear("127.0.0.1")
        staff = staff_row()
        browser.password_step()
        for _ in range(3):
            assert browser.second_factor(origin="https://evil.example").status_code == 403
        response = browser.second_factor()
        assert response.status_code == 429
        assert "Trop de tentatives" in response.get_json()["error"]
        assert not staff_sessions(staff)
        assert limits.ADDRESS_FAILURES.attempts("127.0.0.1") == 3, "failing clients go last in the bcrypt line"
        assert [reason for _, _, reason in passkey_failures()] == ["invalid"] * 3


def test_a_session_taken_over_later_cannot_add_a_staff_passkey(app, agent):
    """A stolen staff cookie used after the first 15 minutes cannot enrol the thief's phone."""
    log_in_staff(agent)
    staff = staff_row()
    [session] = staff_sessions(staff)
    session.created_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    token = page_token(agent, "/delegation/cles-d-acces")
    response = agent.client.post("/delegation/cles-d-acces/options", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 403 and "15 minutes" in response.get_json()["error"]
    assert not staff_passkeys(staff)


def test_a_staff_member_cannot_rename_or_delete_another_ones_passkey(app, agent, idf_staff):
    log_in_staff(agent)
    [passkey] = staff_passkeys(idf_staff)
    token = page_token(agent, "/delegation/cles-d-acces")
    for action in ("renommer", "supprimer"):
        url = f"/delegation/cles-d-acces/{passkey.id}/{action}"
        assert agent.client.get(url).status_code == 404
        assert agent.client.post(url, data={"csrf_token": token, "name": "Volée"}).status_code == 404
    db.session.refresh(passkey)
    assert passkey.name == "Téléphone"


def test_staff_reset_2fa_forgets_the_passkeys(app, agent, runner, bretagne_phone):
    """A lost phone: `staff reset-2fa` takes its passkey with the code, so the phone opens nothing."""
    staff = staff_row()
    assert staff_passkeys(staff)
    result = runner.invoke(args=["staff", "reset-2fa", BRETAGNE_STAFF.email])
    assert result.exit_code == 0, result.output
    assert "1 clé(s) d'accès supprimée(s)" in result.output
    assert not staff_passkeys(staff)
    browser = StaffPasskeyBrowser(agent, bretagne_phone)
    assert browser.password_step().response.request.path == "/delegation/activation"
    token = page_token(agent, "/delegation")
    options = browser.post(OPTIONS, token).get_json()
    assert options["allowCredentials"] == []
    response = browser.post(SECOND_FACTOR, token, bretagne_phone.get(options, browser.origin))
    assert response.status_code == 403 and not staff_sessions(staff)
    assert passkey_failures()[-1][2] == "unknown_credential"


# --- The delegation's « Supprimer les clés d'accès » ------------------------------------------


def test_another_delegations_staff_cannot_delete_an_agents_passkeys(app, agent):
    """Bretagne staff, Nadia's passkeys (an agent of Paris): not found, nothing deleted, no mail."""
    nadia = agent_row(NADIA)
    give_passkey(nadia, SoftAuthenticator())
    log_in_staff(agent)
    url = f"/delegation/agents/{nadia.id}/supprimer-cles-d-acces"
    assert agent.client.get(url).status_code == 404
    response = agent.client.post(url, data={"csrf_token": page_token(agent, "/delegation/agents"), "reason": "Essai"})
    assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(Passkey.id)).where(Passkey.agent_id == nadia.id)) == 1
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == 0
    assert not db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.agent_id == nadia.id))


def test_deleting_an_agents_passkeys_needs_the_staff_members_confirmation(app, agent):
    """A link followed (GET) or a forged POST without the CSRF token deletes nothing."""
    sophie = agent_row(SOPHIE)
    give_passkey(sophie, SoftAuthenticator())
    log_in_staff(agent)
    url = f"/delegation/agents/{sophie.id}/supprimer-cles-d-acces"
    assert agent.client.get(url).status_code == 200
    assert agent.client.post(url, data={}).status_code == 400
    assert db.session.scalar(db.select(db.func.count(Passkey.id)).where(Passkey.agent_id == sophie.id)) == 1
