"""The delegation's workload in figures, computed without Flask from dates and `now`."""

from datetime import date, datetime, timedelta, timezone

import pytest

from cgos import dates
from cgos.backoffice import workload

UTC = timezone.utc
# Wednesday 25 November 2026, 10:00 in Paris.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 11, 23), date(2026, 11, 23), 0),  # same day
        (date(2026, 11, 23), date(2026, 11, 24), 1),  # Monday -> Tuesday
        (date(2026, 11, 20), date(2026, 11, 23), 1),  # Friday -> Monday: the weekend does not count
        (date(2026, 11, 21), date(2026, 11, 22), 0),  # Saturday -> Sunday
        (date(2026, 11, 16), date(2026, 11, 23), 5),  # a week
        (date(2026, 11, 2), date(2026, 11, 25), 17),
        (date(2026, 11, 25), date(2026, 11, 20), 0),  # end before start
    ],
)
def test_working_days_skip_weekends(start, end, days):
    assert workload.working_days_between(start, end) == days


def test_public_holidays_are_not_working_days():
    france = workload.days_off("53", 2026, 2026)  # Bretagne
    # Tuesday 10 -> Thursday 12 November 2026: Wednesday 11 is Armistice Day.
    assert workload.working_days_between(date(2026, 11, 10), date(2026, 11, 12), france) == 1
    # Christmas 2027 is a Saturday: a holiday at the weekend takes nothing more off.
    days = workload.days_off("53", 2027, 2027)
    assert workload.working_days_between(date(2027, 12, 24), date(2027, 12, 27), days) == 1
    # Across a new year: 1 January 2027 is a Friday.
    days = workload.days_off("53", 2026, 2027)
    assert workload.working_days_between(date(2026, 12, 31), date(2027, 1, 4), days) == 1


def test_overseas_regions_add_their_own_holidays():
    # Guadeloupe celebrates the abolition of slavery on 27 May (a Wednesday in 2026); Bretagne works.
    start, end = date(2026, 5, 26), date(2026, 5, 28)
    assert workload.working_days_between(start, end, workload.days_off("01", 2026, 2026)) == 1
    assert workload.working_days_between(start, end, workload.days_off("53", 2026, 2026)) == 2
    # La Réunion: 20 December (a Monday in 2027).
    assert date(2027, 12, 20) in workload.days_off("04", 2027, 2027)


def test_alsace_moselle_days_are_worked_by_the_grand_est_delegation():
    # Good Friday (26 March 2027) and 26 December are days off in Alsace-Moselle only; the
    # Grand Est delegation serves the whole region, so they count as working days (docs/design.md).
    grand_est = workload.days_off("44", 2027, 2027)
    assert date(2027, 3, 26) not in grand_est and date(2027, 12, 26) not in grand_est
    assert date(2027, 3, 29) in grand_est  # Easter Monday is national


def test_a_request_is_late_after_five_working_days():
    # Received Tuesday 17 November: 6 working days by Wednesday 25.
    assert workload.is_late(datetime(2026, 11, 17, 9, 0, tzinfo=UTC), NOW)
    # Received Wednesday 18 November: exactly 5, not late yet.
    assert not workload.is_late(datetime(2026, 11, 18, 9, 0, tzinfo=UTC), NOW)
    # Received Friday 20 November: a weekend in between, 3 working days.
    assert not workload.is_late(datetime(2026, 11, 20, 16, 0, tzinfo=UTC), NOW)


def test_days_are_counted_in_paris_time():
    # 23:30 UTC on Sunday is already Monday in Paris.
    assert dates.local_day(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)) == date(2026, 11, 23)


def test_decisions_this_week_start_on_monday_in_paris():
    decided = [
        datetime(2026, 11, 22, 22, 30, tzinfo=UTC),  # Sunday 23:30 in Paris: last week
        datetime(2026, 11, 22, 23, 30, tzinfo=UTC),  # Monday 00:30 in Paris
        datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
    ]
    assert workload.decided_this_week(decided, NOW) == 2


def test_median_time_to_decision():
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    pairs = [(start, start + timedelta(days=days)) for days in (1, 3, 10)]
    assert workload.median_decision_time(pairs) == timedelta(days=3)
    pairs.append((start, start + timedelta(days=5)))
    assert workload.median_decision_time(pairs) == timedelta(days=4)
    assert workload.median_decision_time([]) is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "aucune décision"),
        (timedelta(minutes=20), "moins d'une heure"),
        (timedelta(hours=5), "5 heures"),
        (timedelta(days=1), "1 jour"),
        (timedelta(days=3, hours=4, minutes=30), "3 jours et 4 heures"),
    ],
)
def test_duration_in_words(value, words):
    assert workload.duration_in_words(value) == words


def test_weekly_counts_cover_twelve_weeks_ending_with_this_one():
    received = [
        datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 0, tzinfo=UTC),
        datetime(2026, 8, 1, 9, 0, tzinfo=UTC),  # older than 12 weeks: left out
    ]
    decided = [datetime(2026, 11, 19, 9, 0, tzinfo=UTC)]
    weeks = workload.weekly_counts(received, decided, NOW)
    assert len(weeks) == 12
    assert weeks[-1] == workload.Week(date(2026, 11, 23), 2, 0)
    assert weeks[-2] == workload.Week(date(2026, 11, 16), 1, 1)
    assert weeks[0].start == date(2026, 9, 7)
    assert sum(w.received for w in weeks) == 3


def test_the_chart_scales_bars_to_the_largest_count():
    weeks = [workload.Week(date(2026, 11, 16), 4, 2), workload.Week(date(2026, 11, 23), 0, 1)]
    chart = workload.chart(weeks, width=230, height=130)
    tallest = chart.received[0]
    assert chart.top == 4 and tallest.value == 4
    assert tallest.y == 10 and tallest.height == 90 and tallest.y + tallest.height == chart.baseline
    assert chart.decided[0].height == 45
    assert chart.received[1].height == 0 and chart.received[1].y == chart.baseline
    assert chart.received[0].x < chart.decided[0].x < chart.received[1].x


def test_an_empty_chart_does_not_divide_by_zero():
    chart = workload.chart([workload.Week(date(2026, 11, 23), 0, 0)])
    assert chart.top == 1 and chart.received[0].height == 0
