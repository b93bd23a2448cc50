"""« Se connecter »: the keypad, the plain password field, failures, legacy and provisional passwords."""

import re
import threading
import time
from datetime import timedelta

import pytest

from cgos import passwords
from cgos.credentials import limits
from cgos.credentials.hashing import hash_secret
from cgos.credentials.issuing import issue_provisional_password
from cgos.extensions import db
from cgos.models import AuthSession, PasswordState, SecurityEvent, utcnow
from tests_support.factories import agent_row
from tests_support.pages import Page
from tests_support.personas import LUC, NADIA, SOPHIE
from tests_support.staff import log_in_staff

WRONG = "Le numéro C.G.O.S ou le mot de passe est incorrect. Vérifiez votre saisie et recommencez."


def events(kind: str) -> list[SecurityEvent]:
    """Security events of one kind."""
    return list(db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == kind)))


def test_login_page_as_full_page_and_fragment(client):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="fr">' in html
    assert "HX-Request" in page.headers["Vary"]
    fragment = client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "<title>" in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "Accès à l&#39;Espace Agent avec votre mot de passe" in fragment


def test_htmx_wiring_is_declared_once_on_the_body(client):
    """Links and forms are boosted from the body into #main; none repeats the target by hand."""
    soup = Page(client.get("/")).soup
    assert soup.body["hx-boost:inherited"] == "target:#main swap:innerHTML"
    assert soup.select_one("main#main[hx-history-elt]")
    assert not soup.select('[hx-target="#main"]')


def test_a_staff_member_on_the_login_page_still_sees_the_logout_button(app, agent, new_agent):
    new_agent(app).get("/")  # a visitor's display comes first
    log_in_staff(agent)
    page = agent.get("/")
    assert page.soup.find("header").find("button", string="Se déconnecter")


def test_the_form_has_the_contract_names(either):
    page = either.get("/")
    soup = page.soup
    label = soup.find("label", attrs={"for": "numero"})
    assert label.find(string=True, recursive=False).strip() == "Entrez votre N° C.G.O.S (avec la lettre)"
    keypad = soup.select_one("fieldset#keypad")
    assert keypad.legend.get_text(strip=True) == "Votre mot de passe à 6 chiffres"
    keys = keypad.select("button[name=key]")
    assert sorted(k.get_text(strip=True) for k in keys) == list("0123456789")
    assert len(keypad.select(".keypad__grid > *")) == 12
    assert soup.find("button", string="Corriger") and soup.find("button", string=re.compile("^Valider$"))
    links = {a.get_text(strip=True) for a in page.main.select("a")}
    assert {"Mot de passe oublié ?", "je demande un nouveau mot de passe à 6 chiffres"} <= links
    status = soup.find(id="keypad-status")
    assert status["role"] == "status" and status.get_text(strip=True) == "0 chiffre saisi sur 6"


def test_the_three_tabs_are_links_with_the_current_one_marked(either):
    nav = either.get("/").soup.find("nav", id="tabs")
    links = nav.find_all("a")
    assert [a.get_text(strip=True) for a in links] == ["Se connecter", "1ère connexion", "Demande de n°C.G.O.S"]
    assert [a["href"] for a in links] == ["/", "/premiere-connexion", "/demande-numero"]
    assert [a.get("aria-current") for a in links] == ["page", None, None]


def test_each_display_shuffles_a_new_keypad(agent):
    first = agent.get("/").key_tokens()
    second = agent.get("/").key_tokens()
    assert set(first.values()).isdisjoint(second.values())


def test_a_key_press_without_javascript_adds_a_dot_and_keeps_the_numero(agent):
    page = agent.get("/")
    tokens = page.key_tokens()
    page = agent.submit("/", {"numero": SOPHIE.numero, "key": tokens["4"]})
    assert page.status == 200
    assert page.soup.find(id="numero")["value"] == SOPHIE.numero
    assert len(page.soup.select(".dot--filled")) == 1
    assert page.soup.find(id="keypad-status").get_text(strip=True) == "1 chiffre saisi sur 6"
    assert page.key_tokens() == tokens, "the keypad stays the same during one entry"
    assert page.soup.find("button", attrs={"value": tokens["4"]}).has_attr("autofocus")
    assert tokens["4"] in page.soup.find(id="pressed")["value"]
    for digit in "82915":
        page = agent.submit("/", {"key": tokens[digit]})
    assert page.soup.find(id="keypad-status").get_text(strip=True) == "6 chiffres saisis sur 6"
    page = agent.submit("/", {"key": tokens["1"]})
    assert len(page.soup.find(id="pressed")["value"].split()) == 6
    page = agent.submit("/", {"action": "validate"})
    assert "Bienvenue" in page.text


