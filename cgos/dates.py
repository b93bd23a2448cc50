"""Dates and times as the agents live them: Paris's zone, today there, and how they are written in French.

Plain functions without Flask: rules (limits, workload, validators) and the
template filters (cgos/templating.py) both use them. Every rule takes `today`
or `now` from its caller; only `paris_today()` reads the clock.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> date:
    """Today's date in Paris, where the agents are."""
    return datetime.now(PARIS).date()


def local_day(moment: datetime) -> date:
    """The day in Paris of a stored (UTC) instant."""
    return moment.astimezone(PARIS).date()


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February becomes the 28th in a year without it."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: date, years: int) -> date:
    """The same day `years` later, by the same rule for 29 February."""
    return years_before(day, -years)


def french_date(value: date | datetime) -> str:
    """`26 novembre 2026`, in Paris time for an instant."""
    if isinstance(value, datetime):
        value = local_day(value)
    return format_date(value, format="d MMMM y", locale="fr_FR")


def french_time(value: datetime) -> str:
    """`16 h 42`, in Paris time."""
    local = value.astimezone(PARIS)
    return f"{local.hour} h {local.minute:02d}"


def french_datetime(value: datetime) -> str:
    """`26 novembre 2026 à 16 h 42`."""
    return f"{french_date(value)} à {french_time(value)}"


def age(value: datetime, now: datetime) -> str:
    """How long before `now`, in words, truncated to the largest whole unit: `il y a 3 jours`, `il y a 2 heures`.

    Ours rather than Babel's `format_timedelta`, which rounds (23 hours read « il y a 1 jour »):
    the back office shows how long a request has waited, and a day must mean a full day.
    """
    seconds = max(0, int((now - value).total_seconds()))
    days, hours, minutes = seconds // 86400, seconds // 3600, seconds // 60
    if days:
        return f"il y a {days} jour{'s' if days > 1 else ''}"
    if hours:
        return f"il y a {hours} heure{'s' if hours > 1 else ''}"
    return f"il y a {minutes} minute{'s' if minutes > 1 else ''}"
