"""The credential rules without a client: the login check, the one way a secret is tried, and the limits' keys.

These drive cgos/credentials/checking.py, attempts.py and limits.py directly (bcrypt at cost 4, the
limiter's memory storage), so that `make mutation` can run them in seconds; the login tests check the
same rules through the pages.
"""

import logging
from datetime import datetime, timedelta, timezone

import pytest
import redis
from werkzeug.exceptions import ServiceUnavailable

from cgos import bcrypt_line, create_app, passwords
from cgos.credentials import attempts, limits
from cgos.credentials.attempts import AGENT_LOGIN, AGENT_PIN, STAFF_CODE, STAFF_PASSWORD, Refusal, attempt
from cgos.credentials.checking import Outcome, apply_success, check_login, had_a_password, main_hash
from cgos.credentials.limits import (
    ADDRESS_FAILURES,
    LOGIN_ADDRESS,
    LOGIN_DAILY,
    LOGIN_LOCKOUT,
    NETWORK_FAILURES,
    SECOND_FACTOR_DAILY,
    STAFF_LOCKOUT,
    client_address_of,
    network_of,
)
from cgos.dates import PARIS
from cgos.extensions import limiter
from cgos.models import Agent, PasswordState
from tests_support.backends import BASE_CONFIG

PEPPER = "pepper"
DUMMY_HASH = passwords.hash_secret("dummy", PEPPER, 4)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
PIN, PROVISIONAL, LEGACY, WRONG = "482915", "739154", "Ancien-mot-2019", "000111"
CLIENT, NEIGHBOUR, STRANGER = "192.0.2.10", "192.0.2.99", "198.51.100.7"
NUMERO = "29088361J"
# Small windows so that the daily cap is reached within a test; the lockout keeps its 5.
LIMITS = {
    "LOGIN_LOCKOUT_LIMIT": "5 per 15 minutes",
    "LOGIN_DAILY_LIMIT": "7 per day",
    "SECOND_FACTOR_DAILY_LIMIT": "3 per day",
    "ADDRESS_RATE_LIMIT": "10 per hour",
}


# --- checking.py: one bcrypt, whatever the account ---


def agent_with(**secrets) -> Agent:
    """An agent (never stored) whose secrets share one salt, as passwords.hash_secret writes them."""
    agent = Agent(numero=NUMERO, password_state=secrets.pop("password_state", PasswordState.PERSONAL))
    salt_of = None
    for field, secret in secrets.items():
        if field.endswith("_hash") and secret is not None:
            setattr(agent, field, passwords.hash_secret(secret, PEPPER, 4, salt_of=salt_of))
            salt_of = salt_of or getattr(agent, field)
        else:
            setattr(agent, field, secret)
    return agent


def check(agent: Agent | None, secret: str, now: datetime = NOW) -> Outcome:
    """check_login with the test pepper and dummy hash."""
    return check_login(agent, secret, pepper=PEPPER, dummy_hash=DUMMY_HASH, now=now)


@pytest.fixture
def bcrypt_runs(monkeypatch):
    """The salts of every bcrypt computation, in order."""
    salts = []
    real = passwords._bcrypt
    monkeypatch.setattr(passwords, "_bcrypt", lambda material, salt: salts.append(salt) or real(material, salt))
    return salts


def test_the_personal_pin_logs_in_and_any_other_secret_fails():
    agent = agent_with(pin_hash=PIN)
    assert check(agent, PIN) is Outcome.PERSONAL
    assert check(agent, WRONG) is Outcome.FAILED


def test_an_unknown_numero_costs_one_bcrypt_against_the_dummy_hash(bcrypt_runs):
    assert check(None, PIN) is Outcome.FAILED
    assert bcrypt_runs == [DUMMY_HASH.encode()[:29]]


def test_a_login_costs_one_bcrypt_with_the_agents_shared_salt(bcrypt_runs):
    """Personal and provisional PIN both checked by one computation: a provisional PIN pending is not timed."""
    agent = agent_with(pin_hash=PIN, provisional_pin_hash=PROVISIONAL, provisional_issued_at=NOW)
    bcrypt_runs.clear()
    assert check(agent, PROVISIONAL) is Outcome.PROVISIONAL
    assert check(agent, WRONG) is Outcome.FAILED
    assert bcrypt_runs == [agent.pin_hash.encode()[:29]] * 2


