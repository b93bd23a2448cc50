"""Attacks on staff accounts, which see a whole region's personal data: the second factor, its replay, the audit."""

import json
import logging
import threading
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from cgos.backoffice import second_factor, totp
from cgos.credentials import limits
from cgos.extensions import db
from cgos.models import (
    DelegationStaff,
    FlowState,
    MailChangeRequest,
    OutboundMail,
    SecurityEvent,
    StaffRecoveryCode,
)
from tests_support.factories import SAINT_BRIEUC_CH, add_questionnaire, add_staff, agent_row, staff_row
from tests_support.personas import BRETAGNE_STAFF, DEMO_TOTP_SECRET, ILE_DE_FRANCE_STAFF, NEWCOMER_STAFF, SOPHIE
from tests_support.staff import current_code, log_in_staff, password_step

NOW = datetime(2026, 11, 30, 9, 0, 15, tzinfo=timezone.utc)
PDF = b"%PDF-1.4\n%%EOF\n"


def add_recovery_codes(staff: DelegationStaff) -> list[str]:
    """Give the staff member two recovery codes, as enrolment does; the codes in clear."""
    codes = totp.new_recovery_codes()[:2]
    db.session.add_all(StaffRecoveryCode(staff_id=staff.id, digest=second_factor.recovery_digest(c)) for c in codes)
    db.session.commit()
    return codes


def sophies_request(app) -> MailChangeRequest:
    """A pending Bretagne questionnaire for Sophie BERNARD, with its payslip on disk."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bulletin.pdf").write_bytes(PDF)
    return add_questionnaire(
        agent_row(SOPHIE),
        place=SAINT_BRIEUC_CH,
        new_email="sophie.b@example.org",
        last_name="Bernard",
        first_name="Sophie",
        payslip_path="bulletin.pdf",
        payslip_size=len(PDF),
    )


def test_password_alone_does_not_open_back_office(agent, app):
    item = sophies_request(app)
    page = password_step(agent)
    assert page.response.request.path == "/delegation/verification"
    for path in ["/delegation/demandes", f"/delegation/demandes/{item.id}", f"/delegation/demandes/{item.id}/bulletin"]:
        response = agent.client.get(path)
        assert response.status_code == 303 and response.headers["Location"].endswith("/delegation")
    assert not page.soup.find("header").find("button", string="Se déconnecter")
    assert not db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == "login_success")).all()


def test_replayed_totp_code_refused(clock, agent, new_agent, app):
    """A code read over a shoulder or from a log, typed again within its 30 seconds, opens nothing."""
    clock.move_to(NOW)
    code = totp.code_at(DEMO_TOTP_SECRET, NOW)
    password_step(agent)
    agent.submit("/delegation/verification", {"code": code})
    assert agent.client.get("/delegation/demandes").status_code == 200
    thief = new_agent(app)
    password_step(thief)
    page = thief.submit("/delegation/verification", {"code": code})
    assert page.status == 422 and thief.client.get("/delegation/demandes").status_code == 303


def test_simultaneous_submissions_of_one_code_open_one_session(clock, app, new_agent):
    clock.move_to(NOW)
    code = totp.code_at(DEMO_TOTP_SECRET, NOW)
    people = [new_agent(app) for _ in range(3)]
    for person in people:
        password_step(person)
    forms = [{**person.page.form_data(), "code": code} for person in people]
    statuses = []
    threads = [
        threading.Thread(target=lambda p=p, f=f: statuses.append(p.post("/delegation/verification", f).status))
        for p, f in zip(people, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    opened = [p for p in people if p.client.get("/delegation/demandes").status_code == 200]
    assert len(opened) == 1


def test_second_factor_guesses_count_toward_the_staff_lockout(agent):
    """An attacker with the password gets five guesses at the code per window, not five per password."""
    for _ in range(3):
        password_step(agent)
        for _ in range(2):
            agent.submit("/delegation/verification", {"code": "000000"})
    page = password_step(agent)
    assert page.status == 429
    assert agent.client.get("/delegation/demandes").status_code == 303


def test_password_alone_cannot_enrol_a_new_phone(agent):
    """Re-enrolling would replace the staff's authenticator with the attacker's."""
    password_step(agent)
    response = agent.client.get("/delegation/activation")
    assert response.status_code == 303 and response.headers["Location"].endswith("/delegation/verification")
    response = agent.client.post("/delegation/activation", data={"code": "123456"})
    assert response.status_code in (303, 400)
    assert staff_row().totp_secret_sealed is not None


def test_half_logged_state_is_bound_to_the_browser(agent, new_agent, app):
    password_step(agent)
    other = new_agent(app)
    response = other.client.get("/delegation/verification")
    assert response.status_code == 303 and response.headers["Location"].endswith("/delegation")
    assert db.session.scalar(db.select(db.func.count()).select_from(FlowState)) == 1


def test_totp_secret_is_not_stored_in_clear(app):
    sealed = staff_row().totp_secret_sealed
    assert DEMO_TOTP_SECRET not in sealed and DEMO_TOTP_SECRET.lower() not in sealed.lower()


def test_views_of_personal_data_are_recorded_with_the_staff_id(agent, app, caplog):
    item = sophies_request(app)
    log_in_staff(agent)
    caplog.set_level(logging.INFO, logger="cgos.security")
    caplog.clear()
    assert agent.get(f"/delegation/demandes/{item.id}").status == 200
    assert agent.client.get(f"/delegation/demandes/{item.id}/bulletin").data == PDF
    rows = db.session.scalars(
        db.select(SecurityEvent).where(SecurityEvent.kind.in_(["personal_data_viewed", "payslip_downloaded"]))
    ).all()
    assert {(r.kind, r.staff_id, r.agent_id, r.mail_change_request_id, r.registration_id, r.detail) for r in rows} == {
        ("personal_data_viewed", staff_row().id, item.agent_id, item.id, None, None),
        ("payslip_downloaded", staff_row().id, item.agent_id, item.id, None, None),
    }
    logged = [json.loads(line.split(" cgos.security ", 1)[1]) for line in security_log_lines(caplog)]
    assert logged == [
        {"event": kind, "agent": item.agent_id, "staff": staff_row().id, "mail_change_request_id": item.id}
        for kind in ("personal_data_viewed", "payslip_downloaded")
    ]
    page = agent.get(f"/delegation/personnel/{staff_row().id}/historique")
    text = page.main.get_text(" ", strip=True)
    assert "Consultation de données personnelles" in text and "Sophie BERNARD (29088361 J)" in text
    subjects = [row.select("td")[3].get_text(strip=True) for row in page.main.select("tbody tr")]
    assert subjects.count(f"Demande n° {item.id}") == 2


def test_another_delegations_staff_history_not_reachable(agent, app, new_agent):
    """Not by id, not from the list: a lead reads their own delegation's staff only."""
    other = add_staff(ILE_DE_FRANCE_STAFF, lead=True)
    log_in_staff(new_agent(app), ILE_DE_FRANCE_STAFF)
    log_in_staff(agent)
    assert agent.get(f"/delegation/personnel/{other.id}/historique").status == 404
    assert "delegation.idf" not in agent.get("/delegation/personnel").text


