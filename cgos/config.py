"""Configuration defaults and the per-instance secrets that back them."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from . import charter

MIB = 1024 * 1024


def default_config(instance_path: str) -> dict:
    """Defaults that make `make run` work with nothing set in the environment."""
    instance = Path(instance_path)
    return {
        # Set by gunicorn.conf.py: start-up then refuses an unsafe configuration.
        "PRODUCTION": False,
        "WORKERS": 1,
        # Number of reverse proxies in front (X-Forwarded-For hops to trust); 0: none.
        "PROXY_FIX_X_FOR": 0,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'cgos.sqlite3'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
        ],
        "COMPRESS_ALGORITHM": ["gzip"],
        "COMPRESS_MIN_SIZE": 500,
        # Level 1 costs a third of the default level's time for pages a few percent larger.
        "COMPRESS_LEVEL": 1,
        "BCRYPT_COST": 12,
        # bcrypt computations running at once on the host (all the workers); None: its cores.
        "BCRYPT_CONCURRENCY": None,
        # A login is refused (503, « réessayez dans une minute ») when the host's bcrypt line
        # already holds more seconds of work ahead of it than this (see bcrypt_line.py).
        "LOGIN_QUEUE_SECONDS": 3,
        # Logins one client (an IPv4 address, an IPv6 /64) may have in the line at once; more: a 429.
        "LOGIN_LINE_PER_CLIENT": 2,
        "MAIL_SERVER": None,
        "MAIL_DEFAULT_SENDER": "Espace Agent C.G.O.S <noreply@cgos.info>",
        "MAIL_SMTP_TIMEOUT": 10,
        # Who sends the queue: "thread" (a background thread of each web process) or "worker"
        # (only `flask mail worker`). No web request waits on SMTP either way.
        "MAIL_DELIVERY": "thread",
        "DEV_MAILBOX": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_LOCKOUT_LIMIT": "5 per 15 minutes",
        "LOGIN_DAILY_LIMIT": "20 per day",
        # Wrong second-factor codes per staff member in a day; past it only a recovery code
        # (or `staff reset-2fa`) lets them in.
        "SECOND_FACTOR_DAILY_LIMIT": "10 per day",
        "LOGIN_ALERT_LIMIT": "1000 per hour",
        "ADDRESS_RATE_LIMIT": "100 per hour",
        # Identification attempts per numéro C.G.O.S, across both tabs and the questionnaire.
        "IDENTIFICATION_RATE_LIMIT": "10 per hour",
        "MAIL_SUPPRESS_SEND": False,
        # Wrong mail addresses typed at the confirmation step; past it every try is refused.
        "MAIL_CONFIRMATION_LIMIT": "3 per day",
        # Look-ups of one NIR in « Demande de n°C.G.O.S ».
        "NIR_RATE_LIMIT": "5 per day",
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "cgos_session",
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=20),
        # However active, a logged-in session ends this long after the login (ASVS 3.3.2).
        "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
        # The cookie's signature outlives the server's own rules (idle timeout, keypad, flow states),
        # so an agent back after 25 minutes reads « Votre session a expiré » or « Le clavier a été
        # renouvelé », not a bare 400 for a cookie Flask dropped with its CSRF token.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # Staff see a whole region's personal data: their sessions end sooner.
        "STAFF_SESSION_IDLE_TIMEOUT": timedelta(minutes=15),
        "STAFF_SESSION_ABSOLUTE_LIFETIME": timedelta(hours=8),
        "UPLOAD_FOLDER": str(instance / "uploads"),
        "MAX_CONTENT_LENGTH": 5 * MIB,
        # Past this many bytes in UPLOAD_FOLDER, new payslips are refused (« réessayez dans
        # quelques heures », a WARNING logged) until decisions and `uploads purge` make room; None: no cap.
        "UPLOAD_QUOTA_BYTES": 20 * 1024 * MIB,
        "PUBLIC_BASE_URL": None,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "DELEGATION_PHONE": "01 45 70 82 20",
        # Days after issue when an unused provisional password is recalled by mail.
        "PROVISIONAL_REMINDER_DAYS": [7, 21, 28],
        # Days a payslip is kept after the delegation's decision (`flask uploads purge`).
        "PAYSLIP_RETENTION_DAYS": 30,
        # The charter's file (HTML, its version on the first line): replace it to publish a new version.
        "CHARTER_PATH": str(charter.DEFAULT_PATH),
        # Days the body of a sent mail is kept (`flask mail purge`); recipient, subject and times stay.
        "MAIL_RETENTION_DAYS": 30,
        # Key material for the secrets a queued mail carries: one string, or a list newest first
        # (rotation, `keys rotate`); SECRET_KEY is used when unset.
        "MAIL_SECRET_KEY": None,
        # Key material for the staff's TOTP secrets, a list newest first; unset: MAIL_SECRET_KEY's
        # (what sealed them before this setting existed).
        "TOTP_SECRET_KEYS": None,
    }


def instance_secret(instance_path: str, name: str) -> str:
    """Read a secret kept in `instance/<name>`, writing a random one the first time."""
    path = Path(instance_path) / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: when two processes start at once, one writes and both read its value.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
