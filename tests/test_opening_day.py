"""Opening day: pages never wait behind bcrypt, and logins beyond a few seconds of line are refused."""

import os
import select
import signal
import sys
import threading
import time
from contextlib import contextmanager

import bcrypt
import pytest

from cgos import bcrypt_line
from cgos.credentials import limits
from cgos.credentials.hashing import hash_secret
from tests_support.personas import BRETAGNE_STAFF, SOPHIE

TOO_MANY = "Trop de connexions en ce moment : réessayez dans une minute."


@contextmanager
def slots_held(app, count: int = 1):
    """`count` bcrypt slots of the app taken by other threads until the block ends."""
    taken, release = threading.Barrier(count + 1), threading.Event()

    def hold() -> None:
        """Take a slot as a bcrypt computation would, and keep it."""
        with app.app_context(), bcrypt_line.computation():
            taken.wait()
            release.wait()

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    taken.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        for thread in threads:
            thread.join()


@pytest.fixture
def busy_app(make_app):
    """One bcrypt slot, and logins refused as soon as any work is queued; one hash already timed."""
    app = make_app(BCRYPT_CONCURRENCY=1, LOGIN_QUEUE_SECONDS=0)
    with app.app_context():
        hash_secret("000000")
        yield app


def test_a_login_behind_a_full_bcrypt_line_gets_a_french_503_with_retry_after(busy_app, new_agent):
    driver = new_agent(busy_app)
    driver.get("/")
    with slots_held(busy_app):
        page = driver.log_in(SOPHIE.numero, SOPHIE.pin, follow=False)
    assert page.status == 503
    assert page.response.headers["Retry-After"] == "60"
    assert page.soup.h1.get_text(strip=True) == "Trop de connexions"
    assert TOO_MANY in page.main.get_text(" ", strip=True)
    assert page.title.startswith("Trop de connexions")


def test_a_refused_login_counts_in_no_limit(busy_app, new_agent):
    driver = new_agent(busy_app)
    with slots_held(busy_app):
        for _ in range(3):
            assert driver.log_in(SOPHIE.numero, "111111", follow=False).status == 503
    assert limits.LOGIN_LOCKOUT.attempts(SOPHIE.compact_numero) == 0
    assert "Bienvenue" in driver.log_in(SOPHIE.numero, SOPHIE.pin).text


def test_the_staff_login_is_refused_the_same_way_before_its_lockout_counts(busy_app, new_agent):
    driver = new_agent(busy_app)
    driver.get("/delegation")
    with slots_held(busy_app):
        page = driver.submit("/delegation", {**BRETAGNE_STAFF.credentials, "password": "wrong"}, follow=False)
    assert page.status == 503
    assert page.response.headers["Retry-After"] == "60"
    assert limits.STAFF_LOCKOUT.attempts(BRETAGNE_STAFF.email) == 0


def test_pages_are_served_while_a_login_waits_for_the_only_bcrypt_slot(make_app, new_agent):
    app = make_app(BCRYPT_CONCURRENCY=1)
    with app.app_context():
        driver = new_agent(app)
        driver.get("/")
        statuses = []
        with slots_held(app):
            login = threading.Thread(
                target=lambda: statuses.append(driver.log_in(SOPHIE.numero, SOPHIE.pin, follow=False).status)
            )
            login.start()
            line = bcrypt_line.line(app)
            deadline = time.monotonic() + 10
            while line.count(bcrypt_line.WAITING) < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert line.count(bcrypt_line.WAITING) == 1, "the login waits for the slot"
            for path in ["/", "/premiere-connexion", "/delegation"]:
                assert app.test_client().get(path).status_code == 200
            assert statuses == []
        login.join(timeout=10)
        assert statuses == [303]
        assert bcrypt_line.line(app).count() == 0, "the login's place is given back"


