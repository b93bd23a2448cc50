"""Attacks on the passkeys (issue 23), made over HTTP with a software authenticator.

Each test is named after the attack it stops: the whole ceremony runs through the JSON
endpoints static/passkeys.js calls, with `tests_support.authenticator.SoftAuthenticator`
signing what a phone would sign, or what an attacker forges.
"""

import threading
from datetime import timedelta

import pytest

from cgos import create_app
from cgos.credentials import limits
from cgos.extensions import db
from cgos.models import Agent, AuthSession, DelegationStaff, FlowState, Passkey, SecurityEvent, utcnow
from tests_support.authenticator import SoftAuthenticator
from tests_support.backends import BASE_CONFIG
from tests_support.factories import agent_row
from tests_support.passkeys import PasskeyBrowser, csrf_token, give_passkey
from tests_support.personas import MARIE, SOPHIE

SESSION_COOKIE = "cgos_session"


def sessions_of(agent: Agent) -> list[AuthSession]:
    """The agent's server-side sessions, oldest first."""
    query = db.select(AuthSession).where(AuthSession.agent_id == agent.id).order_by(AuthSession.created_at)
    return list(db.session.scalars(query))


def live_sessions_of(agent: Agent) -> list[AuthSession]:
    """The agent's sessions not revoked."""
    return [s for s in sessions_of(agent) if s.revoked_at is None]


def failures() -> list[tuple[int | None, str]]:
    """The passkey sign-in failures recorded: (agent id, reason); nothing left in `detail`."""
    query = db.select(SecurityEvent).where(SecurityEvent.kind == "passkey_failure").order_by(SecurityEvent.id)
    events = list(db.session.scalars(query))
    assert [event.detail for event in events] == [None] * len(events)
    return [(event.agent_id, event.reason) for event in events]


def assert_refused(response, reason: str, agent: Agent | None = None) -> None:
    """Refused with a French message, no session opened, the reason recorded."""
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["error"]
    assert "redirect" not in response.get_json()
    assert failures()[-1] == (agent.id if agent else None, reason)


def copy_session(source, target) -> None:
    """Give another browser (or host) the cookie `source` holds now: a captured cookie."""
    target.set_cookie(SESSION_COOKIE, source.get_cookie(SESSION_COOKIE).value, domain="localhost")