def test_effacer_without_javascript_removes_the_last_digit_on_the_same_keypad(agent):
    page = agent.get("/")
    tokens = page.key_tokens()
    for digit in "483":
        page = agent.submit("/", {"numero": SOPHIE.numero, "key": tokens[digit]})
    page = agent.submit("/", {"action": "erase"})
    assert page.status == 200
    assert page.soup.find(id="keypad-status").get_text(strip=True) == "2 chiffres saisis sur 6"
    assert page.soup.find(id="pressed")["value"].split() == [tokens["4"], tokens["8"]]
    assert page.key_tokens() == tokens, "the keypad stays the same after « Effacer »"
    assert page.soup.find("button", attrs={"value": "erase"}).has_attr("autofocus")
    for digit in "2915":
        page = agent.submit("/", {"key": tokens[digit]})
    page = agent.submit("/", {"action": "validate"})
    assert "Bienvenue" in page.text


def test_effacer_on_an_empty_entry_or_an_older_keypad(agent):
    page = agent.get("/")
    page = agent.submit("/", {"numero": SOPHIE.numero, "action": "erase"})
    assert page.soup.find(id="keypad-status").get_text(strip=True) == "0 chiffre saisi sur 6"
    older = page.key_tokens()
    page = agent.get("/")
    page = agent.submit("/", {"pressed": older["4"], "action": "erase"})
    assert page.status == 422 and "Le clavier a été renouvelé" in page.text


def test_the_effacer_key_is_outside_the_shuffled_grid(either):
    soup = either.get("/").soup
    [erase] = [b for b in soup.find_all("button") if b.get_text(" ", strip=True).endswith("le dernier chiffre")]
    assert " ".join(erase.get_text(" ", strip=True).replace("⌫", "").split()) == "Effacer le dernier chiffre"
    assert erase.find(attrs={"aria-hidden": "true"}).get_text(strip=True) == "⌫"
    assert erase.find_parent("fieldset") is None and erase.find_parent(class_="keypad__grid") is None
    assert "Le clavier change à chaque affichage." in soup.find(id="keypad-hint").get_text()
    assert "keypad-hint" in soup.find("fieldset", id="keypad")["aria-describedby"].split()


def test_corriger_clears_the_entry_with_a_new_keypad(agent):
    page = agent.get("/")
    tokens = page.key_tokens()
    agent.submit("/", {"numero": SOPHIE.numero, "key": tokens["4"]})
    page = agent.submit("/", {"action": "clear"})
    assert page.soup.select(".dot--filled") == []
    assert page.soup.find(id="pressed")["value"] == ""
    assert page.soup.find(id="numero")["value"] == SOPHIE.numero
    assert set(page.key_tokens().values()).isdisjoint(tokens.values())


def test_tokens_of_an_older_keypad_are_refused(agent):
    old = agent.get("/")
    old_tokens = old.key_tokens()
    agent.get("/")  # a new display: the old keypad is gone
    page = agent.post(
        "/",
        {
            **old.form_data(),
            "numero": SOPHIE.numero,
            "pressed": " ".join(old_tokens[d] for d in SOPHIE.pin),
            "action": "validate",
        },
    )
    assert page.status == 422
    assert "Le clavier a été renouvelé" in " ".join(page.error_summary())
    assert "Bienvenue" not in page.text


def test_a_forged_token_is_refused(agent):
    page = agent.get("/")
    page = agent.submit("/", {"numero": SOPHIE.numero, "key": "AAAAAAAAAAAA"})
    assert page.status == 422
    assert page.soup.select(".dot--filled") == []


