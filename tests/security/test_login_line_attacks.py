"""Attacks on the bcrypt line in front of every login (issue 20, N1 of the December audit).

A flood of wrong logins kept the host's line full: every login got « Trop de connexions »,
and the refusals counted nowhere. These tests hold logins inside the line with its only slot
taken (no timing: they wait at a barrier until the line is in the state the test wants),
then show who is admitted, who is refused, and what a refusal costs. Each failed on the
code before the fair line.
"""

import threading
import time
from contextlib import contextmanager

import pytest

from cgos import bcrypt_line, passwords
from cgos.credentials import limits
from tests_support.personas import BRETAGNE_STAFF, MARIE, SOPHIE

FLOODERS = ["198.51.100.7", "198.51.100.8", "2001:db8:bad:1::7"]
NEWCOMER = "203.0.113.50"
ONE_HASH = 0.3  # CPU seconds of one computation, as the line estimates it


@pytest.fixture
def line_app(make_app):
    """One slot, one second of work allowed ahead of a login, one hash of 0.3 s measured."""
    app = make_app(BCRYPT_CONCURRENCY=1, LOGIN_QUEUE_SECONDS=1, ADDRESS_RATE_LIMIT="1000 per hour")
    bcrypt_line.line(app).record(ONE_HASH)
    with app.app_context():
        yield app