def test_second_factor_guesses_stop_at_the_daily_cap_until_a_recovery_code(make_app, new_agent):
    """N3: five codes per window forever made 480 guesses a day; now 3 here (10 by default), then recovery codes only."""
    app = make_app(SECOND_FACTOR_DAILY_LIMIT="3 per day", LOGIN_LOCKOUT_LIMIT="100 per 15 minutes")
    with app.app_context():
        attacker = new_agent(app)
        for _ in range(3):
            password_step(attacker)
            page = attacker.submit("/delegation/verification", {"code": "000000"})
        assert "seul un code de secours est encore accepté" in page.text
        staff = new_agent(app)
        password_step(staff)
        page = staff.submit("/delegation/verification", {"code": current_code()})
        assert staff.client.get("/delegation/demandes").status_code == 303, (
            "the right authenticator code is refused too"
        )
        assert "seul un code de secours est encore accepté" in page.text
        codes = add_recovery_codes(staff_row())
        page = staff.submit("/delegation/verification", {"code": codes[0]})
        assert staff.client.get("/delegation/demandes").status_code == 200


def test_staff_reset_2fa_lifts_the_daily_cap_of_codes(make_app, new_agent):
    app = make_app(SECOND_FACTOR_DAILY_LIMIT="1 per day")
    with app.app_context():
        attacker = new_agent(app)
        password_step(attacker)
        attacker.submit("/delegation/verification", {"code": "000000"})
        assert limits.SECOND_FACTOR_DAILY.reached(BRETAGNE_STAFF.email)
        app.test_cli_runner().invoke(args=["staff", "reset-2fa", BRETAGNE_STAFF.email])
        assert not limits.SECOND_FACTOR_DAILY.reached(BRETAGNE_STAFF.email)