def test_an_account_without_any_secret_is_checked_against_the_dummy_hash(bcrypt_runs):
    agent = agent_with(password_state=PasswordState.NONE)
    assert check(agent, PIN) is Outcome.FAILED
    assert bcrypt_runs == [DUMMY_HASH.encode()[:29]]


def test_the_main_hash_is_the_personal_pin_then_the_legacy_password_then_the_provisional_pin():
    agent = Agent(pin_hash="pin", legacy_password_hash="legacy", provisional_pin_hash="provisional")
    assert main_hash(agent) == "pin"
    agent.pin_hash = None
    assert main_hash(agent) == "legacy"
    agent.legacy_password_hash = None
    assert main_hash(agent) == "provisional"
    agent.provisional_pin_hash = None
    assert main_hash(agent) is None


def test_a_provisional_pin_hashed_with_its_own_salt_is_checked_a_second_time(bcrypt_runs):
    """Hashes written before salts were shared: the provisional PIN still works, at the cost of a second run."""
    agent = agent_with(pin_hash=PIN)
    agent.provisional_pin_hash = passwords.hash_secret(PROVISIONAL, PEPPER, 4)
    agent.provisional_issued_at = NOW
    bcrypt_runs.clear()
    assert check(agent, PROVISIONAL) is Outcome.PROVISIONAL
    assert check(agent, PIN) is Outcome.PERSONAL
    salts = [agent.pin_hash.encode()[:29], agent.provisional_pin_hash.encode()[:29]]
    assert bcrypt_runs == salts * 2


def test_a_provisional_pin_works_for_thirty_days_to_the_microsecond():
    agent = agent_with(provisional_pin_hash=PROVISIONAL, provisional_issued_at=NOW, password_state="provisional")
    end = NOW + timedelta(days=30)
    assert check(agent, PROVISIONAL, now=end - timedelta(microseconds=1)) is Outcome.PROVISIONAL
    assert check(agent, PROVISIONAL, now=end) is Outcome.PROVISIONAL_EXPIRED


def test_a_used_provisional_pin_no_longer_logs_in():
    agent = agent_with(pin_hash=PIN, provisional_pin_hash=PROVISIONAL, provisional_issued_at=NOW)
    agent.provisional_used_at = NOW
    assert check(agent, PROVISIONAL) is Outcome.FAILED
    assert check(agent, PIN) is Outcome.PERSONAL


def test_a_disabled_account_says_so_only_to_the_right_secret():
    agent = agent_with(pin_hash=PIN, provisional_pin_hash=PROVISIONAL, provisional_issued_at=NOW, disabled_at=NOW)
    assert check(agent, PIN) is Outcome.DISABLED
    assert check(agent, PROVISIONAL) is Outcome.DISABLED
    assert check(agent, WRONG) is Outcome.FAILED


def test_the_legacy_notice_follows_only_the_legacy_password():
    agent = agent_with(legacy_password_hash=LEGACY, password_state=PasswordState.LEGACY)
    assert check(agent, LEGACY) is Outcome.LEGACY
    assert check(agent, WRONG) is Outcome.FAILED


def test_a_legacy_account_with_a_pending_provisional_pin_takes_it():
    agent = agent_with(
        legacy_password_hash=LEGACY,
        provisional_pin_hash=PROVISIONAL,
        provisional_issued_at=NOW,
        password_state=PasswordState.LEGACY,
    )
    assert check(agent, PROVISIONAL) is Outcome.PROVISIONAL
    assert check(agent, LEGACY) is Outcome.LEGACY


def test_had_a_password_means_a_pin_now_or_a_first_connection_done():
    assert not had_a_password(Agent())
    assert had_a_password(Agent(pin_hash="pin"))
    assert had_a_password(Agent(personal_data_confirmed_at=NOW))


