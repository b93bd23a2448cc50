"""Logging a delegation staff member in, both factors: one helper for view tests, one for the browser."""

from flask import has_app_context

from cgos.backoffice import totp
from cgos.extensions import db
from cgos.models import DelegationStaff, utcnow

DEMO_STAFF_EMAIL = "delegation.bretagne@example.org"
DEMO_STAFF_PASSWORD = "Demo-Delegation-2026"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def current_code(secret: str = DEMO_TOTP_SECRET, email: str = DEMO_STAFF_EMAIL) -> str:
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


def log_in_staff(person, email: str = DEMO_STAFF_EMAIL, password: str = DEMO_STAFF_PASSWORD, secret=DEMO_TOTP_SECRET):
    """Log in to the back office as a browser without JavaScript would (a conftest `Agent` driver).

    Returns the page after « Valider » (or the password step's page when the password is refused).
    """
    person.get("/delegation")
    page = person.submit("/delegation", {"email": email, "password": password})
    if page.soup.find("input", attrs={"name": "code"}) is None:
        return page
    return person.submit(page.main.select_one("form")["action"], {"code": current_code(secret, email)})


def log_in_staff_in_browser(
    page, email: str = DEMO_STAFF_EMAIL, password: str = DEMO_STAFF_PASSWORD, secret=DEMO_TOTP_SECRET
):
    """Log in to the back office in Playwright: the password, then « Code de vérification » and « Valider »."""
    page.goto("/delegation")
    page.get_by_label("Adresse mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Code de vérification").fill(current_code(secret, email))
    page.get_by_role("button", name="Valider").click()


def add_staff(email: str, password: str, delegation_code: str, secret: str | None = DEMO_TOTP_SECRET, lead=False):
    """A staff member of a delegation, already enrolled with `secret` (None: enrols at first login)."""
    from cgos.backoffice import second_factor
    from cgos.credentials.hashing import hash_secret
    from cgos.models import Delegation

    staff = DelegationStaff(
        email=email,
        password_hash=hash_secret(password),
        delegation=db.session.scalar(db.select(Delegation).where(Delegation.code == delegation_code)),
        lead=lead,
    )
    if secret is not None:
        staff.totp_secret_sealed = second_factor.seal(secret)
        staff.totp_enrolled_at = utcnow()
    db.session.add(staff)
    db.session.commit()
    return staff
