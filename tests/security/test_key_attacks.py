"""Attacks on the keys that seal the secrets the portal must read back (staff TOTP secrets, queued
mails' PINs and links): rotating a key must never lock the back office nor lose a mail (N4)."""

import base64
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cgos import create_app
from cgos.backoffice import second_factor, totp
from cgos.extensions import db
from cgos.mail import open_mail, send_pending
from cgos.models import OutboundMail, SecurityEvent, StaffRecoveryCode
from cgos.production import UnsafeConfiguration
from tests_support.backends import BASE_CONFIG
from tests_support.factories import staff_row
from tests_support.flows import request_provisional_password
from tests_support.personas import BRETAGNE_STAFF, DEMO_TOTP_SECRET
from tests_support.staff import log_in_staff

# What the demo data was sealed with: the tests' SECRET_KEY (MAIL_SECRET_KEY and TOTP_SECRET_KEYS unset).
OLD = BASE_CONFIG["SECRET_KEY"]
NEW_TOTP = "new totp key material " + "t" * 40
NEW_MAIL = "new mail key material " + "m" * 40
ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "PRODUCTION": True,
    "WORKERS": 1,
    "SECRET_KEY": "s" * 64,
    "PASSWORD_PEPPER": BASE_CONFIG["PASSWORD_PEPPER"],
    "SESSION_COOKIE_SECURE": True,
    "MAIL_SERVER": "smtp.example.org",
    "PUBLIC_BASE_URL": "https://espace-agent.cgos.info",
}


def production_start(url: str, **config):
    """Start the portal in production on a test database (as gunicorn does)."""
    return create_app({**BASE_CONFIG, **PRODUCTION, "SQLALCHEMY_DATABASE_URI": url, **config})


def logged_in(page) -> bool:
    """Whether the page is the back office of a logged-in staff member."""
    return page.status == 200 and page.soup.select_one("form.logout") is not None


def staff_events(kind: str) -> int:
    """How many audit rows of this kind were recorded."""
    return db.session.scalar(db.select(db.func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == kind))


def rotate(app, *args):
    """`flask --app app keys rotate`."""
    return app.test_cli_runner().invoke(args=["keys", "rotate", *args])


def queued_mail() -> OutboundMail:
    """The one mail waiting in the queue."""
    return db.session.scalar(
        db.select(OutboundMail).where(OutboundMail.sent_at.is_(None)).execution_options(populate_existing=True)
    )


def test_staff_still_log_in_when_the_mail_key_changes_and_the_old_one_is_listed(app, agent):
    """The review's proof: MAIL_SECRET_KEY set to a new value, the staff's right code gave a 500."""
    app.config.update(MAIL_SECRET_KEY=NEW_MAIL, TOTP_SECRET_KEYS=[NEW_TOTP, OLD])
    assert logged_in(log_in_staff(agent))
    assert staff_events("login_success") == 1


def test_an_unreadable_totp_secret_is_a_wrong_code_and_an_error_log_not_a_500(app, agent, caplog):
    """A key changed with the old one dropped: no 500, no session, the operator told; a recovery code still works."""
    staff = staff_row(fresh=True)
    sealed = staff.totp_secret_sealed
    recovery = totp.new_recovery_codes()[0]
    db.session.add(StaffRecoveryCode(staff_id=staff.id, digest=second_factor.recovery_digest(recovery)))
    db.session.commit()
    app.config.update(MAIL_SECRET_KEY=NEW_MAIL)
    caplog.set_level(logging.ERROR, logger="cgos")

    page = log_in_staff(agent)
    assert page.status == 422 and not logged_in(page)
    assert "Le code de vérification est incorrect" in page.text
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage() == (
        f"TOTP secret unreadable for staff {staff.id}: run keys rotate (listing its key) or staff reset-2fa"
    )
    assert DEMO_TOTP_SECRET not in caplog.text
    assert staff_row(fresh=True).totp_secret_sealed == sealed, "the secret is left alone for `keys rotate`"
    assert staff_events("second_factor_failure") == 1 and staff_events("login_success") == 0

    page = agent.submit("/delegation/verification", {"code": recovery})
    assert logged_in(page)


