"""Template filters and globals: French dates and times (from cgos/dates.py), masked mail addresses, numéros, phones,
and the error helpers the form macros (templates/components/forms.html) call."""

import re
from datetime import datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from wtforms.form import BaseForm

from .dates import age, french_date, french_datetime, french_time
from .htmx import is_htmx
from .identifiers import numero as numero_rules
from .mail import external_url
from .models import utcnow


def waited(value: datetime) -> str:
    """`il y a 3 jours`: how long ago, by the clock (the `age` filter)."""
    return age(value, utcnow())


def mask_email(address: str | None) -> str:
    """`mar*****@orange.fr`: at most half the local part (3 characters at most), and the domain.

    The domain is shown so that an agent with several addresses (hospital, orange.fr,
    gmail.com…) can tell which one is on file before typing it in full (SECURITY.md says
    what it reveals).
    """
    if not address or "@" not in address:
        return ""
    local, _, domain = address.partition("@")
    return f"{local[: min(3, len(local) // 2)]}*****@{domain}"


def format_numero(value: str) -> str:
    """`35127846 S`."""
    return numero_rules.format(value)


def format_phone(value: str | None) -> str:
    """A stored E.164 number as a person writes it: `06 12 34 56 78`, or international abroad."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        return value
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 33
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def tel_uri(value: str | None) -> str:
    """A phone number as a `tel:` link target (RFC 3966), French numbers in E.164: `tel:+33145708220`."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        return "tel:" + re.sub(r"[^\d+]", "", value)
    return "tel:" + phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _spelled_out(text: str) -> str:
    """`text` with each character beyond ASCII written as its code point: `je[U+0430]n`."""
    return "".join(character if character.isascii() else f"[U+{ord(character):04X}]" for character in text)


def ascii_address(address: str | None) -> str:
    """A mail address with characters beyond ASCII as it really is, to be shown beside it; "" for an ASCII one.

    Some letters of other scripts look exactly like Latin ones (the Cyrillic « а » of
    `exаmple.org`): the domain is given in punycode, as mail servers read it
    (`xn--exmple-4nf.org`), and any other character of the local part by its code point.
    """
    if not address or address.isascii() or "@" not in address:
        return ""
    local, _, domain = address.rpartition("@")
    try:
        domain = validate_email(address, check_deliverability=False).ascii_domain
    except EmailNotValidError:
        domain = _spelled_out(domain)
    return f"{_spelled_out(local)}@{domain}"


def collect_errors(form=None, errors=None) -> list[tuple[str | None, str]]:
    """The error summary's lines: (anchor of the field, message), general errors first."""
    errors = dict(errors or {})
    items = []
    if "form" in errors:
        items.append((None, errors.pop("form")))
    if isinstance(form, BaseForm):
        for name, field in form._fields.items():
            message = errors.pop(name, None) or (field.errors[0] if field.errors else None)
            if message and name != "csrf_token":
                items.append((field.id, message))
    items.extend((name, message) for name, message in errors.items())
    return items


def page_has_errors(form=None, errors=None) -> bool:
    """True when the page shows an error (its title then starts with « Erreur : »)."""
    return bool(collect_errors(form, errors))


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        collect_errors=collect_errors, page_has_errors=page_has_errors, is_htmx=is_htmx, external_url=external_url
    )
    app.add_template_filter(format_numero, "numero")
    app.add_template_filter(format_phone, "phone")
    app.add_template_filter(tel_uri)
    app.add_template_filter(french_date)
    app.add_template_filter(french_time)
    app.add_template_filter(french_datetime)
    app.add_template_filter(mask_email)
    app.add_template_filter(waited, "age")
    app.add_template_filter(ascii_address)
