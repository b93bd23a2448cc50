"""Date rules over every day of two leap years and the years around them (issue 14).

Each rule takes `today`/`now`; these tests hand it every day of 2023, 2024, 2025 and
2028 at the Paris times that break things (midnight, 23:59, the hour that does not
exist on the last Sunday of March, the one that happens twice on the last Sunday of
October), and check the boundary to the microsecond. What the code means by each
lifetime, tested exactly below:

- a mailed link (registration, mail change) works while `now < sent + 48 h`;
- a provisional PIN works while `now < issued + 30 × 24 h`: a duration, not Paris
  calendar days, so across a clock change it ends an hour later or earlier on the wall
  clock; its mails give the Paris date of that instant (« au plus tard le … »);
- reminders: the run at or after `issued + k × 24 h` (k = 7, 21, 28) mails reminder k,
  once; a run that missed one mails only the latest due; none once the PIN expired;
- purges take what is strictly older than the limit: mail bodies sent before
  `now − MAIL_RETENTION_DAYS × 24 h`, payslips decided before `now −
  PAYSLIP_RETENTION_DAYS × 24 h`, unconfirmed registrations created before `now − 72 h`,
  flow states expired at or before `now`.

Paris time is worked out here from the EU rule (last Sundays of March and October,
01:00 UTC), not from zoneinfo, so that the code's use of zoneinfo is checked, not copied.
"""

import functools
import secrets
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgos import dates, links, mail, maintenance, pins, validators
from cgos.account import email_change
from cgos.credentials.issuing import issue_provisional_password
from cgos.extensions import db
from cgos.mail import open_mail
from cgos.models import (
    FlowState,
    MailChangeRequest,
    OutboundMail,
    Registration,
    RequestStatus,
)
from cgos.number_request import services as number_request
from cgos.provisional_password.forms import birth_year
from cgos.templating import age, french_date, french_datetime, french_time
from tests_support.factories import agent_row, registration_row
from tests_support.flows import link_in, register
from tests_support.personas import JEAN, MARIE, SOPHIE

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
YEARS = (2023, 2024, 2025, 2028)
DAYS = [date(year, 1, 1) + timedelta(days=n) for year in YEARS for n in range(366 if year % 4 == 0 else 365)]
# Paris wall-clock times: midnight, the gap of March (02:30 does not exist), the hour of
# October that happens twice, noon, and the last minutes of the day.
TIMES = [time(0, 0), time(1, 59), time(2, 30), time(12, 0), time(23, 30), time(23, 59)]
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
MICROSECOND = timedelta(microseconds=1)


def last_sunday(year: int, month: int) -> date:
    """The last Sunday of a 31-day month."""
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def paris_offset(instant: datetime) -> timedelta:
    """Paris's offset from UTC at `instant`, by the EU rule: summer time from 01:00 UTC on the
    last Sunday of March to 01:00 UTC on the last Sunday of October."""
    instant = instant.astimezone(UTC)
    summer_starts = datetime.combine(last_sunday(instant.year, 3), time(1), UTC)
    summer_ends = datetime.combine(last_sunday(instant.year, 10), time(1), UTC)
    return timedelta(hours=2 if summer_starts <= instant < summer_ends else 1)


def paris_wall_clock(instant: datetime) -> datetime:
    """What a clock in Paris shows at `instant` (naive)."""
    return (instant.astimezone(UTC) + paris_offset(instant)).replace(tzinfo=None)


def in_paris(day: date, at: time) -> datetime:
    """The UTC instant a Paris clock shows `at` on `day` (the first one, where it shows it twice)."""
    return datetime.combine(day, at, PARIS).astimezone(UTC)


