"""Staff accounts: TOTP with a controlled clock, enrolment, recovery codes, reset-2fa, shorter sessions, Historique."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from cgos.backoffice import second_factor, totp
from cgos.extensions import db
from cgos.models import AuthSession, SecurityEvent, StaffRecoveryCode, utcnow
from tests_support.factories import add_staff, staff_row
from tests_support.personas import BRETAGNE_COLLEAGUE, DEMO_TOTP_SECRET, ILE_DE_FRANCE_STAFF, NEWCOMER_STAFF, SOPHIE
from tests_support.staff import log_in_staff, password_step

# A fixed instant in the middle of a 30-second step.
NOW = datetime(2026, 11, 30, 9, 0, 15, tzinfo=timezone.utc)
STEP = timedelta(seconds=30)


def type_code(person, code: str):
    """« Code de vérification », then « Valider »."""
    return person.submit("/delegation/verification", {"code": code})


def log_out(person):
    """« Se déconnecter » of the back office."""
    token = person.get("/delegation/demandes").soup.select_one("form.logout input")["value"]
    person.post("/delegation/deconnexion", {"csrf_token": token})


# --- The rules, no Flask -----------------------------------------------------------------------


def test_the_current_code_is_accepted_at_its_step():
    assert totp.accepted_step(DEMO_TOTP_SECRET, totp.code_at(DEMO_TOTP_SECRET, NOW), NOW, None) == totp.step_at(NOW)


def test_the_previous_steps_code_is_accepted():
    code = totp.code_at(DEMO_TOTP_SECRET, NOW - STEP)
    assert totp.accepted_step(DEMO_TOTP_SECRET, code, NOW, None) == totp.step_at(NOW) - 1


def test_a_code_two_steps_old_is_refused():
    assert totp.accepted_step(DEMO_TOTP_SECRET, totp.code_at(DEMO_TOTP_SECRET, NOW - 2 * STEP), NOW, None) is None


def test_a_code_of_the_next_step_is_refused():
    assert totp.accepted_step(DEMO_TOTP_SECRET, totp.code_at(DEMO_TOTP_SECRET, NOW + STEP), NOW, None) is None


def test_a_code_of_a_step_already_used_is_refused():
    code = totp.code_at(DEMO_TOTP_SECRET, NOW)
    assert totp.accepted_step(DEMO_TOTP_SECRET, code, NOW, last_step=totp.step_at(NOW)) is None
    previous = totp.code_at(DEMO_TOTP_SECRET, NOW - STEP)
    assert totp.accepted_step(DEMO_TOTP_SECRET, previous, NOW, last_step=totp.step_at(NOW) - 1) is None


def test_the_contract_secret_gives_the_rfc_6238_codes():
    """The same code pyotp (the README's one-liner) computes."""
    import pyotp

    assert totp.code_at(DEMO_TOTP_SECRET, NOW) == pyotp.TOTP(DEMO_TOTP_SECRET).at(NOW)


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(typed):
    assert totp.accepted_step(DEMO_TOTP_SECRET, typed, NOW, None) is None


def test_the_secret_is_shown_by_groups_of_four():
    assert totp.grouped(DEMO_TOTP_SECRET) == "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"


def test_recovery_codes_are_ten_different_random_codes():
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code) for code in codes)
    assert totp.normalise_recovery_code(" abcd-efgh jkLM-npqr ") == "ABCDEFGHJKLMNPQR"


# --- The login's second step -------------------------------------------------------------------


def test_the_code_is_asked_on_its_own_step_with_the_contract_names(either):
    page = password_step(either)
    assert page.response.request.path == "/delegation/verification"
    label = page.soup.find("label", attrs={"for": "code"})
    assert label.find(string=True, recursive=False).strip() == "Code de vérification"
    assert page.main.find("button", string="Valider")
    assert page.soup.find(id="code")["autocomplete"] == "one-time-code"


def test_a_valid_code_opens_the_back_office(clock, either):
    clock.move_to(NOW)
    password_step(either)
    page = type_code(either, totp.code_at(DEMO_TOTP_SECRET, NOW))
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"
    assert staff_row().totp_last_step == totp.step_at(NOW)


def test_the_previous_steps_code_opens_the_back_office(clock, agent):
    clock.move_to(NOW)
    password_step(agent)
    page = type_code(agent, totp.code_at(DEMO_TOTP_SECRET, NOW - STEP))
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"


def test_a_code_two_steps_old_is_refused_with_a_message(clock, either):
    clock.move_to(NOW)
    password_step(either)
    page = type_code(either, totp.code_at(DEMO_TOTP_SECRET, NOW - 2 * STEP))
    assert page.status == 422
    assert page.title.startswith("Erreur : ")
    assert page.field_error("code").startswith("Le code de vérification est incorrect")
    assert either.client.get("/delegation/demandes").status_code == 303


