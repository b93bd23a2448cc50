"""Attacks on « Se connecter », performed from outside through HTTP (issue 10: M5, M6, L5, L11).

Each test is named after the attack it stops; each failed against the code before its fix.
"""

import re
from datetime import date, timedelta

import pytest
import redis

from cgos.credentials import limits
from cgos.credentials.issuing import issue_provisional_password
from cgos.extensions import db, limiter
from cgos.login import routes as login_routes
from cgos.mail import open_mail
from cgos.models import OutboundMail, SecurityEvent
from tests_support.factories import agent_row
from tests_support.personas import DEMO_AGENTS, LUC, SOPHIE

UNKNOWN = "99999999 " + "ABCDEFGHJKLMNPRSTUVWXYZ"[99999999 % 23]
WRONG = "Le numéro C.G.O.S ou le mot de passe est incorrect. Vérifiez votre saisie et recommencez."
WEAK_PINS_OF_THE_ISSUE = ["123123", "121212", "112233", "111222", "123321", "159753", "147258", "696969", "101010"]


def events(kind: str) -> list[SecurityEvent]:
    """Security events of one kind."""
    return list(db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == kind)))


def mails_to(address: str) -> list[OutboundMail]:
    """The mails queued for one address, oldest first."""
    return list(
        db.session.scalars(db.select(OutboundMail).where(OutboundMail.recipient == address).order_by(OutboundMail.id))
    )


def provisional_pin_mailed_to(address: str) -> str:
    """The PIN of the last provisional-password mail sent to this address."""
    body = open_mail(mails_to(address)[-1]).text_body
    return re.search(r"^Mot de passe provisoire : (\d{6})$", body, re.M).group(1)


def type_on_keyboard(driver, numero: str, secret: str):
    """Log in with the plain password field (any secret, letters included)."""
    driver.get("/?saisie=clavier")
    return driver.submit("/", {"numero": numero, "password": secret, "action": "validate"})


def is_lockout_answer(page) -> bool:
    """True for the lockout answer: « Renvoi du mot de passe » with its notice."""
    return page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe" and page.soup.select_one(".notice--lockout")


# M5: legacy accounts told apart


def test_legacy_account_cannot_be_told_apart_by_a_wrong_pin(agent, new_agent, client):
    unknown = type_on_keyboard(new_agent(client), UNKNOWN, "135790")
    legacy = type_on_keyboard(agent, LUC.numero, "135790")
    assert (legacy.status, legacy.error_summary()) == (unknown.status, unknown.error_summary()) == (422, [WRONG])


def test_the_legacy_notice_follows_only_the_correct_legacy_password(agent):
    page = type_on_keyboard(agent, LUC.numero, LUC.legacy_password)
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    assert "n'est plus accepté" in page.text


# M6: no long-term cap, spraying, IPv6 rotation


@pytest.fixture
def capped_app(make_app):
    """An app whose daily cap (3 failures) comes before the 15-minute lockout (100)."""
    app = make_app(LOGIN_DAILY_LIMIT="3 per day", LOGIN_LOCKOUT_LIMIT="100 per 15 minutes")
    with app.app_context():
        yield app


def test_guessing_stops_at_the_daily_cap_even_with_the_right_pin(capped_app, new_agent):
    attacker = new_agent(capped_app)
    for _ in range(2):
        assert attacker.log_in(SOPHIE.numero, "111111").error_summary() == [WRONG]
    assert is_lockout_answer(attacker.log_in(SOPHIE.numero, "111111")), (
        "the failure that reaches the cap says so at once"
    )
    assert is_lockout_answer(attacker.log_in(SOPHIE.numero, SOPHIE.pin))
    limits.LOGIN_DAILY.clear(agent_row(SOPHIE).numero)  # the next day
    page = new_agent(capped_app).log_in(SOPHIE.numero, SOPHIE.pin)
    assert "Bienvenue" not in page.text and page.error_summary()[0].startswith(WRONG), "the PIN stays refused"


def test_the_daily_cap_answers_an_unknown_numero_the_same(capped_app, new_agent):
    known, unknown = new_agent(capped_app), new_agent(capped_app)
    for _ in range(3):
        known.log_in(SOPHIE.numero, "111111")
        unknown.log_in(UNKNOWN, "111111")
    assert is_lockout_answer(known.log_in(SOPHIE.numero, "111111"))
    assert is_lockout_answer(unknown.log_in(UNKNOWN, "111111"))
    assert known.page.main.select_one(".notice--lockout").text == unknown.page.main.select_one(".notice--lockout").text