@contextmanager
def only_slot_taken(app):
    """The line's only slot held by another computation until the block ends."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with app.app_context(), bcrypt_line.computation():
            taken.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=10)


def wait_until(condition, timeout: float = 10) -> None:
    """Poll until the line reaches the state the test waits for (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the line never reached the expected state"
        time.sleep(0.01)


def mark_as_failing(address: str) -> None:
    """Give this client address a recent confirmed failure, as a wrong login would."""
    client = limits.client_address_of(address)
    limits.ADDRESS_FAILURES.count(client)
    limits.NETWORK_FAILURES.count(limits.network_of(client))


class Login:
    """One keypad login from one client address, posted in its own thread."""

    def __init__(self, app, new_agent, address: str, numero: str, pin: str):
        self.driver = new_agent(app.test_client())
        self.driver.client.environ_base["REMOTE_ADDR"] = address
        page = self.driver.get("/")
        tokens = page.key_tokens()
        self.data = {**page.form_data(), "numero": numero, "action": "validate"}
        self.data["pressed"] = " ".join(tokens[d] for d in pin)
        self.response = None
        self.thread = threading.Thread(target=self.post)

    def post(self) -> None:
        self.response = self.driver.client.post("/", data=self.data)

    def start(self) -> "Login":
        self.thread.start()
        return self

    def answer(self):
        self.thread.join(timeout=30)
        return self.response


@pytest.fixture
def order_of_checks(monkeypatch):
    """The secrets compared with a stored hash, in the order bcrypt got to them."""
    order = []
    real = passwords.compute_with_salt_of
    monkeypatch.setattr(passwords, "compute_with_salt_of", lambda secret, *a: order.append(secret) or real(secret, *a))
    return order


def test_a_flood_of_wrong_logins_cannot_keep_a_newcomer_out_of_the_line(line_app, new_agent, order_of_checks):
    line = bcrypt_line.line(line_app)
    for address in FLOODERS:
        mark_as_failing(address)
    flood = [Login(line_app, new_agent, address, MARIE.numero, "111111") for address in FLOODERS]
    newcomer = Login(line_app, new_agent, NEWCOMER, SOPHIE.numero, SOPHIE.pin)
    with only_slot_taken(line_app):
        for login in flood:
            login.start()
        wait_until(lambda: line.count(bcrypt_line.WAITING) == 3)
        # The line now holds 4 × 0.3 s, over its second: the old gate refused everyone from here.
        extra = Login(line_app, new_agent, "198.51.100.9", MARIE.numero, "111111")
        mark_as_failing("198.51.100.9")
        assert extra.start().answer().status_code == 503, "a failing client waits behind the whole line"
        newcomer.start()
        wait_until(lambda: line.count(bcrypt_line.WAITING) == 4)
    assert newcomer.answer().status_code == 303
    assert [login.answer().status_code for login in flood] == [422, 422, 422]
    assert order_of_checks[0] == SOPHIE.pin, "the client without failures is checked before the flood"


def test_a_client_holding_its_share_of_the_line_gets_a_429_without_bcrypt(line_app, new_agent, order_of_checks):
    line = bcrypt_line.line(line_app)
    address = FLOODERS[0]
    held = [Login(line_app, new_agent, address, MARIE.numero, "111111") for _ in range(2)]
    with only_slot_taken(line_app):
        for login in held:
            login.start()
        wait_until(lambda: line.count(bcrypt_line.WAITING) == 2)
        third = Login(line_app, new_agent, address, SOPHIE.numero, SOPHIE.pin).start().answer()
        assert third.status_code == 429
        assert int(third.headers["Retry-After"]) > 0
        assert "Trop de connexions" in third.get_data(as_text=True)
        assert order_of_checks == []
    for login in held:
        login.answer()


def test_refusals_count_in_the_address_limit_only_for_a_client_that_failed(make_app, new_agent):
    """A hospital behind one address is never locked out by its colleagues' right logins."""
    app = make_app(BCRYPT_CONCURRENCY=1, LOGIN_QUEUE_SECONDS=0)
    bcrypt_line.line(app).record(ONE_HASH)
    with app.app_context():
        mark_as_failing(FLOODERS[0])
        with only_slot_taken(app):
            for address in (NEWCOMER, FLOODERS[0]):
                assert Login(app, new_agent, address, SOPHIE.numero, SOPHIE.pin).start().answer().status_code == 503
        assert limits.LOGIN_ADDRESS.attempts(NEWCOMER) == 0
        assert limits.LOGIN_ADDRESS.attempts(FLOODERS[0]) == 1


def test_one_failing_address_puts_its_whole_ipv6_48_last(line_app, new_agent):
    mark_as_failing("2001:db8:bad:1::7")
    neighbour = "2001:db8:bad:2::1"  # another /64 of the same /48, which never failed itself
    assert limits.ADDRESS_FAILURES.attempts(limits.client_address_of(neighbour)) == 0
    line = bcrypt_line.line(line_app)
    with only_slot_taken(line_app):
        for n in range(3):
            line.admit(f"192.0.2.{n}", last=True, per_client=2, budget_seconds=60)
        # 1.2 s of work ahead of the last class, 0.3 s ahead of the first: the neighbour goes last.
        assert Login(line_app, new_agent, neighbour, SOPHIE.numero, SOPHIE.pin).start().answer().status_code == 503
    assert limits.LOGIN_ADDRESS.attempts(limits.client_address_of(neighbour)) == 1


def test_the_staff_login_takes_its_place_in_the_same_fair_line(line_app, new_agent):
    line = bcrypt_line.line(line_app)
    mark_as_failing(FLOODERS[0])
    with only_slot_taken(line_app):
        for n in range(3):
            line.admit(f"192.0.2.{n}", last=True, per_client=2, budget_seconds=60)
        flooder = new_agent(line_app.test_client())
        flooder.client.environ_base["REMOTE_ADDR"] = FLOODERS[0]
        flooder.get("/delegation")
        refused = flooder.submit("/delegation", {"email": BRETAGNE_STAFF.email, "password": "wrong"}, follow=False)
        assert refused.status == 503
        staff = new_agent(line_app.test_client())
        staff.client.environ_base["REMOTE_ADDR"] = NEWCOMER
        staff.get("/delegation")
        data = {**staff.page.form_data(), "email": BRETAGNE_STAFF.email, "password": BRETAGNE_STAFF.password}
        result = {}
        thread = threading.Thread(target=lambda: result.update(r=staff.client.post("/delegation", data=data)))
        thread.start()
        wait_until(lambda: line.count(bcrypt_line.WAITING) == 1)
    thread.join(timeout=30)
    assert result["r"].status_code == 303, "the staff member without failures was admitted and checked"


def test_fresh_addresses_of_one_network_cannot_fill_the_front_of_the_line(line_app, new_agent):
    """Before any of them has failed, a flood's addresses looked clean: a /24 held the whole front
    of the line and a newcomer got the 503 (the bench's flood row, 7 of 15). Networks now take turns."""
    line = bcrypt_line.line(line_app)
    with only_slot_taken(line_app):
        for n in (1, 2):
            line.admit(f"198.51.100.{n}", network="198.51.100.0/24", last=False, per_client=2, budget_seconds=60)
        line.admit("192.0.2.77", last=True, per_client=2, budget_seconds=60)  # a failing client at the back
        # A third fresh address of the same /24 goes last: 4 × 0.3 s ahead of it; a newcomer has 3 × 0.3 s.
        fresh = Login(line_app, new_agent, "198.51.100.3", MARIE.numero, "111111")
        assert fresh.start().answer().status_code == 503
        assert limits.LOGIN_ADDRESS.attempts("198.51.100.3") == 0, "it never failed: its refusal costs it nothing"
        newcomer = Login(line_app, new_agent, NEWCOMER, SOPHIE.numero, SOPHIE.pin).start()
        wait_until(lambda: line.count(bcrypt_line.WAITING) == 1)
    assert newcomer.answer().status_code == 303