def test_rotation_then_dropping_the_old_key_keeps_staff_and_queued_mails_working(mail_app, smtp, new_agent):
    request_provisional_password(new_agent(mail_app))
    mail = queued_mail()
    sealed_mail, sealed_totp = mail.sealed_secrets, staff_row(fresh=True).totp_secret_sealed
    mail_app.config.update(MAIL_SECRET_KEY=[NEW_MAIL, OLD], TOTP_SECRET_KEYS=[NEW_TOTP, OLD])

    result = rotate(mail_app)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Secrets TOTP du personnel : 1 rechiffré(s) avec la clé la plus récente, 0 illisible(s).",
        "Mails en attente : 1 rechiffré(s) avec la clé la plus récente, 0 illisible(s).",
    ]
    assert queued_mail().sealed_secrets != sealed_mail and staff_row(fresh=True).totp_secret_sealed != sealed_totp

    mail_app.config.update(MAIL_SECRET_KEY=NEW_MAIL, TOTP_SECRET_KEYS=[NEW_TOTP])
    assert logged_in(log_in_staff(new_agent(mail_app)))
    assert send_pending() == (1, 0)
    text = smtp.inbox.messages[0].get_body(("plain",)).get_content()
    assert re.search(r"^Mot de passe provisoire : \d{6}\r?$", text, re.M)


def test_rotating_twice_is_harmless(app):
    app.config.update(TOTP_SECRET_KEYS=[NEW_TOTP, OLD])
    assert rotate(app).exit_code == 0
    app.config.update(TOTP_SECRET_KEYS=[NEW_TOTP])
    result = rotate(app)
    assert result.exit_code == 0
    assert "Secrets TOTP du personnel : 1 rechiffré(s)" in result.output
    assert second_factor.unseal(staff_row(fresh=True).totp_secret_sealed) == DEMO_TOTP_SECRET


def test_rotate_reports_unreadable_secrets_without_printing_them_and_leaves_them_alone(mail_app, new_agent):
    request_provisional_password(new_agent(mail_app))
    mail, staff = queued_mail(), staff_row(fresh=True)
    sealed_mail, sealed_totp = mail.sealed_secrets, staff.totp_secret_sealed
    mail_app.config.update(MAIL_SECRET_KEY=NEW_MAIL, TOTP_SECRET_KEYS=[NEW_TOTP])

    result = rotate(mail_app)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Secrets TOTP du personnel : 0 rechiffré(s) avec la clé la plus récente, 1 illisible(s).",
        "Mails en attente : 0 rechiffré(s) avec la clé la plus récente, 1 illisible(s).",
        f"Aucune clé ne lit les secrets TOTP du personnel n° {staff.id} ({BRETAGNE_STAFF.email}) : ajoutez à "
        "TOTP_SECRET_KEYS la clé qui les a chiffrés, ou réinitialisez leur double authentification "
        "(staff reset-2fa <adresse>).",
        f"Aucune clé ne lit les secrets des mails n° {mail.id} : ajoutez à MAIL_SECRET_KEY la clé qui les a "
        "chiffrés, ou abandonnez ces mails (keys rotate --drop-unreadable-mails).",
    ]
    assert DEMO_TOTP_SECRET not in result.output
    assert queued_mail().sealed_secrets == sealed_mail and staff_row(fresh=True).totp_secret_sealed == sealed_totp


def test_a_mail_whose_key_is_lost_can_be_dropped_so_production_starts_again(mail_app, new_agent):
    request_provisional_password(new_agent(mail_app))
    mail_app.config.update(MAIL_SECRET_KEY=NEW_MAIL, TOTP_SECRET_KEYS=[NEW_TOTP, OLD])
    result = rotate(mail_app, "--drop-unreadable-mails")
    assert result.exit_code == 0, result.output
    assert "Mails en attente : 0 rechiffré(s) avec la clé la plus récente, 1 illisible(s) abandonné(s)." in (
        result.output
    )
    assert queued_mail() is None
    url = mail_app.config["SQLALCHEMY_DATABASE_URI"]
    assert production_start(url, TOTP_SECRET_KEYS=[NEW_TOTP, OLD], MAIL_SECRET_KEY=NEW_MAIL).config["PRODUCTION"]