def test_no_more_computations_run_at_once_than_the_configured_concurrency(make_app, monkeypatch):
    app = make_app(BCRYPT_CONCURRENCY=2)
    running, most = [], []
    real = bcrypt.hashpw

    def slow_hashpw(material, salt):
        """bcrypt, taking long enough for the threads to overlap, recording how many run."""
        running.append(1)
        most.append(len(running))
        time.sleep(0.05)
        running.pop()
        return real(material, salt)

    monkeypatch.setattr(bcrypt, "hashpw", slow_hashpw)

    def compute() -> None:
        """One hash inside the app."""
        with app.app_context():
            hash_secret("123456")

    threads = [threading.Thread(target=compute) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(most) == 2


def test_the_line_is_measured_in_cpu_seconds_of_work_per_slot(make_app):
    """A computation that waits (as a starved one at the lowest priority does) adds no time to the estimate."""
    app = make_app(BCRYPT_CONCURRENCY=2)
    line = bcrypt_line.line(app)
    with app.test_request_context():
        bcrypt_line.compute(time.sleep, 0.2)
        assert line.cpu_seconds < 0.05, "wall-clock time does not count, CPU time does"
        bcrypt_line.compute(bcrypt.hashpw, b"x", bcrypt.gensalt(10))
    assert 0.01 < line.cpu_seconds < 1
    assert line.queue_seconds() == 0
    tickets = [line.admit(f"192.0.2.{n}", last=False, per_client=2, budget_seconds=60) for n in range(6)]
    assert line.queue_seconds() == pytest.approx(3 * line.cpu_seconds)
    for ticket in tickets:
        line.leave(ticket)
    assert line.queue_seconds() == 0


def test_the_default_concurrency_is_the_hosts_cores(make_app, monkeypatch):
    monkeypatch.setattr(bcrypt_line.os, "cpu_count", lambda: 8)
    assert bcrypt_line.concurrency(make_app(WORKERS=2)) == 8
    assert bcrypt_line.concurrency(make_app(WORKERS=2, BCRYPT_CONCURRENCY=3)) == 3
    assert bcrypt_line.line(make_app(WORKERS=2)).concurrency == 8


def _in_child(work) -> int:
    """Fork (as gunicorn forks its workers) and run `work` in the child, which then exits: its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)
    return pid


def test_processes_forked_from_the_app_share_its_slots():
    slots = bcrypt_line.Line(1)
    reading, writing = os.pipe()

    def hold_a_while() -> None:
        """Take the host's only slot, say so, keep it half a second."""
        with slots.held():
            os.write(writing, b"x")
            time.sleep(0.5)

    child = _in_child(hold_a_while)
    os.read(reading, 1)
    start = time.monotonic()
    with slots.held():
        waited = time.monotonic() - start
    os.waitpid(child, 0)
    assert waited >= 0.3, "the other worker's computation held the host's only slot"


def test_the_slot_of_a_worker_killed_while_hashing_is_given_back():
    slots = bcrypt_line.Line(1)

    def die_while_hashing() -> None:
        """Take the host's only slot and be killed with it."""
        with slots.held():
            os.kill(os.getpid(), signal.SIGKILL)

    child = _in_child(die_while_hashing)
    os.waitpid(child, 0)
    assert slots.count(bcrypt_line.HASHING) == 1, "the slot went with the killed worker"
    assert slots.release_for(child) == 1
    with slots.held():
        pass
    assert slots.release_for(child) == 0


def _niceness() -> int:
    """The CPU niceness of the calling thread."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
def test_bcrypt_runs_at_the_lowest_cpu_priority_while_the_request_thread_keeps_its_own(make_app):
    app = make_app()
    before = _niceness()
    with app.app_context():
        assert bcrypt_line.compute(_niceness) == bcrypt_line.LOWEST_PRIORITY
        hashed = hash_secret("482915")
    assert hashed.startswith("$2b$")
    assert _niceness() == before, "a page served next by this thread must not run at bcrypt's priority"


def test_a_worker_forked_after_the_master_hashed_hashes_with_threads_of_its_own(make_app):
    app = make_app()
    with app.app_context():
        hash_secret("000000")  # the parent's hashing threads exist now; a fork does not copy them
    reading, writing = os.pipe()

    def hash_once() -> None:
        """Hash in the child, and say so."""
        with app.app_context():
            hash_secret("482915")
        os.write(writing, b"x")

    child = _in_child(hash_once)
    try:
        ready, _, _ = select.select([reading], [], [], 20)
        assert ready, "the child's computation never ran"
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