def test_login_success_renews_the_session_and_goes_home(agent, client):
    agent.get("/")
    before = client.get_cookie("cgos_session").value
    page = agent.log_in(SOPHIE.numero, SOPHIE.pin, follow=False)
    assert page.status == 303 and page.response.headers["Location"].endswith("/espace-agent/")
    after = client.get_cookie("cgos_session")
    assert after.value != before
    assert after.http_only and after.same_site == "Lax"
    home = agent.get("/espace-agent/")
    assert "Bienvenue, Sophie BERNARD" in home.text
    assert "29088361 J" in home.text and "Centre Hospitalier Universitaire de Brest" in home.text
    assert home.soup.find("button", string="Se déconnecter")
    [login] = events("login_success")
    assert (login.agent_id, login.reason, login.detail) == (agent_row(SOPHIE).id, "personal", None)


def test_htmx_login_reloads_the_whole_page(client, new_agent):

    driver = new_agent(client, htmx=True)
    page = driver.log_in(SOPHIE.numero, SOPHIE.pin, follow=False)
    assert page.status == 200 and page.response.headers["HX-Redirect"].endswith("/espace-agent/")


@pytest.mark.parametrize(
    ("numero", "reason"),
    [("29088361 J", "failed"), ("99999999 " + "ABCDEFGHJKLMNPRSTUVWXYZ"[99999999 % 23], "unknown_numero")],
)
def test_wrong_pin_and_unknown_numero_get_the_same_answer(either, numero, reason):
    page = either.log_in(numero, "111111")
    assert page.status == 422
    assert page.error_summary() == [WRONG]
    assert page.title.startswith("Erreur : ")
    assert page.soup.select_one(".error-summary").has_attr("autofocus")
    # Told apart in the audit row only.
    assert [(e.reason, e.detail) for e in events("login_failure")] == [(reason, None)]


def test_unknown_numero_and_wrong_pin_cost_one_bcrypt_each(agent, monkeypatch):
    calls = []
    real = passwords.compute_with_salt_of
    monkeypatch.setattr(passwords, "compute_with_salt_of", lambda *a: calls.append(a) or real(*a))
    agent.log_in("99999999 " + "ABCDEFGHJKLMNPRSTUVWXYZ"[99999999 % 23], "111111")
    agent.log_in(SOPHIE.numero, "111111")
    unknown, known = calls
    assert unknown[2][:7] == known[2][:7] == "$2b$04$", "same cost for the dummy hash and a real one"


def test_a_failed_attempt_shows_a_new_keypad(agent):
    first = agent.get("/").key_tokens()
    page = agent.log_in(SOPHIE.numero, "111111")
    assert set(page.key_tokens().values()).isdisjoint(first.values())


@pytest.mark.parametrize(
    ("numero", "message"),
    [
        ("", "Saisissez votre numéro C.G.O.S (8 chiffres suivis d'une lettre)."),
        ("1234", "Le numéro C.G.O.S comporte 8 chiffres suivis d'une lettre, par exemple 35127846 S."),
        ("29088361 K", "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre."),
    ],
)
def test_numero_errors_are_shown_beside_the_field(either, numero, message):
    page = either.log_in(numero, SOPHIE.pin)
    assert page.status == 422
    assert message in page.error_summary()
    assert page.field_error("numero") == message
    assert page.soup.select_one(".error-summary a")["href"] == "#numero"


@pytest.mark.parametrize("numero", ["29088361j", "29088361 J", " 2908 8361-j "])
def test_numero_accepts_case_spaces_and_glued_letter(agent, numero):
    assert "Bienvenue" in agent.log_in(numero, SOPHIE.pin).text


def test_an_incomplete_pin_is_refused(agent):
    page = agent.log_in(SOPHIE.numero, "4829")
    assert page.status == 422
    assert "Saisissez les 6 chiffres de votre mot de passe." in page.error_summary()


def test_keyboard_alternative_gives_a_numeric_password_field(either):
    page = either.get("/?saisie=clavier")
    field = page.soup.find("input", attrs={"name": "password"})
    assert field["type"] == "password"
    assert field["inputmode"] == "numeric" and field["autocomplete"] == "current-password"
    assert page.soup.find("label", attrs={"for": "password"})
    assert page.soup.find(id="keypad") is None
    page = either.submit("/", {"numero": SOPHIE.numero, "password": SOPHIE.pin, "action": "validate"})
    assert "Bienvenue" in page.text or page.response.headers.get("HX-Redirect")


