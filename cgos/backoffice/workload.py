"""A delegation's workload in figures: ages of pending requests, decisions, requests per week.

Plain rules, no Flask and no database: the views give the dates, `now` and
the delegation's region. Working days are Monday to Friday less France's
public holidays (the `holidays` package); overseas regions add their own
(abolition of slavery, …). Alsace-Moselle's Good Friday and 26 December are
not taken out: the Grand Est delegation also serves the rest of its region,
so a request there is counted late at most a day sooner, never later
(docs/design.md).
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import holidays

from ..dates import local_day

# A pending request older than this many working days is marked on the dashboard.
LATE_AFTER_WORKING_DAYS = 5
CHART_WEEKS = 12
# Overseas regions (INSEE region code) and their subdivision in the `holidays` package.
OVERSEAS_CALENDARS = {"01": "971", "02": "972", "03": "973", "04": "974", "06": "976"}


@functools.cache
def days_off(region_code: str | None, first_year: int, last_year: int) -> frozenset[date]:
    """The public holidays of `first_year` to `last_year` where a region's delegation works."""
    calendar = holidays.France(subdiv=OVERSEAS_CALENDARS.get(region_code), years=range(first_year, last_year + 1))
    return frozenset(calendar)


def working_days_between(start: date, end: date, holidays_off: Collection[date] = ()) -> int:
    """Working days (Monday to Friday, less `holidays_off`) after `start` up to and including `end`; 0 if not later."""
    if end <= start:
        return 0
    full_weeks, rest = divmod((end - start).days, 7)
    days = full_weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=offset)).weekday() < 5:
            days += 1
    return days - sum(1 for day in holidays_off if start < day <= end and day.weekday() < 5)


def is_late(received_at: datetime, now: datetime, holidays_off: Collection[date] = ()) -> bool:
    """True for a request waiting more than LATE_AFTER_WORKING_DAYS working days."""
    return working_days_between(local_day(received_at), local_day(now), holidays_off) > LATE_AFTER_WORKING_DAYS


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def decided_this_week(decided_at: list[datetime], now: datetime) -> int:
    """How many decisions were taken since Monday (Paris time)."""
    monday = week_start(local_day(now))
    return sum(1 for moment in decided_at if monday <= local_day(moment) <= local_day(now))


def median_decision_time(pairs: list[tuple[datetime, datetime]]) -> timedelta | None:
    """The median time from receipt to decision, None when nothing is decided yet."""
    if not pairs:
        return None
    return timedelta(seconds=statistics.median((decided - received).total_seconds() for received, decided in pairs))


def duration_in_words(value: timedelta | None) -> str:
    """`3 jours et 4 heures`, `5 heures`, `moins d'une heure`, or `aucune décision` for None."""
    if value is None:
        return "aucune décision"
    days, hours = value.days, value.seconds // 3600
    parts = []
    if days:
        parts.append(f"{days} jour{'s' if days > 1 else ''}")
    if hours:
        parts.append(f"{hours} heure{'s' if hours > 1 else ''}")
    return " et ".join(parts) if parts else "moins d'une heure"


@dataclass(frozen=True)
class Week:
    """Requests received and decided in one week (Monday to Sunday, Paris time)."""

    start: date
    received: int
    decided: int


def weekly_counts(
    received_at: list[datetime], decided_at: list[datetime], now: datetime, weeks: int = CHART_WEEKS
) -> list[Week]:
    """The last `weeks` weeks, the current one last, with their counts."""
    current = week_start(local_day(now))
    starts = [current - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]

    def count(moments: list[datetime]) -> dict[date, int]:
        totals = dict.fromkeys(starts, 0)
        for moment in moments:
            start = week_start(local_day(moment))
            if start in totals:
                totals[start] += 1
        return totals

    received, decided = count(received_at), count(decided_at)
    return [Week(start, received[start], decided[start]) for start in starts]


@dataclass(frozen=True)
class Bar:
    """One bar of the chart, in SVG user units."""

    x: float
    y: float
    height: float
    value: int


@dataclass(frozen=True)
class Chart:
    """The geometry of the weekly chart: two bars per week, a scale, the week labels."""

    width: int
    height: int
    baseline: float
    top: int
    received: list[Bar]
    decided: list[Bar]
    labels: list[tuple[float, date]]
    bar_width: float


def chart(weeks: list[Week], width: int = 600, height: int = 220) -> Chart:
    """Bars for requests received and decided each week, scaled to the largest count."""
    margin_left, margin_bottom, margin_top = 30, 30, 10
    top = max([1, *(w.received for w in weeks), *(w.decided for w in weeks)])
    plot_height = height - margin_bottom - margin_top
    baseline = height - margin_bottom
    slot = (width - margin_left) / max(1, len(weeks))
    bar_width = slot * 0.35

    def bar(x: float, value: int) -> Bar:
        bar_height = plot_height * value / top
        return Bar(round(x, 1), round(baseline - bar_height, 1), round(bar_height, 1), value)

    received, decided, labels = [], [], []
    for index, week in enumerate(weeks):
        left = margin_left + index * slot + slot * 0.1
        received.append(bar(left, week.received))
        decided.append(bar(left + bar_width, week.decided))
        labels.append((round(left + bar_width, 1), week.start))
    return Chart(width, height, baseline, top, received, decided, labels, round(bar_width, 1))
