"""`flask mail remind`: reminders at days 7, 21 and 28, never twice, none once expired."""

from datetime import timedelta

import pytest

from cgos.credentials.issuing import issue_provisional_password
from cgos.extensions import db
from cgos.models import Agent, OutboundMail, utcnow
from cgos.templating import french_date
from tests_support.factories import agent_row
from tests_support.personas import MARIE


@pytest.fixture
def marie(app):
    """Marie with a provisional password issued through the normal path."""
    agent = agent_row(MARIE)
    with app.test_request_context():
        issue_provisional_password(agent)
        db.session.commit()
    db.session.query(OutboundMail).delete()
    db.session.commit()
    return agent


def remind(runner) -> list[OutboundMail]:
    """Run the command; the reminders it queued."""
    result = runner.invoke(args=["mail", "remind"])
    assert result.exit_code == 0, result.output
    return list(db.session.scalars(db.select(OutboundMail).where(OutboundMail.subject.contains("personnalisez"))))


def age(agent, days: int) -> None:
    """Pretend the provisional password was issued `days` days ago."""
    agent.provisional_issued_at = utcnow() - timedelta(days=days, minutes=1)
    db.session.commit()


def test_no_reminder_before_day_7(runner, marie):
    age(marie, 6)
    assert remind(runner) == []


@pytest.mark.parametrize("day", [7, 21, 28])
def test_a_reminder_on_each_reminder_day(runner, marie, day):
    age(marie, day)
    [mail] = remind(runner)
    assert mail.recipient == "marie.dupont@example.org"
    assert french_date(marie.provisional_issued_at + timedelta(days=30)) in mail.text_body
    assert "Mot de passe provisoire :" not in mail.text_body


def test_never_the_same_reminder_twice(runner, marie):
    age(marie, 7)
    assert len(remind(runner)) == 1
    assert len(remind(runner)) == 1, "still one: day 7 is not sent again"
    age(marie, 21)
    assert len(remind(runner)) == 2
    age(marie, 25)
    assert len(remind(runner)) == 2


def test_a_late_run_sends_only_the_latest_reminder(runner, marie):
    age(marie, 22)
    assert len(remind(runner)) == 1
    assert marie.provisional_reminder_day == 21


def test_an_expired_provisional_password_gets_no_reminder(runner, app):
    """Nadia's provisional password was issued 45 days ago."""
    assert remind(runner) == []


def test_a_new_provisional_password_starts_the_reminders_again(runner, marie, app):
    age(marie, 7)
    remind(runner)
    with app.test_request_context():
        issue_provisional_password(marie)
        db.session.commit()
    age(marie, 7)
    assert len(remind(runner)) == 2


def test_agents_are_reminded_a_batch_at_a_time_and_none_is_missed(app, runner, marie, monkeypatch):
    from cgos import maintenance

    monkeypatch.setattr(maintenance, "REMINDER_BATCH_SIZE", 1)
    others = db.session.scalars(
        db.select(Agent).where(Agent.numero != MARIE.compact_numero, Agent.email.is_not(None))
    ).all()
    for agent in [marie, *others]:
        agent.provisional_pin_hash, agent.provisional_issued_at = "provisional-hash", utcnow() - timedelta(days=8)
    db.session.commit()
    assert sorted(mail.recipient for mail in remind(runner)) == sorted(a.email for a in [marie, *others])