@pytest.fixture
def phone(agent) -> SoftAuthenticator:
    """Sophie's phone: a passkey created from her home right after a PIN login."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    authenticator = SoftAuthenticator()
    assert PasskeyBrowser(agent.client, authenticator).create_passkey().status_code == 200
    return authenticator


@pytest.fixture
def sophie(app) -> Agent:
    """Sophie BERNARD, who has a personal PIN."""
    return agent_row(SOPHIE)


def test_a_passkey_sign_in_opens_the_owners_account_in_a_new_session(app, phone, sophie):
    """The baseline the refusals below are measured against."""
    browser = PasskeyBrowser(app.test_client(), phone)
    before = len(sessions_of(sophie))
    response = browser.sign_in()
    assert response.status_code == 200
    assert response.get_json() == {"redirect": "/espace-agent/"}
    assert len(sessions_of(sophie)) == before + 1
    assert browser.client.get("/espace-agent/").status_code == 200


# --- Replay and challenges ------------------------------------------------------------------


def test_a_captured_assertion_replayed_with_the_attackers_own_challenge_is_refused(app, phone, sophie):
    victim = PasskeyBrowser(app.test_client(), phone)
    token, options = victim.sign_in_options()
    captured = phone.get(options, victim.origin)
    assert victim.post("/connexion-cle-d-acces", token, captured).status_code == 200
    attacker = PasskeyBrowser(app.test_client())
    attacker.sign_in_options()  # a fresh challenge of the attacker's own
    assert_refused(attacker.send(captured), "invalid", sophie)


def test_a_replayed_assertion_is_refused_even_with_the_victims_captured_cookie(app, phone, sophie):
    victim = PasskeyBrowser(app.test_client(), phone)
    token, options = victim.sign_in_options()
    attacker = app.test_client()
    copy_session(victim.client, attacker)
    captured = phone.get(options, victim.origin)
    assert victim.post("/connexion-cle-d-acces", token, captured).status_code == 200
    assert_refused(PasskeyBrowser(attacker).post("/connexion-cle-d-acces", token, captured), "challenge", None)


def test_a_challenge_cannot_be_used_twice(app, phone, sophie):
    """Two assertions, both genuinely signed over one challenge: the second finds it used."""
    first = PasskeyBrowser(app.test_client(), phone)
    token, options = first.sign_in_options()
    second = app.test_client()
    copy_session(first.client, second)
    assert first.post("/connexion-cle-d-acces", token, phone.get(options, first.origin)).status_code == 200
    again = PasskeyBrowser(second).post("/connexion-cle-d-acces", token, phone.get(options, first.origin))
    assert_refused(again, "challenge")
    assert len(live_sessions_of(sophie)) == 2, "the PIN login of the fixture and the first passkey sign-in"


def test_a_challenge_of_another_browser_is_refused(app, phone, sophie):
    """The challenge is bound to the session that asked for it."""
    victim = PasskeyBrowser(app.test_client(), phone)
    _, options = victim.sign_in_options()
    attacker = PasskeyBrowser(app.test_client())
    token = csrf_token(attacker.client)
    assert_refused(attacker.post("/connexion-cle-d-acces", token, phone.get(options, victim.origin)), "challenge")


def test_an_expired_challenge_is_refused(app, phone, sophie):
    browser = PasskeyBrowser(app.test_client(), phone)
    token, options = browser.sign_in_options()
    db.session.execute(
        db.update(FlowState)
        .where(FlowState.purpose == "passkey_agent_sign_in")
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert_refused(browser.post("/connexion-cle-d-acces", token, phone.get(options, browser.origin)), "challenge")


def test_the_challenge_lives_in_the_database_not_in_the_cookie(app, phone):
    browser = PasskeyBrowser(app.test_client(), phone)
    _, options = browser.sign_in_options()
    cookie = browser.client.get_cookie(SESSION_COOKIE).value
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert options["challenge"] not in str(serializer.loads(cookie))
    [row] = db.session.scalars(db.select(FlowState).where(FlowState.purpose == "passkey_agent_sign_in"))
    assert row.data["challenge"] == options["challenge"]
    assert row.expires_at - utcnow() <= timedelta(minutes=5)


def test_a_ceremony_begun_on_one_host_is_finished_on_another_and_only_once(app, phone, sophie):
    """Two hosts share the database: the second finishes the ceremony, the first cannot again."""
    second_host = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    browser = PasskeyBrowser(app.test_client(), phone)
    token, options = browser.sign_in_options()
    answer = phone.get(options, browser.origin)
    on_second_host = second_host.test_client()
    copy_session(browser.client, on_second_host)
    assert PasskeyBrowser(on_second_host).post("/connexion-cle-d-acces", token, answer).status_code == 200
    assert_refused(browser.post("/connexion-cle-d-acces", token, answer), "challenge")
    with second_host.app_context():
        db.engine.dispose()


def test_two_simultaneous_uses_of_one_challenge_open_one_session(app, phone, sophie):
    browser = PasskeyBrowser(app.test_client(), phone)
    token, options = browser.sign_in_options()
    answer = phone.get(options, browser.origin)
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        copy_session(browser.client, client)
    start, statuses = threading.Barrier(2), []

    def send(client) -> None:
        """Post the same answer as the other thread, at the same moment."""
        start.wait()
        statuses.append(PasskeyBrowser(client).post("/connexion-cle-d-acces", token, answer).status_code)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 403]
    assert failures()[-1][1] == "challenge", "refused because the challenge was taken, not by a later check"


# --- Origin, RP ID, user verification --------------------------------------------------------


def test_an_assertion_made_on_a_phishing_origin_is_refused(app, phone, sophie):
    browser = PasskeyBrowser(app.test_client(), phone)
    assert_refused(browser.sign_in(origin="https://cgos-espace-agent.example"), "invalid", sophie)


def test_an_assertion_for_another_rp_id_is_refused(app, phone, sophie):
    browser = PasskeyBrowser(app.test_client(), phone)
    assert_refused(browser.sign_in(rp_id="cgos-espace-agent.example"), "invalid", sophie)


def test_a_registration_made_on_a_phishing_origin_is_refused(app, agent, sophie):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    response = PasskeyBrowser(agent.client, origin="https://cgos-espace-agent.example").create_passkey()
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Passkey.id))) == 0


def test_an_assertion_without_user_verification_is_refused(app, phone, sophie):
    """Possession alone (a phone left unlocked on a desk) is not enough: the unlock is required."""
    browser = PasskeyBrowser(app.test_client(), phone)
    assert_refused(browser.sign_in(user_verified=False), "invalid", sophie)


def test_the_rp_id_is_the_host_of_public_base_url(make_app):
    app = make_app(PUBLIC_BASE_URL="https://espace-agent.cgos.example")
    with app.app_context():
        browser = PasskeyBrowser(app.test_client())
        _, options = browser.sign_in_options()
        assert options["rpId"] == "espace-agent.cgos.example"
        assert options["userVerification"] == "required"


# --- Whose passkey ---------------------------------------------------------------------------


def test_a_passkey_of_another_agent_cannot_open_this_account(app, phone, sophie):
    """Marie's own passkey, sent with Sophie's user handle: the credential's owner decides, not the handle."""
    marie = agent_row(MARIE)
    mallory = SoftAuthenticator()
    give_passkey(marie, mallory)
    sophie_handle = db.session.scalar(db.select(Passkey.user_handle).where(Passkey.agent_id == sophie.id))
    browser = PasskeyBrowser(app.test_client(), mallory)
    assert_refused(browser.sign_in(user_handle=sophie_handle), "user_handle", marie)
    assert not live_sessions_of(marie) and len(live_sessions_of(sophie)) == 1


