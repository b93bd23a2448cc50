"""Attacks from the security review's « Hardening » lines (L3, L6, L7, L9, L10, L12, I2, I4), each stopped."""

import base64
import binascii
import io
import os
import re
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path

import pytest

from cgos import create_app
from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import (
    Agent,
    AuthSession,
    FlowState,
    MailChangeRequest,
    OutboundMail,
    Registration,
    utcnow,
)
from cgos.production import UnsafeConfiguration
from tests_support.factories import agent_row
from tests_support.flows import answer_questionnaire, link_in, questionnaire_fields, register
from tests_support.personas import SOPHIE
from tests_support.staff import log_in_staff

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n%%EOF\n"
PUBLIC = "https://espace-agent.cgos.info"
PRODUCTION = {
    "PRODUCTION": True,
    "WORKERS": 1,
    "SECRET_KEY": "s" * 64,
    "PASSWORD_PEPPER": "p" * 64,
    "DEV_MAILBOX": False,
    "SESSION_COOKIE_SECURE": True,
    "MAIL_SERVER": "smtp.example.org",
    "PUBLIC_BASE_URL": PUBLIC,
}


def last_mail() -> OutboundMail:
    """The mail queued last."""
    return db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()


# L3: MIME header injection through the payslip file name, and a 500 on download.