def test_a_provisional_pin_issued_after_the_block_logs_in_and_lifts_it(capped_app, new_agent):
    attacker = new_agent(capped_app)
    for _ in range(4):
        attacker.log_in(SOPHIE.numero, "111111")
    sophie = agent_row(SOPHIE)
    issue_provisional_password(sophie)
    db.session.commit()
    pin = provisional_pin_mailed_to(SOPHIE.email)
    page = new_agent(capped_app).log_in(SOPHIE.numero, pin)
    assert page.soup.h1.get_text(strip=True) == "Changement du mot de passe provisoire"
    db.session.refresh(sophie)
    assert sophie.pin_blocked_at is None
    assert limits.LOGIN_DAILY.attempts(sophie.numero) == 0


def test_a_provisional_pin_issued_before_the_block_does_not_log_in(capped_app, new_agent):
    sophie = agent_row(SOPHIE)
    issue_provisional_password(sophie)
    db.session.commit()
    pin = provisional_pin_mailed_to(SOPHIE.email)
    attacker = new_agent(capped_app)
    for _ in range(4):
        attacker.log_in(SOPHIE.numero, "111111")
    assert "Changement du mot de passe provisoire" not in new_agent(capped_app).log_in(SOPHIE.numero, pin).text


def test_the_delegation_can_unlock_a_blocked_account(capped_app, new_agent):
    from cgos.credentials.limits import unlock_account

    for _ in range(4):
        new_agent(capped_app).log_in(SOPHIE.numero, "111111")
    unlock_account(agent_row(SOPHIE))
    db.session.commit()
    assert "Bienvenue" in new_agent(capped_app).log_in(SOPHIE.numero, SOPHIE.pin).text


def test_a_lockout_is_mailed_to_the_agent_once_per_window(agent):
    for _ in range(8):
        agent.log_in(SOPHIE.numero, "111111")
    [mail] = mails_to(SOPHIE.email)
    assert "Mot de passe oublié" in mail.text_body and "délégation" in mail.text_body
    assert re.search(r"à partir de \d{1,2} h \d{2}", mail.text_body)
    assert "Mot de passe oublié" in mail.html_body


def test_the_daily_block_is_mailed_to_the_agent_once(capped_app, new_agent):
    for _ in range(6):
        new_agent(capped_app).log_in(SOPHIE.numero, "111111")
    [mail] = mails_to(SOPHIE.email)
    assert "Mot de passe oublié" in mail.text_body and "délégation" in mail.text_body


def test_rotating_ipv6_addresses_within_a_64_shares_one_address_limit(make_app, new_agent):
    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():

        def attempt_from(address: str) -> int:
            """One failed login from a new browser at this address; its status."""
            client = app.test_client()
            client.environ_base = {"REMOTE_ADDR": address}
            return type_on_keyboard(new_agent(client), UNKNOWN, "111111").status

        statuses = [attempt_from(f"2001:db8:1:2::{interface}") for interface in range(1, 5)]
        assert statuses == [422, 422, 429, 429]
        assert attempt_from("2001:db8:1:3::1") == 422, "another /64 is another client"


def test_spraying_one_pin_over_many_numeros_raises_one_alert(make_app, new_agent, caplog):
    app = make_app(LOGIN_ALERT_LIMIT="3 per hour")
    with app.app_context():
        numeros = [f"{n} {'ABCDEFGHJKLMNPRSTUVWXYZ'[n % 23]}" for n in range(99999990, 99999996)]
        with caplog.at_level("WARNING"):
            for numero in numeros:
                new_agent(app).log_in(numero, "123456")
        assert len(events("login_alert")) == 1
        assert any(record.levelname == "WARNING" and "login" in record.getMessage() for record in caplog.records)


def test_the_weak_pins_of_the_issue_cannot_be_chosen(make_app, new_agent):
    app = make_app(LOGIN_LOCKOUT_LIMIT="100 per hour")
    with app.app_context():
        sophie = new_agent(app)
        sophie.log_in(SOPHIE.numero, SOPHIE.pin)
        born = date(1990, 6, 21)
        for pin in WEAK_PINS_OF_THE_ISSUE + [born.strftime("%m%d%y"), born.strftime("%y%d%m"), "219006"]:
            sophie.get("/espace-agent/mot-de-passe")
            page = sophie.submit(
                "/espace-agent/mot-de-passe", {"current_pin": SOPHIE.pin, "new_pin": pin, "confirmation": pin}
            )
            assert page.status == 422, pin
            assert page.field_error("new_pin"), pin


# L5: keypad replay


def session_cookie(client) -> str:
    """The value of the session cookie of a test client."""
    return client.get_cookie("cgos_session").value


def test_a_captured_login_request_does_not_log_in_again(app, agent):
    page = agent.get("/")
    tokens = page.key_tokens()
    body = {
        **page.form_data(),
        "numero": SOPHIE.numero,
        "pressed": " ".join(tokens[d] for d in SOPHIE.pin),
        "action": "validate",
    }
    captured = session_cookie(agent.client)
    assert "Bienvenue" in agent.post("/", body).text
    replayer = app.test_client()
    replayer.set_cookie("cgos_session", captured)
    response = replayer.post("/", data=body, follow_redirects=True)
    assert "Bienvenue" not in response.get_data(as_text=True)