def test_an_assertion_without_a_user_handle_is_refused(app, phone, sophie):
    browser = PasskeyBrowser(app.test_client(), phone)
    assert_refused(browser.sign_in(user_handle=None), "user_handle", sophie)


def test_a_staff_members_passkey_does_not_open_an_agent_account(app):
    staff = db.session.scalar(db.select(DelegationStaff))
    authenticator = SoftAuthenticator()
    give_passkey(staff, authenticator)
    assert_refused(PasskeyBrowser(app.test_client(), authenticator).sign_in(), "other_owner")


def test_a_deleted_passkey_no_longer_opens_the_account(app, phone, sophie):
    db.session.execute(db.delete(Passkey))
    db.session.commit()
    assert_refused(PasskeyBrowser(app.test_client(), phone).sign_in(), "unknown_credential")


def test_a_sign_counter_that_goes_backwards_flags_the_passkey_as_cloned(app, phone, sophie):
    browser = PasskeyBrowser(app.test_client(), phone)
    assert browser.sign_in(sign_count=10).status_code == 200
    assert_refused(PasskeyBrowser(app.test_client(), phone).sign_in(sign_count=7), "counter", sophie)
    passkey = db.session.scalar(db.select(Passkey))
    assert passkey.cloned_at is not None and passkey.sign_count == 10
    [cloned] = db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == "passkey_cloned"))
    assert cloned.agent_id == sophie.id
    # Refused from then on, even with a counter that moves forward: the owner deletes it.
    assert_refused(PasskeyBrowser(app.test_client(), phone).sign_in(sign_count=50), "cloned", sophie)


def test_an_authenticator_without_a_counter_is_not_taken_for_a_clone(app, agent, sophie):
    """Synced passkeys (iCloud, Google) always say 0: that is not a counter going back."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    synced = SoftAuthenticator(counter_step=0)
    PasskeyBrowser(agent.client, synced).create_passkey()
    for _ in range(2):
        assert PasskeyBrowser(app.test_client(), synced).sign_in().status_code == 200


def test_a_disabled_accounts_passkey_is_refused(app, phone, sophie):
    sophie.disabled_at = utcnow()
    db.session.commit()
    response = PasskeyBrowser(app.test_client(), phone).sign_in()
    assert_refused(response, "disabled", sophie)
    assert "désactivé" in response.get_json()["error"]


# --- The attempts rule ------------------------------------------------------------------------


def test_a_pin_lockout_does_not_stop_the_owners_passkey(app, phone, sophie, new_agent):
    """Someone guessing Sophie's PIN locks the PIN, not Sophie: her passkey proves possession."""
    for _ in range(5):
        new_agent(app).log_in(SOPHIE.numero, "111111")
    assert limits.LOGIN_LOCKOUT.reached(sophie.numero)
    assert PasskeyBrowser(app.test_client(), phone).sign_in().status_code == 200
    assert limits.LOGIN_LOCKOUT.reached(sophie.numero), "the passkey gives the guesser no fresh tries"


def test_the_daily_cap_does_not_stop_the_owners_passkey(make_app, new_agent):
    app = make_app(LOGIN_DAILY_LIMIT="3 per day", LOGIN_LOCKOUT_LIMIT="100 per 15 minutes")
    with app.app_context():
        owner = new_agent(app)
        owner.log_in(SOPHIE.numero, SOPHIE.pin)
        phone = SoftAuthenticator()
        PasskeyBrowser(owner.client, phone).create_passkey()
        for _ in range(4):
            new_agent(app).log_in(SOPHIE.numero, "111111")
        sophie = agent_row(SOPHIE)
        assert sophie.pin_blocked_at is not None
        assert PasskeyBrowser(app.test_client(), phone).sign_in().status_code == 200
        db.session.refresh(sophie)
        assert sophie.pin_blocked_at is not None, "the PIN stays blocked until a new provisional PIN"