def test_a_code_already_used_is_refused_at_the_next_login(clock, agent):
    clock.move_to(NOW)
    code = totp.code_at(DEMO_TOTP_SECRET, NOW)
    password_step(agent)
    type_code(agent, code)
    log_out(agent)
    password_step(agent)
    assert type_code(agent, code).status == 422
    clock.move_to(NOW + STEP)
    page = type_code(agent, totp.code_at(DEMO_TOTP_SECRET, NOW + STEP))
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"


def test_wrong_codes_count_in_the_staff_lockout(clock, agent):
    clock.move_to(NOW)
    password_step(agent)
    for _ in range(5):
        assert type_code(agent, "000000").status == 422
    page = type_code(agent, totp.code_at(DEMO_TOTP_SECRET, NOW))
    assert page.status == 429 and "Après plusieurs tentatives erronées" in page.error_summary()[0]
    assert agent.client.get("/delegation/demandes").status_code == 303
    kinds = [e.kind for e in db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.staff_id.is_not(None)))]
    assert kinds.count("second_factor_failure") == 5


def test_a_mistyped_password_before_the_right_one_leaves_the_codes_their_budget(clock, agent):
    """The right password takes its own attempt back: four typos and the right password leave one code try."""
    clock.move_to(NOW)
    for _ in range(3):
        password_step(agent, password="mauvais-mot-de-passe")
    password_step(agent)
    assert type_code(agent, "000000").status == 422
    page = type_code(agent, totp.code_at(DEMO_TOTP_SECRET, NOW))
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"


def test_the_half_logged_state_expires_after_five_minutes(clock, agent):
    password_step(agent)
    clock.shift(timedelta(minutes=6))
    page = agent.get("/delegation/verification", follow_redirects=True)
    assert page.response.request.path == "/delegation"
    assert "Votre connexion a expiré" in page.text


# --- Enrolment and recovery codes --------------------------------------------------------------


def enrol(person, clock, now=NOW) -> tuple[str, list[str]]:
    """A newcomer's first login: the secret read off the page, a first code, the recovery codes shown."""
    clock.move_to(now)
    page = password_step(person, NEWCOMER_STAFF)
    secret = page.main.select_one("code.secret").get_text().replace(" ", "")
    page = type_code_at(person, "/delegation/activation", totp.code_at(secret, now))
    codes = [c.get_text(strip=True) for c in page.main.select(".recovery-codes code")]
    return secret, codes


def type_code_at(person, url: str, code: str):
    """Submit the code on the page at `url`."""
    return person.submit(url, {"code": code})


def test_a_newcomer_enrols_at_the_first_login(clock, either, app):
    add_staff(NEWCOMER_STAFF)
    clock.move_to(NOW)
    page = password_step(either, NEWCOMER_STAFF)
    assert page.response.request.path == "/delegation/activation"
    assert page.soup.h1.get_text(strip=True) == "Activer la double authentification"
    svg = page.main.select_one("figure.qr-code svg")
    assert svg is not None and svg["role"] == "img" and svg.get("aria-label")
    assert not page.main.select("script") and not page.main.select("[style]")
    shown = page.main.select_one("code.secret").get_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4}){7}", shown)
    assert page.main.find("button", string="Valider")
    secret = shown.replace(" ", "")

    page = type_code_at(
        either, "/delegation/activation", "123456" if totp.code_at(secret, NOW) != "123456" else "654321"
    )
    assert page.status == 422 and page.field_error("code").startswith("Le code ne correspond pas")
    assert either.client.get("/delegation/demandes").status_code == 303

    page = type_code_at(either, "/delegation/activation", totp.code_at(secret, NOW))
    assert page.soup.h1.get_text(strip=True) == "Vos codes de secours"
    codes = [c.get_text(strip=True) for c in page.main.select(".recovery-codes code")]
    assert len(set(codes)) == 10
    again = either.client.get("/delegation/codes-de-secours")
    assert again.status_code == 303 and again.headers["Location"].endswith("/delegation/demandes"), "shown once"

    staff = staff_row(NEWCOMER_STAFF)
    assert second_factor.unseal(staff.totp_secret_sealed) == secret and secret not in staff.totp_secret_sealed
    digests = db.session.scalars(db.select(StaffRecoveryCode.digest).where(StaffRecoveryCode.staff_id == staff.id))
    stored = " ".join(digests)
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes)
    kinds = [e.kind for e in db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.staff_id == staff.id))]
    assert "second_factor_enrolled" in kinds and "login_success" in kinds


def test_a_recovery_code_opens_the_back_office_once(clock, agent, app):
    add_staff(NEWCOMER_STAFF)
    _, codes = enrol(agent, clock)
    log_out(agent)
    password_step(agent, NEWCOMER_STAFF)
    page = type_code(agent, codes[3].lower().replace("-", " "))
    assert page.soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"
    log_out(agent)
    password_step(agent, NEWCOMER_STAFF)
    assert type_code(agent, codes[3]).status == 422
    assert type_code(agent, codes[4]).soup.h1.get_text(strip=True) == "Délégation régionale Bretagne"
    staff = staff_row(NEWCOMER_STAFF)
    assert second_factor.recovery_codes_left(staff) == 8