def test_the_old_key_listed_still_opens_what_it_sealed(app):
    sealed = second_factor.seal("SECRETSEALEDWITHOLD")
    app.config.update(TOTP_SECRET_KEYS=[NEW_TOTP, OLD])
    assert second_factor.unseal(sealed) == "SECRETSEALEDWITHOLD"
    resealed = second_factor.seal("NEWSECRET")
    app.config.update(TOTP_SECRET_KEYS=[NEW_TOTP])
    assert second_factor.unseal(resealed) == "NEWSECRET", "new secrets are sealed with the newest key"
    with pytest.raises(InvalidToken):
        second_factor.unseal(sealed)


def sealed_before_n4(material: str, purpose: bytes, value: bytes) -> str:
    """A value sealed as the code before TOTP_SECRET_KEYS did: one Fernet key, HKDF of one string."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(value).decode()


def test_secrets_sealed_before_the_key_settings_stay_readable(app):
    """`make run`, the demo data and existing deployments: nothing to set, nothing to rotate."""
    old_totp = sealed_before_n4(OLD, b"cgos staff totp secrets", b"OLDSECRET")
    assert second_factor.unseal(old_totp) == "OLDSECRET"
    app.config.update(MAIL_SECRET_KEY="plain mail key")
    old_mail = sealed_before_n4("plain mail key", b"cgos outbound mail secrets", b'{"[secret:pin:0]": "123456"}')
    opened = open_mail(OutboundMail(text_body="PIN : [secret:pin:0]", sealed_secrets=old_mail))
    assert opened.text_body == "PIN : 123456"
    assert second_factor.unseal(sealed_before_n4("plain mail key", b"cgos staff totp secrets", b"X")) == "X"
    app.config.update(MAIL_SECRET_KEY=["newer mail key", "plain mail key"])
    assert open_mail(OutboundMail(text_body="[secret:pin:0]", sealed_secrets=old_mail)).text_body == "123456"


def test_production_refuses_to_start_with_secrets_no_key_can_read(app, new_agent):
    request_provisional_password(new_agent(app))
    url, staff_id, mail_id = app.config["SQLALCHEMY_DATABASE_URI"], staff_row(fresh=True).id, queued_mail().id
    db.session.remove()

    with pytest.raises(UnsafeConfiguration) as refused:
        production_start(url)
    message = str(refused.value)
    assert f"the TOTP secret of staff {staff_id} cannot be read by any key of TOTP_SECRET_KEYS" in message
    assert f"the secrets of queued mail {mail_id} cannot be read by any key of MAIL_SECRET_KEY" in message
    assert DEMO_TOTP_SECRET not in message

    started = production_start(url, TOTP_SECRET_KEYS=[NEW_TOTP, OLD], MAIL_SECRET_KEY=[NEW_MAIL, OLD])
    assert started.config["PRODUCTION"]


def test_production_refuses_a_key_setting_that_is_not_a_list_of_strings(tmp_path):
    with pytest.raises(UnsafeConfiguration, match="TOTP_SECRET_KEYS must be a JSON list of strings"):
        production_start(f"sqlite:///{tmp_path}/x.sqlite3", TOTP_SECRET_KEYS=[1, 2])


def test_keys_rotate_still_runs_in_production_where_the_web_start_is_refused(app):
    """The old key lost: gunicorn refuses to start, and the commands that repair it still run, with the same settings."""
    url, staff_id = app.config["SQLALCHEMY_DATABASE_URI"], staff_row(fresh=True).id
    db.session.remove()
    with pytest.raises(UnsafeConfiguration):
        production_start(url, TOTP_SECRET_KEYS=[NEW_TOTP])
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")} | {
        "FLASK_PRODUCTION": "true",
        "FLASK_SECRET_KEY": PRODUCTION["SECRET_KEY"],
        "FLASK_PASSWORD_PEPPER": PRODUCTION["PASSWORD_PEPPER"],
        "FLASK_MAIL_SERVER": PRODUCTION["MAIL_SERVER"],
        "FLASK_PUBLIC_BASE_URL": PRODUCTION["PUBLIC_BASE_URL"],
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
        "FLASK_TOTP_SECRET_KEYS": f'["{NEW_TOTP}"]',
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "keys", "rotate"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Secrets TOTP du personnel : 0 rechiffré(s) avec la clé la plus récente, 1 illisible(s)." in result.stdout
    assert result.stderr.startswith(f"Aucune clé ne lit les secrets TOTP du personnel n° {staff_id} ")
    assert "Traceback" not in result.stderr and DEMO_TOTP_SECRET not in result.stdout + result.stderr