def expected_french_date(day: date) -> str:
    """`1 mars 2028`, written without babel."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


DST_CHANGES = [datetime.combine(last_sunday(year, month), time(1), UTC) for year in YEARS for month in (3, 10)]
INSTANTS = [in_paris(day, at) for day in DAYS for at in TIMES] + [
    change + shift for change in DST_CHANGES for shift in (-MICROSECOND, timedelta(0), MICROSECOND)
]
# The days the database-backed checks run on: both 29 Februaries, every clock change, the years' ends.
SPECIAL_DAYS = [date(2024, 2, 29), date(2028, 2, 29), date(2024, 12, 31), date(2028, 12, 31)] + [
    change.date() for change in DST_CHANGES if change.year in (2024, 2028)
]


def test_the_days_tested_cover_both_29_februaries_and_every_clock_change():
    assert {date(2024, 2, 29), date(2028, 2, 29)} <= set(DAYS)
    assert len(DAYS) == 365 * 2 + 366 * 2
    assert [change.date() for change in DST_CHANGES][:4] == [
        date(2023, 3, 26),
        date(2023, 10, 29),
        date(2024, 3, 31),
        date(2024, 10, 27),
    ]
    for change in DST_CHANGES:
        assert paris_offset(change) - paris_offset(change - MICROSECOND) in (timedelta(hours=1), timedelta(hours=-1))


# Birth dates (the rule that gave everybody a 500 on 29 February).


@pytest.mark.parametrize("years", [1, 4, 14, 18, 100])
def test_years_before_is_the_same_day_or_28_february(years):
    """Every day has a day `years` earlier: itself, or the 28th for a 29 February."""
    for today in DAYS:
        earlier = dates.years_before(today, years)
        assert earlier.year == today.year - years
        if (today.month, today.day) == (2, 29) and earlier.year % 4:
            assert (earlier.month, earlier.day) == (2, 28)
        else:
            assert (earlier.month, earlier.day) == (today.month, today.day)


def test_birth_date_rule_answers_on_every_day():
    """A person who turns 14 today is accepted, one born a day later is not, every day."""
    for today in DAYS:
        fourteen = dates.years_before(today, validators.MINIMUM_AGE)
        assert validators.birth_date_problem(fourteen, today) is None
        assert validators.birth_date_problem(fourteen + timedelta(days=1), today) is not None
        assert validators.birth_date_problem(date(1899, 12, 31), today) is not None


def test_entry_date_rule_answers_on_every_day_for_someone_born_on_29_february():
    """Born 29 February 2000: 18 on 28 February 2018 (no 29th that year); the future is refused."""
    born = date(2000, 2, 29)
    assert number_request.entry_date_problem(date(2018, 2, 28), born, date(2024, 2, 29)) is None
    assert number_request.entry_date_problem(date(2018, 2, 27), born, date(2024, 2, 29)) is not None
    for today in DAYS:
        assert number_request.entry_date_problem(today, born, today) is None
        assert number_request.entry_date_problem(today + timedelta(days=1), born, today) is not None


def test_the_birth_year_limit_follows_the_year_in_paris(clock):
    """At 23:30 UTC on 31 December it is already the new year in Paris: its 14-year-olds are accepted."""
    clock.move_to(datetime(2028, 12, 31, 23, 30, tzinfo=UTC))
    field = SimpleNamespace(data="2015")
    birth_year(None, field)
    assert field.data == "2015"


def test_the_questionnaire_answers_on_29_february(clock, agent):
    """On 29 February the birth date check gave a 500 to everyone: it now answers normally."""
    clock.move_to(in_paris(date(2028, 2, 29), time(10, 0)))
    page = agent.get("/questionnaire-adresse-mail")
    page = agent.submit("/questionnaire-adresse-mail", {"numero": JEAN.numero, "birth_date": JEAN.birth_date_typed})
    assert page.status == 422
    assert page.field_error("birth_date") is None
    page = agent.submit("/questionnaire-adresse-mail", {"birth_date": "01/03/2014"})
    assert page.field_error("birth_date") == "Vérifiez votre date de naissance : elle ne semble pas correcte."


# 48-hour links.


def test_a_link_works_for_48_hours_to_the_microsecond_from_any_moment():
    """Sent at any of the instants, across a clock change too: 48 real hours, not 47 or 49."""
    for sent in INSTANTS:
        ends = links.link_expires_at(sent)
        assert ends - sent == timedelta(hours=48)
        assert not links.is_link_expired(ends, sent + timedelta(hours=47, minutes=59))
        assert not links.is_link_expired(ends, ends - MICROSECOND)
        assert links.is_link_expired(ends, ends)
        assert links.is_link_expired(ends, sent + timedelta(days=30))


def test_the_registration_link_itself_expires_at_48_hours(clock, app, agent):
    """Followed at 47 h 59 it creates the agent (or finds it), at 48 h it is expired: on the special days."""
    register(agent)
    token = link_in(db.session.scalar(db.select(OutboundMail))).rsplit("/", 1)[1]
    for day in SPECIAL_DAYS:
        for sent in (in_paris(day, time(0, 0)), in_paris(day, time(23, 59))):
            for after, expected in [
                (timedelta(hours=47, minutes=59), {"created", "exists"}),
                (timedelta(hours=48) - MICROSECOND, {"created", "exists"}),
                (timedelta(hours=48), {"expired"}),
            ]:
                db.session.scalar(db.select(Registration)).created_at = sent
                clock.move_to(sent + after)
                with app.test_request_context():
                    assert number_request.confirm(token)[1] in expected, (sent, after)
                db.session.rollback()


def test_the_mail_change_link_itself_expires_at_48_hours(clock, app):
    """The same boundary for « Modifier mon adresse mail », on the special days."""
    sophie = agent_row(SOPHIE)
    for day in SPECIAL_DAYS:
        for sent in (in_paris(day, time(0, 0)), in_paris(day, time(23, 59))):
            for after, expected in [
                (timedelta(hours=48) - MICROSECOND, "done"),
                (timedelta(hours=48), "expired"),
            ]:
                clock.move_to(sent)
                with app.test_request_context():
                    email_change.request_email_change(sophie, "sophie.nouvelle@example.org")
                token = "the-token"
                sophie.email_change_token_digest = email_change._token_digest(token)
                clock.move_to(sent + after)
                with app.test_request_context():
                    assert email_change.confirm_email_change(token)[1] == expected, (sent, after)
                db.session.rollback()


# 30-day provisional PINs.


def test_a_provisional_pin_works_for_30_times_24_hours_from_any_moment():
    """Valid a microsecond before issue + 720 h, expired at it; the mail's date is that instant's Paris date."""
    for issued in INSTANTS:
        ends = pins.provisional_pin_expires_at(issued)
        assert ends - issued == timedelta(days=30)
        assert not pins.is_provisional_pin_expired(issued, issued + timedelta(days=29, hours=23, minutes=59))
        assert not pins.is_provisional_pin_expired(issued, ends - MICROSECOND)
        assert pins.is_provisional_pin_expired(issued, ends)
        assert french_date(ends) == expected_french_date(paris_wall_clock(ends).date())


def test_across_the_spring_clock_change_a_pin_ends_an_hour_later_on_the_wall_clock():
    """Issued at noon in Paris on 1 March 2024, it works until 13:00 on 31 March (summer time)."""
    issued = in_paris(date(2024, 3, 1), time(12, 0))
    assert pins.provisional_pin_expires_at(issued).astimezone(PARIS) == datetime(2024, 3, 31, 13, 0, tzinfo=PARIS)
    issued = in_paris(date(2024, 10, 1), time(12, 0))
    assert pins.provisional_pin_expires_at(issued).astimezone(PARIS) == datetime(2024, 10, 31, 11, 0, tzinfo=PARIS)


def test_the_provisional_password_mail_gives_the_paris_date(clock, app):
    """Issued at 23:30 UTC on 30 March 2024 (00:30 on the 31st in Paris), it ends at 01:30 on 30 April in Paris."""
    marie = agent_row(MARIE)
    issued = datetime(2024, 3, 30, 23, 30, tzinfo=UTC)
    clock.move_to(issued)
    with app.test_request_context():
        issue_provisional_password(marie)
        db.session.commit()
    row = db.session.scalars(db.select(OutboundMail).order_by(OutboundMail.id.desc())).first()
    body = open_mail(row)
    assert "au plus tard le 30 avril 2024" in body.text_body
    assert "au plus tard le 30 avril 2024" in body.html_body


# Reminders at days 7, 21 and 28.


def reminders_sent(app, issued: datetime, runs) -> list[tuple[int, datetime]]:
    """(reminder day, run) for each run of `mail remind` that mails one, by the rule alone."""
    agent = SimpleNamespace(provisional_issued_at=issued, provisional_reminder_day=None)
    sent = []
    for run in runs:
        day = maintenance.reminder_due(agent, run)
        if day is not None:
            agent.provisional_reminder_day = day
            sent.append((day, run))
    return sent


def daily_runs(issued: datetime) -> list[datetime]:
    """A run each day at 03:00 in Paris, from the day of issue to five weeks later."""
    return _daily_runs_from(issued.astimezone(PARIS).date())


@functools.cache
def _daily_runs_from(first: date) -> list[datetime]:
    """The runs of `daily_runs`, worked out once per day."""
    return [in_paris(first + timedelta(days=n), time(3, 0)) for n in range(36)]


def test_daily_reminders_fire_on_days_7_21_and_28_once_each_from_any_moment(app):
    """A run every day at 03:00 in Paris: each reminder once, at the first run 7, 21, 28 × 24 h after issue."""
    for issued in INSTANTS:
        runs = daily_runs(issued)
        sent = reminders_sent(app, issued, runs)
        assert [day for day, _ in sent] == [7, 21, 28], issued
        for day, run in sent:
            due = issued + timedelta(days=day)
            assert run == min(r for r in runs if r >= due), (issued, day)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    issued=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    offsets=st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)), max_size=60),
)
def test_reminders_at_any_run_times_are_never_early_late_or_twice(app, issued, offsets):
    """Runs at any times: reminders rise, none before its day or after expiry, none skipped that had a run."""
    runs = sorted(issued + offset for offset in offsets)
    sent = reminders_sent(app, issued, runs)
    days = [day for day, _ in sent]
    assert days == sorted(set(days)) and set(days) <= {7, 21, 28}
    expiry = pins.provisional_pin_expires_at(issued)
    for day, run in sent:
        assert issued + timedelta(days=day) <= run < expiry
    for day, until in [(7, 21), (21, 28), (28, 30)]:
        if any(issued + timedelta(days=day) <= run < issued + timedelta(days=until) for run in runs):
            assert day in days


def test_the_remind_command_mails_on_days_7_21_and_28_on_the_special_days(app):
    """`mail remind` run daily at 03:00 in Paris (the database's filter and the rule agree)."""
    marie = agent_row(MARIE)
    for day in SPECIAL_DAYS[:6]:
        issued = in_paris(day, time(23, 59))
        marie.provisional_pin_hash, marie.provisional_issued_at = "provisional-hash", issued
        marie.provisional_reminder_day = None
        db.session.commit()
        mailed = []
        for run in daily_runs(issued):
            if maintenance.send_reminders(run):
                mailed.append((run - issued).days)
        assert mailed == [7, 21, 28], day
    subjects = db.session.scalars(db.select(OutboundMail.subject)).all()
    assert subjects.count("Espace Agent C.G.O.S : personnalisez votre mot de passe provisoire") == 18


# Purges after N days.


def boundary_nows() -> list[datetime]:
    """Purge runs at midnight, 02:30 and 23:59 in Paris on the special days."""
    return [in_paris(day, at) for day in SPECIAL_DAYS for at in (time(0, 0), time(2, 30), time(23, 59))]


def test_mail_purge_empties_exactly_the_bodies_older_than_the_retention(app):
    """One second older than MAIL_RETENTION_DAYS × 24 h is emptied; exactly that old, or younger, stays."""
    keep = timedelta(days=app.config["MAIL_RETENTION_DAYS"])
    db.session.execute(db.delete(OutboundMail))
    for now in boundary_nows():
        rows = {
            shift: OutboundMail(recipient="a@example.org", subject="s", text_body="corps", sent_at=now - keep + shift)
            for shift in (-timedelta(seconds=1), timedelta(0), timedelta(seconds=1))
        }
        db.session.add_all(rows.values())
        db.session.commit()
        assert mail.purge_sent(now) == 1, now
        assert {shift: row.text_body for shift, row in rows.items()} == {
            -timedelta(seconds=1): "",
            timedelta(0): "corps",
            timedelta(seconds=1): "corps",
        }
        db.session.execute(db.delete(OutboundMail))
        db.session.commit()


def test_the_purges_remove_exactly_what_is_past_its_limit(app):
    """Unconfirmed registrations past 72 h, payslips decided past PAYSLIP_RETENTION_DAYS, expired flow states."""
    keep = timedelta(days=app.config["PAYSLIP_RETENTION_DAYS"])
    shifts = (-timedelta(seconds=1), timedelta(0), timedelta(seconds=1))
    for model in (MailChangeRequest, Registration, FlowState):
        db.session.execute(db.delete(model))
    for now in boundary_nows():
        unconfirmed = [registration_row(now - timedelta(hours=72) + shift) for shift in shifts]
        decided = [
            registration_row(
                now - keep - timedelta(days=1),
                status=RequestStatus.ACCEPTED,
                decided_at=now - keep + shift,
                payslip_path=f"{secrets.token_hex(8)}.pdf",
            )
            for shift in shifts
        ]
        states = [
            FlowState(id=secrets.token_hex(32), purpose="wizard", data={}, expires_at=now + shift) for shift in shifts
        ]
        db.session.add_all([*unconfirmed, *decided, *states])
        db.session.commit()
        ids = [row.id for row in unconfirmed], [row.id for row in decided], [row.id for row in states]
        assert maintenance.purge(now) == {
            "bulletin(s) supprimé(s)": 1,
            "inscription(s) non confirmée(s) supprimée(s)": 1,
            "état(s) de parcours expiré(s) supprimé(s)": 2,
            "bulletin(s) de formulaire abandonné supprimé(s)": 0,
        }, now
        assert [db.session.get(Registration, id) is None for id in ids[0]] == [True, False, False]
        assert [db.session.get(Registration, id).payslip_path is None for id in ids[1]] == [True, False, False]
        assert [db.session.get(FlowState, id) is None for id in ids[2]] == [True, True, False]
        db.session.execute(db.delete(Registration))
        db.session.execute(db.delete(FlowState))
        db.session.commit()


# French dates, in Paris time.


def test_french_dates_and_times_give_the_paris_wall_clock_at_every_hour():
    """Every hour of every day tested, and the minutes around midnight and the clock changes."""
    instants = [datetime.combine(day, time(hour), UTC) for day in DAYS for hour in range(24)]
    instants += [moment + shift for moment in INSTANTS[::7] for shift in (-MICROSECOND, timedelta(minutes=30))]
    for instant in instants:
        wall = paris_wall_clock(instant)
        assert french_date(instant) == expected_french_date(wall.date()), instant
        assert french_time(instant) == f"{wall.hour} h {wall.minute:02d}", instant
    assert french_datetime(datetime(2024, 3, 30, 23, 30, tzinfo=UTC)) == "31 mars 2024 à 0 h 30"
    assert french_datetime(datetime(2024, 10, 27, 0, 30, tzinfo=UTC)) == "27 octobre 2024 à 2 h 30"
    assert french_datetime(datetime(2024, 10, 27, 1, 30, tzinfo=UTC)) == "27 octobre 2024 à 2 h 30"


def test_a_plain_date_is_written_as_it_is():
    for day in DAYS:
        assert french_date(day) == expected_french_date(day)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)))
def test_french_dates_never_raise(instant):
    """Any instant from 1900 to 2100 has a Paris date in French, « 29 février » included."""
    assert french_date(instant).split()[1] in MONTHS
    assert french_date(instant.date()) == expected_french_date(instant.date())
    assert " h " in french_time(instant)


def test_age_counts_real_hours_across_a_clock_change():
    """From 00:30 to 12:30 in Paris on 31 March 2024 is 11 hours: the clock jumped one."""
    now = in_paris(date(2024, 3, 31), time(12, 30))
    assert age(in_paris(date(2024, 3, 31), time(0, 30)), now) == "il y a 11 heures"
    assert age(now - timedelta(days=1), now) == "il y a 1 jour"
