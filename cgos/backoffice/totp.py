"""Time-based one-time codes (RFC 6238: SHA-1, 6 digits, 30-second steps) and recovery codes.

Plain rules with no Flask, so they are tested with a controlled clock: the
caller gives `now`. A code is accepted for the current step and the previous
one (a phone a little slow, a code typed as it changed), and only for a step
later than the last one accepted: a code seen over a shoulder or replayed
from a proxy log opens nothing.
"""

import hmac
import secrets
from datetime import datetime

import pyotp
import segno

STEP_SECONDS = 30
DIGITS = 6
ISSUER = "Espace Agent C.G.O.S"
RECOVERY_CODE_COUNT = 10
# 16 characters of a 32-letter alphabet: 80 random bits per code.
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECOVERY_LENGTH = 16


def new_secret() -> str:
    """A random base32 secret of 160 bits, as authenticator apps expect."""
    return pyotp.random_base32(32)


def step_at(now: datetime) -> int:
    """The 30-second step `now` falls in."""
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at `now`."""
    return pyotp.TOTP(secret).generate_otp(step_at(now))


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step the typed code belongs to (now or the step before), if it is good and not used yet."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = step_at(now)
    for step in (current, current - 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def grouped(secret: str) -> str:
    """The secret by groups of four letters, easier to type: `JBSW Y3DP …`."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// address the QR code holds."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str, label: str) -> str:
    """The QR code as inline SVG markup (no script, no style attribute: the CSP allows it)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def new_recovery_codes() -> list[str]:
    """Ten random codes, written `ABCD-EFGH-JKLM-NPQR`."""
    return [
        "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(RECOVERY_LENGTH // 4))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def normalise_recovery_code(code: str) -> str:
    """A recovery code as typed (any case, spaces or dashes) in its canonical form."""
    return "".join(ch for ch in code.upper() if ch.isalnum())
