"""Logging a delegation staff member in, both factors: the one helper of view tests and its browser twin."""

from flask import has_app_context

from cgos.backoffice import totp
from cgos.extensions import db
from cgos.models import DelegationStaff, utcnow
from tests_support.personas import BRETAGNE_STAFF, DEMO_TOTP_SECRET, StaffPersona


def current_code(secret: str = DEMO_TOTP_SECRET, email: str = BRETAGNE_STAFF.email) -> str:
    """The code the staff's authenticator shows now, usable once.

    A test may log the same staff in twice within 30 seconds, where a person
    would wait for the next code: the step already used is forgotten first
    (the replay rule has its own tests in tests/security/test_staff_attacks.py).
    """
    if has_app_context():
        staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
        if staff is not None and staff.totp_last_step is not None:
            staff.totp_last_step = None
            db.session.commit()
    return totp.code_at(secret, utcnow())


def password_step(person, staff: StaffPersona = BRETAGNE_STAFF, **typed):
    """The staff login's first step as a browser without JavaScript sends it (a conftest `Agent` driver).

    `typed` replaces what is typed (`password="wrong"`); returns the page it leads to.
    """
    person.get("/delegation")
    return person.submit("/delegation", {**staff.credentials, **typed})


def log_in_staff(person, staff: StaffPersona = BRETAGNE_STAFF, **typed):
    """Log in to the back office, password then the current code (a conftest `Agent` driver).

    Returns the page after « Valider », or the password step's page when the password is refused.
    """
    page = password_step(person, staff, **typed)
    if page.soup.find("input", attrs={"name": "code"}) is None:
        return page
    email = typed.get("email", staff.email)
    return person.submit(page.main.select_one("form")["action"], {"code": current_code(staff.totp_secret, email)})


def log_in_staff_in_browser(page, staff: StaffPersona = BRETAGNE_STAFF) -> None:
    """Log in to the back office in Playwright: the password, then « Code de vérification » and « Valider »."""
    page.goto("/delegation")
    page.get_by_label("Adresse mail").fill(staff.email)
    page.get_by_label("Mot de passe").fill(staff.password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Code de vérification").fill(current_code(staff.totp_secret, staff.email))
    page.get_by_role("button", name="Valider").click()