def test_keyboard_alternative_has_the_same_message(agent):
    agent.get("/?saisie=clavier")
    page = agent.submit("/", {"numero": SOPHIE.numero, "password": "111111", "action": "validate"})
    assert page.error_summary() == [WRONG]
    assert page.soup.find("input", attrs={"name": "password"}), "stays in keyboard mode"


def test_the_legacy_password_leads_to_the_new_password_form(agent):
    agent.get("/?saisie=clavier")
    page = agent.submit("/", {"numero": LUC.numero, "password": LUC.legacy_password, "action": "validate"})
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    assert "n'est plus accepté" in page.text
    assert g_agent_is_anonymous(agent)


def test_any_other_secret_on_a_legacy_account_is_just_incorrect(agent):
    agent.get("/?saisie=clavier")
    page = agent.submit("/", {"numero": LUC.numero, "password": "111111", "action": "validate"})
    assert page.status == 422 and page.error_summary() == [WRONG]
    assert g_agent_is_anonymous(agent)


def g_agent_is_anonymous(agent) -> bool:
    """True when the home page sends back to the login page."""
    return agent.client.get("/espace-agent/").status_code == 303


def test_a_legacy_password_never_works_once_a_pin_is_set(app, agent):
    luc = agent_row(LUC)
    issue_provisional_password(luc)
    db.session.commit()
    pin = "739154"
    luc.provisional_pin_hash = hash_secret(pin, salt_of=luc.legacy_password_hash)
    db.session.commit()
    page = agent.log_in(LUC.numero, pin)
    assert page.soup.h1.get_text(strip=True) == "Changement du mot de passe provisoire"
    db.session.refresh(luc)
    assert luc.legacy_password_hash is None


def test_an_expired_provisional_password_is_refused_with_a_way_out(agent):
    nadia = agent_row(NADIA)
    nadia.provisional_pin_hash = hash_secret("739154")
    db.session.commit()
    page = agent.log_in(NADIA.numero, "739154")
    assert page.status == 422
    assert any("a expiré" in line for line in page.error_summary())
    assert page.soup.find("a", string="Mot de passe oublié ?")


def test_personal_pin_works_until_the_provisional_one_is_used(agent):
    sophie = agent_row(SOPHIE)
    issue_provisional_password(sophie)
    sophie.provisional_pin_hash = hash_secret("739154", salt_of=sophie.pin_hash)
    db.session.commit()
    assert "Bienvenue" in agent.log_in(SOPHIE.numero, SOPHIE.pin).text
    db.session.refresh(sophie)
    assert sophie.provisional_pin_hash is None, "the personal PIN discarded the provisional one"


def test_using_the_provisional_pin_discards_the_personal_one(agent, client):
    sophie = agent_row(SOPHIE)
    sophie.provisional_pin_hash = hash_secret("739154", salt_of=sophie.pin_hash)
    sophie.provisional_issued_at = utcnow()
    db.session.commit()
    page = agent.log_in(SOPHIE.numero, "739154")
    assert page.soup.h1.get_text(strip=True) == "Changement du mot de passe provisoire"
    db.session.refresh(sophie)
    assert sophie.pin_hash is None and sophie.password_state == PasswordState.PROVISIONAL


def warned(left: int) -> str:
    """The wrong-PIN message with its warning, from the third failure (issue 22, item 3)."""
    tries = f"{left} essai{'s' if left > 1 else ''}"
    return f"{WRONG} Attention : il vous reste {tries} avant le blocage temporaire de votre compte."


def test_lockout_after_five_failures_refuses_even_the_right_pin(agent, app):
    expected = [WRONG, WRONG, warned(2), warned(1)]
    assert [agent.log_in(SOPHIE.numero, "111111").error_summary() for _ in range(4)] == [[line] for line in expected]
    page = agent.log_in(SOPHIE.numero, "111111")
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe", "the fifth failure says so at once"
    page = agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    notice = page.soup.select_one(".notice--lockout").get_text(" ", strip=True)
    assert notice.startswith("Après plusieurs tentatives erronées")
    assert re.search(r"à partir de \d{1,2} h \d{2}", notice)
    assert len(events("lockout")) == 1
    assert [(e.reason, e.detail) for e in events("login_failure")] == [("failed", None)] * 5
    assert [(e.reason, e.detail) for e in events("login_refused")] == [("locked", None)]
    assert not agent.log_in(SOPHIE.numero, SOPHIE.pin).text.count("Bienvenue")