def test_a_refused_keypad_login_cannot_be_replayed_either(app, agent):
    page = agent.get("/")
    tokens = page.key_tokens()
    body = {
        **page.form_data(),
        "numero": SOPHIE.numero,
        "pressed": " ".join(tokens[d] for d in "111111"),
        "action": "validate",
    }
    captured = session_cookie(agent.client)
    agent.post("/", body)
    replayer = app.test_client()
    replayer.set_cookie("cgos_session", captured)
    page = replayer.post("/", data={**body, "pressed": " ".join(tokens[d] for d in SOPHIE.pin)})
    assert page.status_code == 422
    assert "Le clavier a été renouvelé" in page.get_data(as_text=True)


def test_a_keypad_kept_past_its_lifetime_does_not_log_in(clock, agent):
    page = agent.get("/")
    tokens = page.key_tokens()
    # Well past it, as a phone left on the table: the cookie (and its CSRF token) outlives the keypad.
    clock.shift(login_routes.KEYPAD_LIFETIME + timedelta(minutes=25))
    page = agent.post(
        "/",
        {
            **page.form_data(),
            "numero": SOPHIE.numero,
            "pressed": " ".join(tokens[d] for d in SOPHIE.pin),
            "action": "validate",
        },
    )
    assert page.status == 422
    assert "Le clavier a été renouvelé" in page.text


def test_the_session_cookie_does_not_reveal_the_keypad_order(app, agent):
    page = agent.get("/")
    data = app.session_interface.get_signing_serializer(app).loads(session_cookie(agent.client))
    order = "".join(b.get_text(strip=True) or "_" for b in page.soup.select(".keypad__grid > *"))
    assert order not in str(data), "the cookie holds the keypad's id, never its order"
    assert "order" not in data.get("keypad", {})


# L11: provisional PIN reuse


def test_a_provisional_pin_logs_in_only_once_for_an_agent_with_a_pin(app, new_agent):
    issue_provisional_password(agent_row(SOPHIE))
    db.session.commit()
    pin = provisional_pin_mailed_to(SOPHIE.email)
    first = new_agent(app).log_in(SOPHIE.numero, pin)
    assert first.soup.h1.get_text(strip=True) == "Changement du mot de passe provisoire"
    again = new_agent(app).log_in(SOPHIE.numero, pin)
    assert again.error_summary() == [WRONG]


def test_the_first_session_still_chooses_its_pin_after_the_provisional_one_is_used(app, new_agent):
    issue_provisional_password(agent_row(SOPHIE))
    db.session.commit()
    pin = provisional_pin_mailed_to(SOPHIE.email)
    sophie = new_agent(app)
    sophie.log_in(SOPHIE.numero, pin)
    page = sophie.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": pin, "confirmation": pin})
    assert page.field_error("new_pin") == "Choisissez un mot de passe différent du mot de passe provisoire."
    page = sophie.submit("/espace-agent/mot-de-passe-provisoire", {"new_pin": "530817", "confirmation": "530817"})
    assert page.status == 200 and "Bienvenue" in page.text
    assert "Bienvenue" in new_agent(app).log_in(SOPHIE.numero, "530817").text


def test_a_new_provisional_pin_makes_the_previous_one_fail(app, new_agent):
    issue_provisional_password(agent_row(SOPHIE))
    db.session.commit()
    first = provisional_pin_mailed_to(SOPHIE.email)
    issue_provisional_password(agent_row(SOPHIE))
    db.session.commit()
    second = provisional_pin_mailed_to(SOPHIE.email)
    if first == second:
        pytest.skip("the same PIN was drawn twice (one chance in a million)")
    assert new_agent(app).log_in(SOPHIE.numero, first).error_summary() == [WRONG]
    assert (
        new_agent(app).log_in(SOPHIE.numero, second).soup.h1.get_text(strip=True)
        == "Changement du mot de passe provisoire"
    )


# fail_closed: only the storage's connection errors