def test_a_provisional_login_after_a_password_of_ones_own_consumes_it_and_discards_the_others():
    agent = agent_with(pin_hash=PIN, legacy_password_hash=LEGACY, provisional_pin_hash=PROVISIONAL)
    apply_success(agent, Outcome.PROVISIONAL, NOW)
    assert agent.provisional_used_at == NOW
    assert agent.pin_hash is None and agent.legacy_password_hash is None
    assert agent.provisional_pin_hash is not None
    assert agent.password_state == PasswordState.PROVISIONAL


def test_at_a_first_connection_the_provisional_pin_stays_usable_until_a_pin_is_chosen():
    agent = agent_with(provisional_pin_hash=PROVISIONAL, password_state=PasswordState.NONE)
    apply_success(agent, Outcome.PROVISIONAL, NOW)
    assert agent.provisional_used_at is None
    assert agent.password_state == PasswordState.PROVISIONAL


def test_a_personal_login_discards_the_provisional_pin():
    agent = agent_with(pin_hash=PIN, provisional_pin_hash=PROVISIONAL, provisional_issued_at=NOW)
    agent.provisional_used_at = NOW
    apply_success(agent, Outcome.PERSONAL, NOW)
    assert (agent.provisional_pin_hash, agent.provisional_issued_at, agent.provisional_used_at) == (None, None, None)
    assert agent.pin_hash is not None


@pytest.mark.parametrize("outcome", [Outcome.LEGACY, Outcome.FAILED, Outcome.PROVISIONAL_EXPIRED])
def test_other_outcomes_change_no_secret(outcome):
    agent = agent_with(pin_hash=PIN, provisional_pin_hash=PROVISIONAL, provisional_issued_at=NOW)
    before = (agent.pin_hash, agent.provisional_pin_hash, agent.provisional_issued_at, agent.password_state)
    apply_success(agent, outcome, NOW)
    assert (agent.pin_hash, agent.provisional_pin_hash, agent.provisional_issued_at, agent.password_state) == before
    assert agent.provisional_used_at is None


# --- limits.py: which client and which network a limit counts ---