def test_lockout_ends_with_its_window(make_app, new_agent):
    # Real seconds, not the clock fixture: the window ends when its counter's key expires, in
    # Redis by Redis's own clock, which time-machine does not move. It opens during the first
    # failure, so it has closed 3 s after that login returned; 3 s leaves a loaded machine time
    # for the three logins inside it (1 s did not, at times).
    app = make_app(LOGIN_LOCKOUT_LIMIT="2 per 3 seconds")

    with app.app_context():
        driver = new_agent(app.test_client())
        driver.log_in(SOPHIE.numero, "111111")
        window_opened_before = time.monotonic()
        driver.log_in(SOPHIE.numero, "111111")
        assert driver.log_in(SOPHIE.numero, SOPHIE.pin).soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
        time.sleep(max(0, window_opened_before + 3.1 - time.monotonic()))
        assert "Bienvenue" in driver.log_in(SOPHIE.numero, SOPHIE.pin).text


def test_lockout_revokes_open_sessions(app, agent, new_agent):

    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    attacker = new_agent(app.test_client())
    for _ in range(6):
        attacker.log_in(SOPHIE.numero, "111111")
    assert agent.client.get("/espace-agent/").status_code == 303


@pytest.mark.parametrize("spelling", ["29088361j", "2908 8361 J", "29088361-J"])
def test_other_spellings_of_the_numero_count_for_the_same_account(agent, spelling):
    for _ in range(5):
        agent.log_in(spelling, "111111")
    assert agent.log_in(SOPHIE.numero, SOPHIE.pin).soup.h1.get_text(strip=True) == "Renvoi du mot de passe"


def test_malformed_or_empty_numeros_are_refused_as_bad_input_and_count_in_no_limit(make_app, new_agent):
    """Bad input is answered before anything is counted (issue 20, N6): no bcrypt, no attempt."""
    app = make_app(ADDRESS_RATE_LIMIT="3 per hour")
    with app.app_context():
        driver = new_agent(app.test_client())
        for numero in ["", "abc", "3512", "35127846 T"]:
            assert driver.log_in(numero, "111111").status == 422
        assert limits.LOGIN_ADDRESS.attempts("127.0.0.1") == 0
        assert "Bienvenue" in driver.log_in(SOPHIE.numero, SOPHIE.pin).text


def test_successful_logins_do_not_use_up_the_address_limit(make_app, new_agent):

    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():
        for _ in range(4):
            driver = new_agent(app.test_client())
            assert "Bienvenue" in driver.log_in(SOPHIE.numero, SOPHIE.pin).text


def test_key_presses_do_not_count_as_attempts(make_app, new_agent):

    app = make_app(ADDRESS_RATE_LIMIT="1 per hour")
    with app.app_context():
        driver = new_agent(app.test_client())
        tokens = driver.get("/").key_tokens()
        for digit in SOPHIE.pin:
            driver.submit("/", {"numero": SOPHIE.numero, "key": tokens[digit]})
        assert "Bienvenue" in driver.submit("/", {"action": "validate"}).text


def test_a_provisional_password_request_does_not_lift_a_lockout(agent):
    for _ in range(6):
        agent.log_in(SOPHIE.numero, "111111")
    sophie = agent_row(SOPHIE)
    issue_provisional_password(sophie)
    sophie.provisional_pin_hash = hash_secret("739154", salt_of=sophie.pin_hash)
    db.session.commit()
    page = agent.log_in(SOPHIE.numero, "739154")
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"


