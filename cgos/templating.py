"""Template filters and globals (French dates and times, masked mail addresses), and the
rendering helpers that make a partial once per process."""

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date
from flask import Flask, current_app, has_request_context, request, url_for
from markupsafe import Markup

from . import components
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
    """`mar*****@e*****`: at most half the local part (3 characters at most) and the domain's first letter."""
    if not address or "@" not in address:
        return ""
    local, _, domain = address.partition("@")
    return f"{local[:min(3, len(local) // 2)]}*****@{domain[:1]}*****"


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


def memoized_url_for(endpoint: str, **values) -> str:
    """Flask's url_for for templates, remembered per process: a page builds a dozen links,
    always the same ones, and building them showed in the login page's profile."""
    if values and any(key.startswith("_") for key in values):
        return url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    key = (root, endpoint, *sorted((k, str(v)) for k, v in values.items())) if values else (root, endpoint)
    cache = current_app.extensions["cgos_urls"]
    url = cache.get(key)
    if url is None:
        if len(cache) > 10_000:  # links with ids (requests, tokens) must not grow it forever
            cache.clear()
        url = cache[key] = url_for(endpoint, **values)
    return url


def once_per_process(key: tuple, build: Callable[[], object]):
    """`build()`, made once per process and key, then reused; made again at each use when
    templates auto-reload (development), so an edited template shows at once."""
    app = current_app._get_current_object()
    cache = app.extensions["cgos_rendered"]
    key = (request.script_root if has_request_context() else "", *key)
    value = cache.get(key)
    if value is None or app.jinja_env.auto_reload:
        if len(cache) > 1_000:  # keys come from code, never from input: this is a safety net
            cache.clear()
        value = cache[key] = build()
    return value


def deployment_partial(template: str, **values) -> Markup:
    """A partial that depends on nothing but `values` and the deployment (links, asset URLs,
    configuration), rendered once per process and then reused.

    The chrome around every page (tabs, footer, fixed help text) was re-rendered at each
    display and showed in the login page's profile. Such a partial sees only `values` and
    the environment's globals: it must not read the request, the session or `g`.
    """
    return once_per_process(
        (template, *sorted(values.items())),
        lambda: Markup(current_app.jinja_env.get_template(template).render(**values)),
    )


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.extensions["cgos_urls"] = {}
    app.extensions["cgos_rendered"] = {}
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        page_has_errors=components.page_has_errors,
        error_summary=components.error_summary,
        heading=components.heading,
        field=components.field,
        csrf=components.csrf,
        is_htmx=is_htmx,
        deployment_partial=deployment_partial,
        url_for=memoized_url_for,
    )
    app.add_template_filter(format_numero, "numero")
    app.add_template_filter(format_phone, "phone")
    app.add_template_filter(french_date)
    app.add_template_filter(french_time)
    app.add_template_filter(french_datetime)
    app.add_template_filter(mask_email)
    app.add_template_filter(age)