@pytest.mark.parametrize(
    "remote_addr, client",
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.10", "192.0.2.10"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_slash_64(remote_addr, client):
    """One IPv6 subscriber holds a whole /64: counting each address would give it an unlimited budget."""
    assert client_address_of(remote_addr) == client


@pytest.mark.parametrize(
    "client, network",
    [
        ("192.0.2.10", "192.0.2.0/24"),
        ("2001:db8:1:2::/64", "2001:db8:1::/48"),
        ("192.0.2.0/24", "192.0.2.0/24"),
        ("2001:db8:1::/48", "2001:db8:1::/48"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("unknown", "unknown"),
    ],
)
def test_a_clients_network_is_its_slash_24_or_slash_48(client, network):
    assert network_of(client) == network


# --- attempts.py and the limits' counters, in the limiter's memory storage ---


@pytest.fixture(scope="module")
def rules_app():
    """One app for the module: its limiter storage is emptied before each test."""
    return create_app({**BASE_CONFIG, **LIMITS, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.fixture
def from_client(rules_app):
    """A request from CLIENT, with no attempt counted anywhere yet."""
    with rules_app.test_request_context(environ_base={"REMOTE_ADDR": CLIENT}):
        limiter.storage.reset()
        yield


def request_from(rules_app, address: str):
    """A request context from another address."""
    return rules_app.test_request_context(environ_base={"REMOTE_ADDR": address})


def right():
    """A check that found the right secret."""
    return "the agent"


def wrong():
    """A check that found a wrong secret."""
    return None


def in_flight(rule=AGENT_LOGIN, identifier=NUMERO) -> int:
    """The account's checks running now."""
    return attempts._change_in_flight(rule, identifier, 0)


def fail(rule, times: int, identifier: str = NUMERO) -> list:
    """The verdicts of `times` wrong secrets in a row."""
    return [attempt(rule, identifier, wrong) for _ in range(times)]


def near(moment: datetime, expected: datetime) -> bool:
    """Within two seconds (the limiter's windows are counted in whole seconds)."""
    return abs(moment - expected) <= timedelta(seconds=2)


def test_each_wrong_secret_is_one_confirmed_failure_with_the_tries_left(from_client):
    verdicts = fail(AGENT_LOGIN, 5)
    assert [v.failures for v in verdicts] == [1, 2, 3, 4, 5]
    assert [v.tries_left for v in verdicts] == [4, 3, 2, 1, 0]
    assert [v.locked_now for v in verdicts] == [False, False, False, False, True]
    assert all(v.checked and not v.succeeded and v.refusal is None and not v.capped_now for v in verdicts)
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 5
    assert LOGIN_DAILY.attempts(NUMERO) == 5
    assert in_flight() == 0


def test_a_right_secret_clears_the_failures_and_gives_the_address_its_attempt_back(from_client):
    fail(AGENT_LOGIN, 2)
    verdict = attempt(AGENT_LOGIN, NUMERO, right)
    assert verdict.succeeded and verdict.checked and verdict.result == "the agent"
    assert (verdict.failures, verdict.tries_left, verdict.refusal) == (0, None, None)
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 0
    assert LOGIN_DAILY.attempts(NUMERO) == 2, "the day's failures stay"
    assert LOGIN_ADDRESS.attempts(CLIENT) == 2
    assert in_flight() == 0


def test_the_caller_judges_what_its_check_returned(from_client):
    verdict = attempt(AGENT_LOGIN, NUMERO, lambda: "PERSONAL", succeeded=lambda result: result == "PERSONAL")
    assert verdict.succeeded and verdict.result == "PERSONAL"
    verdict = attempt(AGENT_LOGIN, NUMERO, lambda: "FAILED", succeeded=lambda result: result == "PERSONAL")
    assert not verdict.succeeded and verdict.result == "FAILED" and verdict.failures == 1


def test_a_full_lockout_window_refuses_even_the_right_secret_unchecked(from_client):
    fail(AGENT_LOGIN, 5)
    checked = []
    verdict = attempt(AGENT_LOGIN, NUMERO, lambda: checked.append(1) or "the agent")
    assert verdict.refusal is Refusal.LOCKED and not verdict.checked and not verdict.succeeded
    assert checked == []
    assert near(verdict.retry_at, datetime.now(timezone.utc) + timedelta(minutes=15))
    assert verdict.retry_at == LOGIN_LOCKOUT.retry_at(NUMERO)
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 5, "a refused attempt is no failure"
    assert LOGIN_ADDRESS.attempts(CLIENT) == 6, "but the address paid for it"
    assert in_flight() == 0


def test_another_account_is_not_locked_by_this_one(from_client):
    fail(AGENT_LOGIN, 5)
    assert attempt(AGENT_LOGIN, "35127846S", right).succeeded


def test_the_staff_password_keeps_its_failures_for_the_second_factor(from_client):
    """Knowing the password buys no new guesses at the code: only the second factor clears the failures."""
    fail(STAFF_PASSWORD, 2, "agnes@cgos.example")
    verdict = attempt(STAFF_PASSWORD, "agnes@cgos.example", right)
    assert verdict.succeeded
    assert STAFF_LOCKOUT.attempts("agnes@cgos.example") == 2
    assert limits.STAFF_LOGIN_ADDRESS.attempts(CLIENT) == 2, "the right password's attempt given back"
    verdict = attempt(STAFF_CODE, "agnes@cgos.example", right)
    assert verdict.succeeded and STAFF_LOCKOUT.attempts("agnes@cgos.example") == 0


def test_the_daily_cap_refuses_wrong_codes_unchecked_until_the_day_ends(from_client):
    verdicts = fail(STAFF_CODE, 3, "agnes@cgos.example")
    assert [v.capped_now for v in verdicts] == [False, False, True]
    assert [v.tries_left for v in verdicts] == [2, 1, 0]
    assert [v.locked_now for v in verdicts] == [False, False, False]
    checked = []
    verdict = attempt(STAFF_CODE, "agnes@cgos.example", lambda: checked.append(1))
    assert verdict.refusal is Refusal.CAPPED and checked == []
    assert verdict.retry_at == SECOND_FACTOR_DAILY.retry_at("agnes@cgos.example")
    assert near(verdict.retry_at, datetime.now(timezone.utc) + timedelta(days=1))
    assert in_flight(STAFF_CODE, "agnes@cgos.example") == 0


def test_past_the_days_cap_of_wrong_codes_a_recovery_code_is_still_checked_within_the_lockout(from_client):
    fail(STAFF_CODE, 3, "agnes@cgos.example")
    assert attempt(STAFF_CODE, "agnes@cgos.example", right).refusal is Refusal.CAPPED
    assert attempt(attempts.STAFF_RECOVERY_CODE, "agnes@cgos.example", right).succeeded
    fail(attempts.STAFF_RECOVERY_CODE, 5, "agnes@cgos.example")
    assert attempt(attempts.STAFF_RECOVERY_CODE, "agnes@cgos.example", right).refusal is Refusal.LOCKED


def test_a_full_daily_cap_is_told_before_a_full_lockout(from_client):
    SECOND_FACTOR_DAILY.count("agnes@cgos.example")
    SECOND_FACTOR_DAILY.count("agnes@cgos.example")
    fail(STAFF_CODE, 1, "agnes@cgos.example")
    for _ in range(4):
        STAFF_LOCKOUT.count("agnes@cgos.example")
    assert attempt(STAFF_CODE, "agnes@cgos.example", right).refusal is Refusal.CAPPED


def test_the_tries_left_are_the_fewer_of_the_window_and_the_day(from_client):
    fail(AGENT_LOGIN, 4)
    attempt(AGENT_LOGIN, NUMERO, right)
    fifth, sixth, seventh = fail(AGENT_LOGIN, 3)
    assert (fifth.failures, fifth.tries_left, fifth.capped_now) == (1, 2, False)
    assert (sixth.failures, sixth.tries_left, sixth.capped_now) == (2, 1, False)
    assert (seventh.failures, seventh.tries_left, seventh.capped_now) == (3, 0, True)
    assert not seventh.capped and not seventh.locked_now


def test_past_the_daily_cap_the_agents_pin_is_still_checked_and_said_capped(from_client):
    """A provisional PIN issued after the block opens the account again, so it must still be checked."""
    fail(AGENT_LOGIN, 4)
    attempt(AGENT_LOGIN, NUMERO, right)
    fail(AGENT_LOGIN, 3)
    verdict = attempt(AGENT_LOGIN, NUMERO, right)
    assert verdict.checked and verdict.succeeded
    verdict = attempt(AGENT_LOGIN, NUMERO, wrong)
    assert verdict.checked and verdict.capped and verdict.tries_left == 0 and not verdict.capped_now


def test_before_the_daily_cap_an_attempt_is_not_said_capped(from_client):
    fail(AGENT_LOGIN, 4)
    attempt(AGENT_LOGIN, NUMERO, right)
    assert not fail(AGENT_LOGIN, 1)[0].capped


def test_the_staff_daily_cap_bounds_the_checks_admitted_at_once(from_client):
    """Daily cap 3 with 2 reached leaves one try, though the lockout window has five."""
    fail(STAFF_CODE, 2, "agnes@cgos.example")
    STAFF_LOCKOUT.clear("agnes@cgos.example")
    inner = []
    verdict = attempt(
        STAFF_CODE, "agnes@cgos.example", lambda: inner.append(attempt(STAFF_CODE, "agnes@cgos.example", right))
    )
    assert verdict.checked and inner[0].refusal is Refusal.BUSY


def test_simultaneous_checks_of_one_account_are_as_many_as_its_tries_left(from_client):
    """Twenty simultaneous wrong secrets are checked five times, not twenty."""
    seen = []

    def check():
        seen.append(in_flight())
        if len(seen) < 6:
            inner = attempt(AGENT_LOGIN, NUMERO, check)
            seen.append(inner.refusal)
        return None

    attempt(AGENT_LOGIN, NUMERO, check)
    assert seen[:5] == [1, 2, 3, 4, 5]
    assert seen[5] is Refusal.BUSY
    assert in_flight() == 0
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 5


def test_an_attempt_beyond_the_tries_left_is_refused_busy_unchecked_and_free(from_client):
    fail(AGENT_LOGIN, 4)
    address_before = LOGIN_ADDRESS.attempts(CLIENT)
    inner = []

    def outer_check():
        inner.append(attempt(AGENT_LOGIN, NUMERO, lambda: inner.append("checked")))
        inner.append(LOGIN_ADDRESS.attempts(CLIENT))
        return "the agent"

    verdict = attempt(AGENT_LOGIN, NUMERO, outer_check)
    busy, address_during = inner
    assert busy.refusal is Refusal.BUSY and not busy.checked
    assert address_during == address_before + 1, "only the outer attempt counts for the address"
    assert near(busy.retry_at, datetime.now(timezone.utc) + timedelta(seconds=bcrypt_line.CLIENT_RETRY_AFTER_SECONDS))
    assert verdict.succeeded
    assert in_flight() == 0


def test_the_login_and_the_pin_asked_from_home_share_the_accounts_checks(from_client):
    fail(AGENT_LOGIN, 4)
    inner = []
    attempt(AGENT_LOGIN, NUMERO, lambda: inner.append(attempt(AGENT_PIN, NUMERO, right)))
    assert inner[0].refusal is Refusal.BUSY


def test_a_check_that_raises_leaves_no_attempt_in_flight(from_client):
    fail(AGENT_LOGIN, 4)

    def broken():
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        attempt(AGENT_LOGIN, NUMERO, broken)
    assert in_flight() == 0
    assert attempt(AGENT_LOGIN, NUMERO, right).succeeded


def test_the_address_limit_refuses_before_the_account_is_touched(from_client):
    for number in range(10):
        attempt(AGENT_LOGIN, f"numero-{number}", wrong)
    checked = []
    verdict = attempt(AGENT_LOGIN, NUMERO, lambda: checked.append(1))
    assert verdict.refusal is Refusal.ADDRESS and checked == []
    assert verdict.retry_at == LOGIN_ADDRESS.retry_at(CLIENT)
    assert near(verdict.retry_at, datetime.now(timezone.utc) + timedelta(hours=1))
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 0 and in_flight() == 0


def test_the_pin_asked_from_home_has_no_address_limit(from_client):
    for _ in range(12):
        LOGIN_ADDRESS.hit(CLIENT)
    assert attempt(AGENT_PIN, NUMERO, right).succeeded


def test_a_failure_marks_the_client_and_its_network_as_failing(rules_app, from_client):
    fail(AGENT_LOGIN, 1)
    assert ADDRESS_FAILURES.attempts(CLIENT) == 1
    assert NETWORK_FAILURES.attempts("192.0.2.0/24") == 1
    assert attempts.failed_recently(CLIENT)
    assert attempts.failed_recently(NEIGHBOUR), "a neighbour of the same /24 goes last too"
    assert not attempts.failed_recently(STRANGER)


def test_failed_recently_reads_the_clients_own_failures_then_its_networks(from_client):
    ADDRESS_FAILURES.count(CLIENT)
    assert attempts.failed_recently(CLIENT) and not attempts.failed_recently(NEIGHBOUR)
    NETWORK_FAILURES.count("198.51.100.0/24")
    assert attempts.failed_recently(STRANGER)


def test_a_failure_of_a_rule_without_a_daily_cap_never_says_capped(from_client):
    verdicts = fail(STAFF_PASSWORD, 5, "agnes@cgos.example")
    assert [v.capped_now for v in verdicts] == [False] * 5
    assert [v.capped for v in verdicts] == [False] * 5
    assert verdicts[-1].locked_now and verdicts[-1].tries_left == 0


def test_a_failure_without_an_address_limit_marks_no_client(from_client):
    fail(AGENT_PIN, 1)
    assert not attempts.failed_recently(CLIENT)


def test_a_right_secret_marks_no_client(from_client):
    attempt(AGENT_LOGIN, NUMERO, right)
    assert not attempts.failed_recently(CLIENT)


def test_a_proof_of_possession_is_counted_per_address_only(from_client):
    fail(AGENT_LOGIN, 5)
    verdict = attempts.attempt_proof(LOGIN_ADDRESS, right)
    assert verdict.succeeded and verdict.result == "the agent", "a PIN locked out does not lock out the passkey"
    assert LOGIN_ADDRESS.attempts(CLIENT) == 5, "the right proof's attempt given back"
    verdict = attempts.attempt_proof(LOGIN_ADDRESS, lambda: "bad signature", succeeded=lambda result: result == "ok")
    assert not verdict.succeeded and verdict.checked and verdict.result == "bad signature"
    assert LOGIN_ADDRESS.attempts(CLIENT) == 6
    assert ADDRESS_FAILURES.attempts(CLIENT) == 6 and NETWORK_FAILURES.attempts("192.0.2.0/24") == 6


def test_a_failed_proof_alone_marks_the_client(from_client):
    attempts.attempt_proof(LOGIN_ADDRESS, wrong)
    assert ADDRESS_FAILURES.attempts(CLIENT) == 1 and NETWORK_FAILURES.attempts("192.0.2.0/24") == 1
    attempts.attempt_proof(LOGIN_ADDRESS, right)
    assert ADDRESS_FAILURES.attempts(CLIENT) == 1


def test_proofs_beyond_the_address_limit_are_refused_unchecked(from_client):
    for _ in range(10):
        attempts.attempt_proof(LOGIN_ADDRESS, wrong)
    checked = []
    verdict = attempts.attempt_proof(LOGIN_ADDRESS, lambda: checked.append(1))
    assert verdict.refusal is Refusal.ADDRESS and checked == []
    assert verdict.retry_at == LOGIN_ADDRESS.retry_at(CLIENT)


@pytest.fixture
def line(monkeypatch):
    """bcrypt_line's take_place and leave_place, recorded; `refuse` makes take_place raise."""
    calls = {"taken": [], "left": [], "refuse": None}

    def take_place(client, *, last, network=""):
        calls["taken"].append((client, last, network))
        if calls["refuse"]:
            raise calls["refuse"]
        return 7

    monkeypatch.setattr(bcrypt_line, "take_place", take_place)
    monkeypatch.setattr(bcrypt_line, "leave_place", lambda ticket: calls["left"].append(ticket))
    return calls


def test_a_login_holds_its_place_in_line_until_answered(from_client, line):
    with attempts.place_in_line(AGENT_LOGIN):
        assert line["taken"] == [(CLIENT, False, "192.0.2.0/24")] and line["left"] == []
    assert line["left"] == [7]


def test_a_client_whose_network_failed_recently_goes_last(rules_app, from_client, line):
    fail(AGENT_LOGIN, 1)
    with request_from(rules_app, NEIGHBOUR):
        with attempts.place_in_line(AGENT_LOGIN):
            pass
    assert line["taken"] == [(NEIGHBOUR, True, "192.0.2.0/24")]


@pytest.mark.parametrize("refusal", [bcrypt_line.ClientShareTaken(), bcrypt_line.LoginQueueFull()])
def test_a_refusal_in_line_counts_for_the_address_only_after_a_failure(from_client, line, refusal):
    """A hospital behind one address is never locked out by its colleagues' right logins."""
    line["refuse"] = refusal
    with pytest.raises(type(refusal)):
        with attempts.place_in_line(AGENT_LOGIN):
            pass
    assert LOGIN_ADDRESS.attempts(CLIENT) == 0
    fail(AGENT_LOGIN, 1)
    with pytest.raises(type(refusal)):
        with attempts.place_in_line(AGENT_LOGIN):
            pass
    assert LOGIN_ADDRESS.attempts(CLIENT) == 2
    with pytest.raises(type(refusal)):
        with attempts.place_in_line(AGENT_PIN):
            pass
    assert LOGIN_ADDRESS.attempts(CLIENT) == 2, "a rule without an address limit counts nothing"
    assert line["left"] == []


def test_a_limit_counts_refunds_clears_and_says_when_it_is_reached(from_client):
    assert (LOGIN_LOCKOUT.amount, LOGIN_DAILY.amount, LOGIN_ADDRESS.amount) == (5, 7, 10)
    assert [LOGIN_LOCKOUT.count(NUMERO) for _ in range(4)] == [1, 2, 3, 4]
    assert not LOGIN_LOCKOUT.reached(NUMERO)
    LOGIN_LOCKOUT.count(NUMERO)
    assert LOGIN_LOCKOUT.reached(NUMERO)
    LOGIN_LOCKOUT.refund(NUMERO)
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 4 and not LOGIN_LOCKOUT.reached(NUMERO)
    LOGIN_LOCKOUT.clear(NUMERO)
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 0
    assert LOGIN_DAILY.attempts(NUMERO) == 0, "each limit has its own counters"


def test_a_limits_hit_says_whether_the_attempt_is_allowed(from_client):
    assert all(LOGIN_LOCKOUT.hit(NUMERO) for _ in range(5))
    assert not LOGIN_LOCKOUT.hit(NUMERO)
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 6, "counted beyond the limit too"


def test_an_address_limit_reads_the_address_rate_under_its_forms_scope():
    """Built here, not at import: the module's own limits are made before any mutant is switched on."""
    limit = limits.AddressLimit("registration")
    assert (limit.config_key, limit.scope) == ("ADDRESS_RATE_LIMIT", "registration")


def test_an_address_limit_counts_this_requests_client(rules_app, from_client):
    assert LOGIN_ADDRESS.config_key == "ADDRESS_RATE_LIMIT"
    assert LOGIN_ADDRESS.hit_here() and LOGIN_ADDRESS.hit_here()
    LOGIN_ADDRESS.refund_here()
    with request_from(rules_app, STRANGER):
        LOGIN_ADDRESS.hit_here()
        assert LOGIN_ADDRESS.retry_here() == LOGIN_ADDRESS.retry_at(STRANGER)
    assert LOGIN_ADDRESS.attempts(CLIENT) == 1 and LOGIN_ADDRESS.attempts(STRANGER) == 1
    assert limits.STAFF_LOGIN_ADDRESS.attempts(CLIENT) == 0, "one counter per form"
    assert near(LOGIN_ADDRESS.retry_here(), datetime.now(timezone.utc) + timedelta(hours=1))


def test_the_too_many_message_says_when_to_come_back_in_paris_time(from_client):
    LOGIN_LOCKOUT.count(NUMERO)
    message = limits.too_many_message(LOGIN_LOCKOUT, NUMERO)
    retry = LOGIN_LOCKOUT.retry_at(NUMERO).astimezone(PARIS)
    assert message == f"Trop de demandes ont été faites : réessayez à partir de {retry.hour} h {retry.minute:02d}."


def test_unlocking_an_account_lifts_the_block_and_forgets_its_failures(from_client):
    fail(AGENT_LOGIN, 5)
    agent = Agent(numero=NUMERO, pin_blocked_at=NOW)
    limits.unlock_account(agent)
    assert agent.pin_blocked_at is None
    assert LOGIN_LOCKOUT.attempts(NUMERO) == 0 and LOGIN_DAILY.attempts(NUMERO) == 0
    assert attempt(AGENT_LOGIN, NUMERO, right).succeeded


@pytest.mark.parametrize("error", [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError])
def test_when_the_counters_cannot_be_reached_no_attempt_goes_unchecked(from_client, monkeypatch, caplog, error):
    """Fail closed: a 503 rather than a login that nobody counted."""

    def unreachable(*args, **kwargs):
        raise error("down")

    monkeypatch.setattr(limiter.storage, "incr", unreachable)
    checked = []
    with caplog.at_level(logging.ERROR, logger="cgos.credentials.limits"):
        with pytest.raises(ServiceUnavailable):
            attempt(AGENT_LOGIN, NUMERO, lambda: checked.append(1))
    assert checked == []
    assert caplog.messages == [f"rate-limit storage unavailable: {error.__name__}"]


def test_a_bug_in_the_counters_shows_as_a_bug(from_client, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(limiter.storage, "incr", broken)
    with pytest.raises(KeyError):
        LOGIN_LOCKOUT.count(NUMERO)