def test_a_bug_in_the_limiter_is_not_disguised_as_an_outage(app, agent, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(limiter.limiter, "hit", broken)
    page = agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert page.status == 500, "a bug is a bug, not a 503"
    assert "ValueError" in caplog.text and "a bug" in caplog.text, "logged with its message and traceback"
    assert "storage unavailable" not in caplog.text


def test_a_storage_connection_error_still_refuses_with_a_503(app, agent, monkeypatch):
    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(limiter.limiter, "hit", down)
    page = agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert page.status == 503 and "Bienvenue" not in page.text


# What already held: keep it so


@pytest.mark.parametrize("numero", [UNKNOWN, *(person.numero for person in DEMO_AGENTS)])
def test_no_account_state_can_be_told_apart_by_a_wrong_pin(either, numero, monkeypatch):
    """Unknown numéro, personal PIN, never connected, no mail, expired provisional, legacy: one answer, one bcrypt."""
    from cgos import passwords

    computations = []
    real = passwords.compute_with_salt_of
    monkeypatch.setattr(passwords, "compute_with_salt_of", lambda *a: computations.append(1) or real(*a))
    page = either.log_in(numero, "135790")
    assert (page.status, page.error_summary()) == (422, [WRONG])
    assert len(computations) == 1


def test_a_spoofed_x_forwarded_for_does_not_reset_the_address_limit(make_app, new_agent):
    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():
        statuses = []
        for n in range(4):
            driver = new_agent(app)
            driver.client.environ_base = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"}
            statuses.append(type_on_keyboard(driver, UNKNOWN, "111111").status)
        assert statuses == [422, 422, 429, 429]


def test_the_daily_block_revokes_open_sessions(capped_app, new_agent):
    sophie = new_agent(capped_app)
    assert "Bienvenue" in sophie.log_in(SOPHIE.numero, SOPHIE.pin).text
    for _ in range(4):
        new_agent(capped_app).log_in(SOPHIE.numero, "111111")
    assert sophie.client.get("/espace-agent/").status_code == 303


def test_guessing_the_current_pin_from_a_stolen_session_stops_at_the_daily_cap(capped_app, new_agent):
    thief = new_agent(capped_app)
    thief.log_in(SOPHIE.numero, SOPHIE.pin)
    for _ in range(3):  # the third wrong PIN reaches the cap: blocked and logged out at once
        thief.get("/espace-agent/mot-de-passe")
        page = thief.submit(
            "/espace-agent/mot-de-passe", {"current_pin": "111111", "new_pin": "530817", "confirmation": "530817"}
        )
    assert is_lockout_answer(page)
    assert agent_row(SOPHIE).pin_blocked_at is not None
    assert "Bienvenue" not in new_agent(capped_app).log_in(SOPHIE.numero, SOPHIE.pin).text


def test_guessing_the_current_pin_through_the_mail_change_stops_at_the_daily_cap(capped_app, new_agent):
    """The mail change from home counted the 15-minute lockout but not the daily cap (issue 20)."""
    thief = new_agent(capped_app)
    thief.log_in(SOPHIE.numero, SOPHIE.pin)
    for wrong in ("000001", "000002", "000003"):
        thief.get("/espace-agent/mes-donnees")
        page = thief.submit("/espace-agent/mes-donnees", {"email": "thief@attacker-mail.fr", "current_pin": wrong})
    assert is_lockout_answer(page)
    assert agent_row(SOPHIE).pin_blocked_at is not None
    assert "Bienvenue" not in new_agent(capped_app).log_in(SOPHIE.numero, SOPHIE.pin).text


@pytest.mark.parametrize("token", ["é é é é é é", "é", "ÿ" * 64])
def test_a_non_ascii_keypad_token_is_refused_as_bad_input_before_anything_is_counted(agent, token):
    """N6: it crashed (500) after the attempt had been counted against the account."""
    page = agent.get("/")
    answer = agent.post("/", {**page.form_data(), "numero": SOPHIE.numero, "pressed": token, "action": "validate"})
    assert answer.status == 422
    assert answer.error_summary() == ["Le clavier a été renouvelé : saisissez de nouveau votre mot de passe."]
    assert limits.LOGIN_LOCKOUT.attempts(SOPHIE.compact_numero) == 0
    assert limits.LOGIN_DAILY.attempts(SOPHIE.compact_numero) == 0
    page = agent.get("/")
    press = agent.post("/", {**page.form_data(), "numero": SOPHIE.numero, "key": token.split()[0]})
    assert press.status == 422


def test_the_lockout_warning_tells_no_one_which_numeros_exist(app, new_agent):
    """Issue 22, item 3: the warning counts per typed numéro, so an unknown one gets it at the same counts."""
    known, unknown = new_agent(app), new_agent(app)
    for _ in range(4):
        assert (
            known.log_in(SOPHIE.numero, "111111").error_summary() == unknown.log_in(UNKNOWN, "111111").error_summary()
        )
    assert "il vous reste 1 essai avant le blocage temporaire" in known.page.error_summary()[0]
    assert is_lockout_answer(known.log_in(SOPHIE.numero, "111111")) and is_lockout_answer(
        unknown.log_in(UNKNOWN, "111111")
    )


def test_the_legacy_notice_opens_mot_de_passe_oublie_with_the_numero_typed(agent):
    page = type_on_keyboard(agent, LUC.numero, LUC.legacy_password)
    assert page.soup.find(id="numero")["value"] == "35477120 M"