def multipart(fields: dict, file_header: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body whose payslip part carries a hand-written Content-Disposition."""
    boundary = "----cgos-attack-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="payslip"; {file_header}\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_payslip_name_with_line_breaks_cannot_inject_mail_headers_or_break_the_download(agent, app, new_agent):
    answer_questionnaire(agent, questionnaire_fields(payslip=None))
    body, content_type = multipart(
        agent.page.form_data(), "filename*=UTF-8''evil%0D%0ABcc%3A%20spy%40attacker-mail.fr%0D%0AX.pdf", PDF
    )
    response = agent.client.post("/questionnaire-adresse-mail/bulletin", data=body, content_type=content_type)
    assert response.status_code == 303
    agent.get("/questionnaire-adresse-mail/verification")
    agent.submit("/questionnaire-adresse-mail/verification")
    request = db.session.scalar(db.select(MailChangeRequest))
    assert request.payslip_filename.endswith(".pdf")
    assert not re.search(r"[\x00-\x1f\x7f:@]", request.payslip_filename), request.payslip_filename
    staff = new_agent(app)
    log_in_staff(staff)
    download = staff.client.get(f"/delegation/demandes/{request.id}/bulletin")
    assert download.status_code == 200 and download.data == PDF
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    assert "no-store" in download.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("evil\r\nBcc: spy@attacker-mail.fr\r\nX.pdf", "evilBcc spyattacker-mail.frX.pdf"),
        ("ﬁche de paie (mars).pdf", "fiche de paie (mars).pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("\r\n", "bulletin.pdf"),
        ("C:\\Users\\anne\\Bulletin été.pdf", "Bulletin été.pdf"),
        ("facture.exe", "facture.pdf"),
        ("x" * 300 + ".pdf", "x" * 60 + ".pdf"),
    ],
)
def test_the_payslip_keeps_a_clean_bounded_display_name(app, sent, kept):
    from werkzeug.datastructures import FileStorage

    from cgos.uploads import check_payslip

    checked, error = check_payslip(FileStorage(io.BytesIO(PDF), filename=sent))
    assert error is None and checked.filename == kept


# L6 and L12: Host-header poisoning, HSTS, cached payslips; I4: unsafe production start-up.


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL is not set"),
        ({"PUBLIC_BASE_URL": "http://espace-agent.cgos.info"}, "PUBLIC_BASE_URL must be an https"),
        ({"DEBUG": True}, "DEBUG is on"),
    ],
)
def test_production_refuses_to_start_without_a_public_https_url_or_with_debug(tmp_path, change, words):
    with pytest.raises(UnsafeConfiguration, match=words):
        create_app({**PRODUCTION, **change, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


@pytest.fixture
def production_app(make_app):
    """The portal under the production configuration, on the test database."""
    # The demo staff's TOTP secret is sealed under the tests' SECRET_KEY: listed, as after a key change.
    app = make_app(**PRODUCTION, SERVER_NAME=None, TESTING=False, TOTP_SECRET_KEYS=["t" * 64, "test-secret-key"])
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_forged_host_is_refused_in_production_and_cannot_poison_a_mail_link(production_app, new_agent):
    forged = production_app.test_client()
    assert forged.get("/mot-de-passe-oublie", base_url="https://evil.example").status_code == 400
    assert forged.get("/", base_url="https://espace-agent.cgos.info.evil.example").status_code == 400
    person = new_agent(production_app.test_client())
    person.client.environ_base["HTTP_REFERER"] = f"{PUBLIC}/mot-de-passe-oublie"
    person.get(f"{PUBLIC}/mot-de-passe-oublie")
    assert person.page.status == 200
    data = {**person.page.form_data(), **SOPHIE.identity}
    refused = person.client.post(
        "/mot-de-passe-oublie",
        data=data,
        base_url="https://evil.example",
        headers={"Referer": "https://evil.example/mot-de-passe-oublie"},
    )
    assert refused.status_code == 400
    person.post(f"{PUBLIC}/mot-de-passe-oublie", data)
    person.get(f"{PUBLIC}/mot-de-passe-oublie/adresse-mail")
    person.post(
        f"{PUBLIC}/mot-de-passe-oublie/adresse-mail",
        {
            **person.page.form_data(),
            "email": SOPHIE.email,
            "email_confirmation": SOPHIE.email,
        },
    )
    links = re.findall(r"^https?://\S+$", open_mail(last_mail()).text_body, re.M)
    assert links and all(link.startswith(PUBLIC + "/") for link in links)


def test_production_sends_hsts_and_development_does_not(production_app, client):
    response = production_app.test_client().get("/", base_url=PUBLIC)
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_nothing_but_static_assets_may_be_cached(client):
    assert "no-store" in client.get("/healthz").headers["Cache-Control"]
    page = client.get("/")
    assert "no-store" in page.headers["Cache-Control"]
    script = re.search(r'src="(/static/[^"]+)"', page.get_data(as_text=True)).group(1)
    assert "no-store" not in client.get(script).headers.get("Cache-Control", "")


def test_setup_demo_refuses_a_production_configuration(production_app):
    staff_before = db.session.execute(db.text("select count(*) from delegation_staff")).scalar()
    db.session.execute(db.text("delete from delegation_staff"))
    db.session.commit()
    result = production_app.test_cli_runner().invoke(args=["setup", "--demo"])
    assert result.exit_code != 0 and "production" in result.output
    assert staff_before and db.session.execute(db.text("select count(*) from delegation_staff")).scalar() == 0


def test_a_cli_command_in_production_never_invents_a_pepper(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")} | {
        "FLASK_PRODUCTION": "true",
        "FLASK_SECRET_KEY": "s" * 64,
        "FLASK_MAIL_SERVER": "smtp.example.org",
        "FLASK_PUBLIC_BASE_URL": PUBLIC,
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3",
    }
    pepper = ROOT / "instance" / "pepper"
    before = pepper.stat().st_mtime_ns if pepper.exists() else None
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "setup"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "PASSWORD_PEPPER is not set" in result.stderr
    assert (pepper.stat().st_mtime_ns if pepper.exists() else None) == before
    assert not (tmp_path / "x.sqlite3").exists() or (tmp_path / "x.sqlite3").stat().st_size == 0


# L7: no absolute session lifetime.


def test_a_session_older_than_twelve_hours_is_revoked_even_when_active(agent):
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert agent.get("/espace-agent/").status == 200
    auth_session = db.session.scalar(db.select(AuthSession).where(AuthSession.revoked_at.is_(None)))
    auth_session.created_at = utcnow() - timedelta(hours=13)
    auth_session.last_seen_at = utcnow()
    db.session.commit()
    response = agent.client.get("/espace-agent/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    page = agent.get("/")
    assert "Votre session a expiré : par sécurité, connectez-vous de nouveau." in page.text
    db.session.refresh(auth_session)
    assert auth_session.revoked_at is not None
    assert agent.client.get("/espace-agent/").status_code == 303


# L9: mail change without re-authentication, and personal data in the confirmation URL.


def sophie_edits_her_mail(agent, **fields):
    """Logged in as Sophie, send « Mes données » with a new address."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    agent.get("/espace-agent/mes-donnees")
    return agent.submit("/espace-agent/mes-donnees", {"email": "new.addr@attacker-mail.fr", **fields})


def test_a_logged_in_session_without_the_pin_cannot_change_the_mail_address(agent):
    queued = db.session.scalar(db.select(db.func.count(OutboundMail.id)))
    page = sophie_edits_her_mail(agent)
    assert page.status == 422
    assert page.field_error("current_pin") == "Saisissez votre mot de passe actuel."
    page = agent.submit("/espace-agent/mes-donnees", {"email": "new.addr@attacker-mail.fr", "current_pin": "000000"})
    assert page.status == 422 and page.field_error("current_pin") == "Le mot de passe actuel est incorrect."
    sophie = agent_row(SOPHIE)
    assert sophie.pending_email is None and sophie.email == "sophie.bernard@example.org"
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == queued


def test_wrong_current_pins_on_the_mail_change_count_in_the_lockout(make_app, new_agent):
    app = make_app(LOGIN_LOCKOUT_LIMIT="3 per 15 minutes")
    with app.app_context():
        agent = new_agent(app)
        sophie_edits_her_mail(agent, current_pin="000000")
        page = agent.submit(
            "/espace-agent/mes-donnees", {"email": "new.addr@attacker-mail.fr", "current_pin": "000001"}
        )
        assert page.field_error("current_pin") == "Le mot de passe actuel est incorrect."
        # The failure that fills the window ends the session at once: no form is left to guess on.
        page = agent.submit(
            "/espace-agent/mes-donnees", {"email": "new.addr@attacker-mail.fr", "current_pin": "000002"}
        )
        assert "vous n'êtes plus autorisé à vous connecter pendant un certain délai" in page.text
        assert "Bienvenue" not in new_agent(app).log_in(SOPHIE.numero, SOPHIE.pin).text
        assert db.session.scalar(db.select(Agent.pending_email).where(Agent.numero == SOPHIE.compact_numero)) is None
        assert agent.client.get("/espace-agent/mes-donnees").status_code == 303
        db.session.remove()
        db.engine.dispose()


def test_the_mail_change_link_decodes_to_nothing_personal(agent, new_agent, app):
    page = sophie_edits_her_mail(agent, current_pin=SOPHIE.pin)
    assert page.status == 200
    mail = db.session.scalar(db.select(OutboundMail).where(OutboundMail.recipient == "new.addr@attacker-mail.fr"))
    path = link_in(mail)
    token = path.rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    sophie = agent_row(SOPHIE)
    decoded = [token.encode()]
    for piece in token.split("."):
        try:
            raw = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        except (binascii.Error, ValueError):
            continue
        decoded.append(raw)
        try:
            decoded.append(zlib.decompress(raw))
        except zlib.error:
            pass
    for data in decoded:
        # Random bytes may hold an « @ »: look for the addresses themselves, not the character.
        assert b"attacker-mail" not in data and b"sophie" not in data and b"example.org" not in data
        assert f'"agent":{sophie.id}'.encode() not in data
    assert token not in str(db.session.execute(db.text("select * from agent")).all())
    assert new_agent(app).get(path).status == 200
    db.session.refresh(sophie)
    assert sophie.email == "new.addr@attacker-mail.fr" and sophie.pending_email is None
    assert new_agent(app).get(path).status in (404, 410)


# L10: unconfirmed registrations are never purged.


def test_unconfirmed_registrations_and_their_payslips_are_purged_after_the_link_expires(agent, app, runner):
    register(agent)
    registration = db.session.scalar(db.select(Registration))
    payslip = Path(app.config["UPLOAD_FOLDER"]) / registration.payslip_path
    assert payslip.exists()
    registration.created_at = utcnow() - timedelta(hours=47)
    db.session.commit()
    runner.invoke(args=["uploads", "purge"])
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 1 and payslip.exists()
    registration.created_at = utcnow() - timedelta(hours=73)
    db.session.add(FlowState(id="x" * 64, purpose="test", data={}, expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    result = runner.invoke(args=["uploads", "purge"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
    assert not payslip.exists()
    assert db.session.get(FlowState, "x" * 64) is None


# I2: a registration with anyone's NIR gives a usable account before the delegation checks it.


def confirmed_registration(agent, new_agent, app) -> Registration:
    """Anne registers and follows her link: the agent exists, the delegation has not checked yet."""
    register(agent)
    new_agent(app).get(link_in(last_mail()))
    return db.session.scalar(db.select(Registration))


@pytest.mark.parametrize("flow", ["/premiere-connexion", "/mot-de-passe-oublie"])
def test_an_unverified_registration_cannot_get_a_provisional_password(agent, app, new_agent, flow):
    registration = confirmed_registration(agent, new_agent, app)
    assert registration.agent is not None and registration.status == "pending"
    queued = db.session.scalar(db.select(db.func.count(OutboundMail.id)))
    person = new_agent(app)
    person.get(flow)
    page = person.submit(flow, {"numero": registration.agent.numero, "birth_year": "1991", "birth_month": "3"})
    if page.soup.find("input", attrs={"name": "email_confirmation"}):
        page = person.submit(
            f"{flow}/adresse-mail",
            {"email": "anne.legoff@example.org", "email_confirmation": "anne.legoff@example.org"},
        )
    assert "Votre demande d'inscription est en cours de vérification par votre délégation régionale" in page.text
    assert registration.delegation.phone in page.text
    assert db.session.scalar(db.select(db.func.count(OutboundMail.id))) == queued
    assert db.session.scalar(db.select(Agent.provisional_pin_hash).where(Agent.id == registration.agent_id)) is None


def test_a_verified_registration_gets_its_provisional_password(agent, app, new_agent):
    registration = confirmed_registration(agent, new_agent, app)
    staff = new_agent(app)
    log_in_staff(staff)
    staff.get(f"/delegation/inscriptions/{registration.id}")
    staff.submit(f"/delegation/inscriptions/{registration.id}", {"decision": "verify"})
    person = new_agent(app)
    person.get("/premiere-connexion")
    person.submit(
        "/premiere-connexion", {"numero": registration.agent.numero, "birth_year": "1991", "birth_month": "3"}
    )
    page = person.submit(
        "/premiere-connexion/adresse-mail",
        {"email": "anne.legoff@example.org", "email_confirmation": "anne.legoff@example.org"},
    )
    assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"


# I8: the session cookie has no `__Host-` prefix.


def test_a_secure_session_cookie_cannot_be_set_for_a_parent_domain_or_over_http(make_app):
    response = make_app(SESSION_COOKIE_SECURE=True).test_client().get("/", base_url=PUBLIC)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-cgos_session=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    plain = make_app(SESSION_COOKIE_SECURE=False).test_client().get("/").headers["Set-Cookie"]
    assert plain.startswith("cgos_session=")


# I1: a new login in the same browser leaves the previous server-side session alive.


def test_a_staff_login_in_the_agents_browser_ends_the_agents_session(agent, app, new_agent):
    """The agent's cookie, copied before (a shared hospital computer), opens nothing once staff log in."""
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert agent.get("/espace-agent/").status == 200
    copied = agent.client.get_cookie("cgos_session").value
    log_in_staff(agent)
    assert agent.client.get("/delegation/demandes").status_code == 200
    thief = new_agent(app)
    thief.client.set_cookie("cgos_session", copied, domain="localhost")
    response = thief.client.get("/espace-agent/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    sessions = db.session.scalars(db.select(AuthSession).order_by(AuthSession.created_at)).all()
    assert [(s.agent_id is not None, s.revoked_at is not None) for s in sessions] == [(True, True), (False, False)]