def test_failed_passkey_attempts_count_in_the_per_address_limit(make_app, new_agent):
    app = make_app(ADDRESS_RATE_LIMIT="3 per hour")
    with app.app_context():
        owner = new_agent(app)
        owner.log_in(SOPHIE.numero, SOPHIE.pin)
        phone = SoftAuthenticator()
        PasskeyBrowser(owner.client, phone).create_passkey()
        limits.LOGIN_ADDRESS.clear("127.0.0.1")  # the owner's PIN login from the same address
        for _ in range(5):
            assert PasskeyBrowser(app.test_client(), phone).sign_in().status_code == 200, "a success costs nothing"
        for _ in range(3):
            assert PasskeyBrowser(app.test_client(), phone).sign_in(origin="https://evil.example").status_code == 403
        response = PasskeyBrowser(app.test_client(), phone).sign_in()
        assert response.status_code == 429
        assert "Trop de tentatives" in response.get_json()["error"]
        assert limits.ADDRESS_FAILURES.attempts("127.0.0.1") == 3, "failing clients go last in the bcrypt line"


def test_a_passkey_sign_in_takes_no_bcrypt_nor_a_place_in_the_bcrypt_line(app, phone, monkeypatch):
    from cgos import bcrypt_line, passwords

    def forbidden(*args, **kwargs):
        """bcrypt, or the line in front of it."""
        raise AssertionError("a passkey sign-in must not use bcrypt")

    monkeypatch.setattr(passwords, "compute_with_salt_of", forbidden)
    monkeypatch.setattr(bcrypt_line, "take_place", forbidden)
    assert PasskeyBrowser(app.test_client(), phone).sign_in().status_code == 200


def test_a_passkey_sign_in_revokes_the_browsers_previous_session(app, agent, phone, sophie):
    """Session fixation and shared browsers: the same renewal as a PIN login."""
    [pin_session] = live_sessions_of(sophie)
    assert PasskeyBrowser(agent.client, phone).sign_in().status_code == 200
    db.session.refresh(pin_session)
    assert pin_session.revoked_at is not None
    [passkey_session] = live_sessions_of(sophie)
    logins = db.session.scalars(db.select(SecurityEvent.reason).where(SecurityEvent.kind == "login_success")).all()
    assert logins[-1] == "passkey"


# --- Creating one -----------------------------------------------------------------------------


def test_the_json_steps_refuse_a_request_without_the_csrf_token(app, agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert agent.client.post("/espace-agent/cles-d-acces/options", json={}).status_code == 400
    assert app.test_client().post("/connexion-cle-d-acces/options", json={}).status_code == 400
    assert db.session.scalar(db.select(db.func.count(FlowState.id)).where(FlowState.purpose.like("passkey%"))) == 0


def test_a_session_taken_over_later_cannot_add_a_passkey(app, agent, sophie):
    """A stolen cookie used an hour after the login cannot give itself a lasting way in."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    [session] = live_sessions_of(sophie)
    session.created_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    token = csrf_token(agent.client, "/espace-agent/")
    response = agent.client.post("/espace-agent/cles-d-acces/options", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 403
    assert "15 minutes" in response.get_json()["error"]


def test_a_registration_challenge_cannot_create_a_passkey_for_another_agent(app, agent, sophie, new_agent):
    """A creation begun in Sophie's session cannot be finished once the browser belongs to someone else."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    browser = PasskeyBrowser(agent.client)
    token = csrf_token(agent.client, "/espace-agent/")
    options = browser.post("/espace-agent/cles-d-acces/options", token).get_json()
    answer = browser.authenticator.create(options, browser.origin)
    agent.client.post("/deconnexion", data={"csrf_token": token})
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    response = browser.post("/espace-agent/cles-d-acces", csrf_token(agent.client, "/espace-agent/"), answer)
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Passkey.id))) == 0
    refusals = db.select(SecurityEvent).where(SecurityEvent.kind == "passkey_creation_failure")
    assert [(e.agent_id, e.reason, e.detail) for e in db.session.scalars(refusals)] == [(sophie.id, "challenge", None)]