def simultaneous_logins(app, new_agent, pins: list[str]) -> list[int]:
    """Post one keypad login of Sophie per PIN, each from its own address, all released at once: their statuses."""
    drivers = [new_agent(app.test_client()) for _ in pins]
    for number, driver in enumerate(drivers, start=1):
        driver.client.environ_base["REMOTE_ADDR"] = f"192.0.2.{number}"  # not one client holding the line
    forms = []
    for driver, pin in zip(drivers, pins):
        page = driver.get("/")
        tokens = page.key_tokens()
        forms.append(
            {
                **page.form_data(),
                "numero": SOPHIE.numero,
                "action": "validate",
                "pressed": " ".join(tokens[d] for d in pin),
            }
        )
    barrier = threading.Barrier(len(pins))
    statuses = []

    def attempt(driver, data):
        barrier.wait()
        statuses.append(driver.client.post("/", data=data).status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(drivers, forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.fixture
def checks(monkeypatch):
    """Every secret compared with a stored hash (one bcrypt each), counted."""
    counted = []
    real = passwords.compute_with_salt_of
    monkeypatch.setattr(passwords, "compute_with_salt_of", lambda *a: counted.append(1) or real(*a))
    return counted


def test_twenty_simultaneous_wrong_pins_are_checked_five_times_then_the_right_pin_is_refused(app, checks, new_agent):
    """Issue 20: only the account's tries left are checked at once; the others are refused unchecked and uncounted."""
    statuses = simultaneous_logins(app, new_agent, ["111111"] * 20)
    assert len(checks) == 5, "only the five tries the account has reach bcrypt"
    assert limits.LOGIN_LOCKOUT.attempts(SOPHIE.compact_numero) == 5
    assert statuses.count(422) == 4, "the fifth failure answers with the lockout page (303)"
    assert statuses.count(303) >= 1 and set(statuses) <= {422, 303, 429}, "the rest refused unchecked (429, 303)"
    page = new_agent(app.test_client()).log_in(SOPHIE.numero, SOPHIE.pin)
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    assert len(events("lockout")) == 1


def test_six_simultaneous_right_pins_never_lock_the_account(app, checks, new_agent):
    """Issue 20: a right PIN must never lock an account, however many arrive at once."""
    statuses = simultaneous_logins(app, new_agent, [SOPHIE.pin] * 6)
    assert statuses.count(303) >= 5 and set(statuses) <= {303, 429}
    assert limits.LOGIN_LOCKOUT.attempts(SOPHIE.compact_numero) == 0
    assert events("lockout") == []
    assert "Bienvenue" in new_agent(app.test_client()).log_in(SOPHIE.numero, SOPHIE.pin).text


def test_logout_revokes_the_session_on_the_server(agent, app):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    copied = agent.client.get_cookie("cgos_session").value
    page = agent.post(
        "/deconnexion",
        agent.page.soup.select_one("form.logout input")
        and {"csrf_token": agent.page.soup.select_one("form.logout input")["value"]},
    )
    assert "Vous êtes déconnecté" in page.text
    thief = app.test_client()
    thief.set_cookie("cgos_session", copied, domain="localhost")
    assert thief.get("/espace-agent/").status_code == 303
    assert db.session.scalar(db.select(AuthSession)).revoked_at is not None


def test_an_idle_session_expires_after_twenty_minutes(clock, agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert agent.client.get("/espace-agent/").status_code == 200
    clock.shift(timedelta(minutes=20, microseconds=1))
    response = agent.client.get("/espace-agent/", follow_redirects=True)
    assert "Votre session a expiré" in response.get_data(as_text=True)


def test_an_agent_back_after_an_hour_is_told_the_session_expired(clock, agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    clock.shift(timedelta(minutes=65))
    response = agent.client.get("/espace-agent/", follow_redirects=True)
    assert "Votre session a expiré après une période" in response.get_data(as_text=True)


def test_a_logged_in_agent_visiting_login_goes_home(agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert agent.client.get("/").headers["Location"].endswith("/espace-agent/")


def test_events_never_hold_secrets(agent):
    agent.log_in(SOPHIE.numero, "111111")
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    for event in db.session.scalars(db.select(SecurityEvent)):
        assert "111111" not in (event.detail or "") and SOPHIE.pin not in (event.detail or "")


def test_the_ways_to_mot_de_passe_oublie_carry_the_numero_already_typed(agent):
    """Issue 22, item 4: the lockout, the legacy notice and the « Mot de passe oublié ? » link keep the numéro."""
    page = agent.log_in(SOPHIE.numero, "111111")
    link = page.main.find("a", string="Mot de passe oublié ?")["href"]
    assert link == "/mot-de-passe-oublie?numero=29088361J"
    for _ in range(4):
        page = agent.log_in(SOPHIE.numero, "111111")
    assert page.soup.h1.get_text(strip=True) == "Renvoi du mot de passe"
    assert page.soup.find(id="numero")["value"] == "29088361 J", "the lockout page has the numéro typed"