def test_a_wrong_code_after_the_right_password_is_mailed_to_the_staff_member(agent):
    """N3: the staff member learns that someone holds the password."""
    password_step(agent)
    agent.submit("/delegation/verification", {"code": "000000"})
    [mail] = db.session.scalars(db.select(OutboundMail).where(OutboundMail.recipient == BRETAGNE_STAFF.email)).all()
    assert "code de vérification saisi était erroné" in mail.text_body
    assert "prévenez sans attendre le responsable de votre délégation" in mail.text_body


# N8: a staff reason is typed text; it must not forge lines in the security log.

FORGED_LINE = "2026-12-05 18:00:00,000 INFO cgos.security login_success agent=1 staff=- detail=forged"


def security_log_lines(caplog) -> list[str]:
    """The cgos.security records as the portal's handler writes them (one string per record)."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    return [formatter.format(record) for record in caplog.records if record.name == "cgos.security"]


def test_a_reason_with_line_breaks_cannot_forge_security_log_lines(agent, app, caplog):
    reason = f"motif\n{FORGED_LINE}\r\x1b[2K\u2028{FORGED_LINE}"
    sophie = agent_row(SOPHIE)
    log_in_staff(agent)
    agent.get(f"/delegation/agents/{sophie.id}/desactiver")
    caplog.clear()
    caplog.set_level(logging.INFO, logger="cgos.security")
    page = agent.submit(
        f"/delegation/agents/{sophie.id}/desactiver", {"reason": reason}, selector="form[method=post]", follow=False
    )
    assert page.status == 303
    (line,) = security_log_lines(caplog)
    assert len(line.splitlines()) == 1
    assert not [c for c in line if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    assert f"motif\\n{FORGED_LINE}\\r\\u001b[2K\\u2028{FORGED_LINE}" in line
    logged = json.loads(line.split(" cgos.security ", 1)[1])
    assert logged == {"event": "account_disabled", "agent": sophie.id, "staff": staff_row().id, "detail": reason}
    (row,) = db.session.scalars(db.select(SecurityEvent).where(SecurityEvent.kind == "account_disabled"))
    assert row.detail == reason


# I6: two browsers holding the password of a staff member never enrolled, confirming at once.


def test_two_simultaneous_enrolments_enrol_one_phone(app, new_agent, monkeypatch):
    """Both browsers pass « not enrolled yet » before either enrols: one wins, the other is refused."""
    add_staff(NEWCOMER_STAFF)
    browsers = [new_agent(app) for _ in range(2)]
    secrets = []
    for browser in browsers:
        page = password_step(browser, NEWCOMER_STAFF)
        assert page.response.request.path == "/delegation/activation"
        secrets.append(page.main.select_one("code.secret").get_text().replace(" ", ""))
    both_checked = threading.Barrier(2, timeout=10)
    accepted_step = totp.accepted_step

    def accepted_together(*args):
        """The code checks of the two enrolments end together, before either enrols."""
        step = accepted_step(*args)
        both_checked.wait()
        return step

    monkeypatch.setattr(totp, "accepted_step", accepted_together)
    forms = [
        {**browser.page.form_data(), "code": totp.code_at(secret, datetime.now(timezone.utc))}
        for browser, secret in zip(browsers, secrets, strict=True)
    ]
    threads = [
        threading.Thread(target=browser.post, args=("/delegation/activation", form))
        for browser, form in zip(browsers, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    opened = [browser.client.get("/delegation/demandes").status_code == 200 for browser in browsers]
    assert sorted(opened) == [False, True]
    winner, loser = (0, 1) if opened[0] else (1, 0)
    assert browsers[loser].page.response.request.path == "/delegation/verification"
    assert "vient d'être activée depuis un autre navigateur" in browsers[loser].page.text
    staff = staff_row(NEWCOMER_STAFF)
    assert second_factor.unseal(staff.totp_secret_sealed) == secrets[winner]
    codes = [code.get_text(strip=True) for code in browsers[winner].page.main.select("li code")]
    stored = db.session.scalars(db.select(StaffRecoveryCode.digest).where(StaffRecoveryCode.staff_id == staff.id))
    assert len(codes) == 10 and set(stored) == {second_factor.recovery_digest(code) for code in codes}
    kinds = db.session.scalars(db.select(SecurityEvent.kind).where(SecurityEvent.staff_id == staff.id)).all()
    assert kinds.count("second_factor_enrolled") == 1 and kinds.count("second_factor_enrolment_refused") == 1
