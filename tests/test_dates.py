"""Date rules over every day of a leap year and the years around it (29 February included)."""

from datetime import date, timedelta

import pytest

from cgos import validators

DAYS = [date(2027, 1, 1) + timedelta(days=n) for n in range((date(2030, 1, 1) - date(2027, 1, 1)).days)]


def test_the_days_tested_include_29_february():
    assert date(2028, 2, 29) in DAYS


@pytest.mark.parametrize("years", [1, 4, 14, 100])
def test_years_before_is_the_same_day_or_28_february(years):
    """Every day has a day `years` earlier: itself, or the 28th for a 29 February."""
    for today in DAYS:
        earlier = validators.years_before(today, years)
        assert earlier.year == today.year - years
        if (today.month, today.day) == (2, 29) and earlier.year % 4:
            assert (earlier.month, earlier.day) == (2, 28)
        else:
            assert (earlier.month, earlier.day) == (today.month, today.day)


def test_birth_date_rule_answers_on_every_day():
    """A person who turns 14 today is accepted, one born a day later is not, every day."""
    for today in DAYS:
        fourteen = validators.years_before(today, validators.MINIMUM_AGE)
        assert validators.birth_date_problem(fourteen, today) is None
        assert validators.birth_date_problem(fourteen + timedelta(days=1), today) is not None
        assert validators.birth_date_problem(date(1899, 12, 31), today) is not None


def test_the_questionnaire_answers_on_29_february(agent, monkeypatch):
    """On 29 February the birth date check gave a 500 to everyone: it now answers normally."""
    monkeypatch.setattr(validators, "paris_today", lambda: date(2028, 2, 29))
    page = agent.get("/questionnaire-adresse-mail")
    page = agent.submit("/questionnaire-adresse-mail", {"numero": "22904518 R", "birth_date": "02/11/1979"})
    assert page.status == 422
    assert page.field_error("birth_date") is None
    page = agent.submit("/questionnaire-adresse-mail", {"birth_date": "01/03/2014"})
    assert page.field_error("birth_date") == "Vérifiez votre date de naissance : elle ne semble pas correcte."
