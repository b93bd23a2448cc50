"""Template filters and globals: French dates and times, masked mail addresses."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date
from flask import Flask, current_app, has_request_context, request, url_for
from markupsafe import Markup, escape
from wtforms.form import BaseForm
from wtforms.widgets import CheckboxInput, FileInput, Input, PasswordInput, RadioInput

from .htmx import is_htmx
from .identifiers import numero as numero_rules

PARIS = ZoneInfo("Europe/Paris")


def french_date(value: date | datetime) -> str:
    """`26 novembre 2026`, in Paris time for an instant."""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date()
    return format_date(value, format="d MMMM y", locale="fr_FR")


def french_time(value: datetime) -> str:
    """`16 h 42`, in Paris time."""
    local = value.astimezone(PARIS)
    return f"{local.hour} h {local.minute:02d}"


def french_datetime(value: datetime) -> str:
    """`26 novembre 2026 à 16 h 42`."""
    return f"{french_date(value)} à {french_time(value)}"


def age(value: datetime) -> str:
    """How long ago, in words: `il y a 3 jours`, `il y a 2 heures`."""
    from .models import utcnow

    seconds = max(0, int((utcnow() - value).total_seconds()))
    days, hours, minutes = seconds // 86400, seconds // 3600, seconds // 60
    if days:
        return f"il y a {days} jour{'s' if days > 1 else ''}"
    if hours:
        return f"il y a {hours} heure{'s' if hours > 1 else ''}"
    return f"il y a {minutes} minute{'s' if minutes > 1 else ''}"


def mask_email(address: str | None) -> str:
    """`mar*****@exa*****`: enough to recognise one's address, never enough to read it."""
    if not address or "@" not in address:
        return ""
    local, _, domain = address.partition("@")
    return f"{local[:3]}*****@{domain[:3]}*****"


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
    style = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 33 else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


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


def input_tag(field, **attrs) -> Markup:
    """A field's `<input>`, built directly: what WTForms' widget does, at a fraction of its cost.

    The login page renders on every display of the keypad, so its few inputs matter.
    Other widgets (select, textarea, file, checkbox) are left to WTForms.
    """
    widget = field.widget
    if not isinstance(widget, Input) or isinstance(widget, (FileInput, CheckboxInput, RadioInput)):
        return Markup(field(**attrs))
    attributes = {"id": field.id, "name": field.name, "type": widget.input_type}
    if field.flags.required:
        attributes["required"] = True
    if not (isinstance(widget, PasswordInput) and widget.hide_value):
        attributes["value"] = field._value()
    attributes.update(attrs)
    parts = []
    for name, value in attributes.items():
        if value is True:
            parts.append(name)
        elif value is not False and value is not None:
            parts.append(f'{name}="{escape(value)}"')
    return Markup(f"<input {' '.join(parts)}>")


def memoized_url_for(endpoint: str, **values) -> str:
    """Flask's url_for for templates, remembered per process: a page builds a dozen links,
    always the same ones, and building them showed in the login page's profile."""
    if any(key.startswith("_") for key in values):
        return url_for(endpoint, **values)
    cache = current_app.extensions.setdefault("cgos_urls", {})
    key = (request.script_root if has_request_context() else "", endpoint, tuple(sorted((k, str(v)) for k, v in values.items())))
    if key not in cache:
        if len(cache) > 10_000:  # links with ids (requests, tokens) must not grow it forever
            cache.clear()
        cache[key] = url_for(endpoint, **values)
    return cache[key]


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        collect_errors=collect_errors,
        page_has_errors=page_has_errors,
        is_htmx=is_htmx,
        input_tag=input_tag,
        url_for=memoized_url_for,
    )
    app.add_template_filter(format_numero, "numero")
    app.add_template_filter(format_phone, "phone")
    app.add_template_filter(french_date)
    app.add_template_filter(french_time)
    app.add_template_filter(french_datetime)
    app.add_template_filter(mask_email)
    app.add_template_filter(age)