# --- flask staff … ----------------------------------------------------------------------------


def test_staff_create_with_lead(runner):
    result = runner.invoke(
        args=["staff", "create", "chef@example.org", "--delegation", "bretagne", "--lead"],
        env={"CGOS_STAFF_PASSWORD": "Un-Mot-De-Passe-Long"},
    )
    assert result.exit_code == 0, result.output
    staff = staff_row("chef@example.org")
    assert staff.lead and not second_factor.is_enrolled(staff)


def test_reset_2fa_forgets_the_second_factor_and_records_it(agent, runner, monkeypatch):
    log_in_staff(agent)
    result = runner.invoke(args=["staff", "reset-2fa", "Delegation.Bretagne@example.org"])
    assert result.exit_code == 0, result.output
    staff = staff_row()
    assert staff.totp_secret_sealed is None and staff.totp_last_step is None
    assert db.session.scalar(db.select(db.func.count()).select_from(StaffRecoveryCode)) == 0
    assert all(s.revoked_at is not None for s in db.session.scalars(db.select(AuthSession)))
    event = db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.kind == "second_factor_reset"))
    assert event.staff_id == staff.id
    assert agent.client.get("/delegation/demandes").status_code == 303
    assert password_step(agent).response.request.path == "/delegation/activation"


def test_reset_2fa_of_an_unknown_address_fails(runner):
    result = runner.invoke(args=["staff", "reset-2fa", "personne@example.org"])
    assert result.exit_code != 0 and "aucun membre du personnel" in result.output


def test_the_demo_staff_is_enrolled_with_the_contract_secret(app):
    staff = staff_row()
    assert second_factor.unseal(staff.totp_secret_sealed) == DEMO_TOTP_SECRET


# --- Shorter staff sessions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idle", "open_"), [(timedelta(minutes=14), True), (timedelta(minutes=16), False)], ids=["14 min", "16 min"]
)
def test_a_staff_session_is_over_after_fifteen_idle_minutes(clock, agent, idle, open_):
    log_in_staff(agent)
    clock.shift(idle)
    response = agent.client.get("/delegation/demandes")
    assert (response.status_code == 200) is open_


def test_a_staff_session_is_over_after_eight_hours_however_active(clock, agent):
    log_in_staff(agent)
    start = utcnow()
    for minutes in range(10, 8 * 60, 10):
        clock.move_to(start + timedelta(minutes=minutes))
        if minutes % 120 == 0:
            assert agent.client.get("/delegation/demandes").status_code == 200
        else:
            agent.client.get("/delegation/demandes")
    clock.move_to(start + timedelta(hours=8, minutes=5))
    response = agent.client.get("/delegation/demandes", follow_redirects=True)
    assert "Votre session a expiré" in response.get_data(as_text=True)


def test_an_agent_keeps_the_longer_session(clock, agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    clock.shift(timedelta(minutes=16))
    assert agent.client.get("/espace-agent/").status_code == 200


# --- Audit and « Historique » ------------------------------------------------------------------


def test_the_lead_reads_the_history_of_the_delegations_staff(either, app, new_agent):
    colleague = add_staff(BRETAGNE_COLLEAGUE)
    log_in_staff(new_agent(app), BRETAGNE_COLLEAGUE)
    log_in_staff(either)
    page = either.get("/delegation/demandes")
    assert page.main.find("a", string="Historique") and page.main.find("a", string="Personnel de la délégation")
    page = either.get("/delegation/personnel")
    link = page.main.find("a", string="Historique de collegue@example.org")
    page = either.get(link["href"])
    assert page.status == 200 and page.soup.h1.get_text(strip=True) == "Historique de collegue@example.org"
    rows = [r.get_text(" ", strip=True) for r in page.main.select("tbody tr")]
    assert rows and "Connexion" in rows[0]
    assert f"/delegation/personnel/{colleague.id}/historique" == link["href"]


def test_a_staff_member_reads_their_own_history_only(agent, app):
    colleague = add_staff(BRETAGNE_COLLEAGUE)
    log_in_staff(agent, BRETAGNE_COLLEAGUE)
    page = agent.get("/delegation/demandes")
    assert page.main.find("a", string="Historique") and not page.main.find("a", string="Personnel de la délégation")
    assert agent.get(f"/delegation/personnel/{colleague.id}/historique").status == 200
    assert agent.get(f"/delegation/personnel/{staff_row().id}/historique").status == 404
    assert agent.get("/delegation/personnel").status == 404


def test_another_delegations_staff_history_is_a_404_even_for_a_lead(agent, app):
    other = add_staff(ILE_DE_FRANCE_STAFF, lead=True)
    log_in_staff(agent)
    assert agent.get(f"/delegation/personnel/{other.id}/historique").status == 404
    assert agent.get("/delegation/personnel/99999/historique").status == 404
    assert "delegation.idf@example.org" not in agent.get("/delegation/personnel").text
