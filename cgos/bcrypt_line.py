"""The host's line in front of bcrypt: as many computations at once as it has cores, clients in turn.

gunicorn's threaded workers serve pages in some threads while others hash:
bcrypt releases the GIL, and runs in threads of the lowest CPU priority, so a
page that needs a core gets it before a computation does (`compute`). More
computations than cores would only slow each other down, so the host lets at
most `BCRYPT_CONCURRENCY` run at once (default: its cores) and the others wait
their turn.

The line is one for all the workers: it lives in shared memory made with the
application, in gunicorn's master (`preload_app`), and the workers inherit it
when they are forked. Each login request holds a ticket from its admission to
its answer (`admit`, `leave`), and each computation waits its turn with it
(`held`). A login is admitted only if:

- its client (an IPv4 address, an IPv6 /64) holds fewer than
  `LOGIN_LINE_PER_CLIENT` tickets (`ClientShareTaken`, a 429): nobody keeps the
  line full from one address;
- the work ahead of it is at most `LOGIN_QUEUE_SECONDS` (`LineFull`, a 503).

Tickets come in two classes: clients without recent failures go first, those
with recent failures (or whose network has some) last, behind every waiting
login of the first class. The work ahead of a first-class login therefore does
not count the last class: a flood of wrong logins cannot keep a newcomer out.
The time of one computation is measured as CPU time of the hashing thread, so
that a starved computation (bcrypt runs at the lowest priority) does not look
longer and shut the line by itself.

The line's mechanics are here; who goes last, and what a refusal counts, is
decided by the attempts rule (`credentials/attempts.py`).
"""

import hashlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context, has_request_context
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
# A client's extra login is refused while its others are answered: a few seconds.
CLIENT_RETRY_AFTER_SECONDS = 5
# Weight of the newest computation in the running estimate of one computation's CPU time.
SMOOTHING = 0.2
# Tickets in the line at once, host-wide: more than the threads of all the workers.
CAPACITY = 1024
# Ticket states: a login admitted (its computation to come), waiting for a slot, hashing, hashed.
FREE, ADMITTED, WAITING, HASHING, HASHED = 0, 1, 2, 3, 4
# How long a waiting computation sleeps before looking again, should a wake-up be missed.
RECHECK_SECONDS = 0.5


class LoginQueueFull(ServiceUnavailable):
    """A login refused because the line already holds too many seconds of work ahead of it."""


class ClientShareTaken(TooManyRequests):
    """A login refused because its client already holds its share of the line."""

    def __init__(self, retry_after: int = CLIENT_RETRY_AFTER_SECONDS):
        super().__init__()
        self.retry_after = retry_after


def client_id(client: str) -> int:
    """A stable 63-bit number for a client key, the same in every process (unlike `hash`)."""
    digest = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=8).digest(), "big")
    return (digest >> 1) or 1


class Line:
    """The host's bcrypt slots and the tickets in front of them, in shared memory.

    Every field is read and written under `_turns` (a process-shared condition).
    """

    def __init__(self, concurrency: int, capacity: int = CAPACITY):
        """`concurrency` computations may run at once on the host."""
        self.concurrency = concurrency
        self._turns = multiprocessing.Condition()
        self._pid = multiprocessing.RawArray("i", capacity)  # process holding the ticket, 0 if free
        self._client = multiprocessing.RawArray("q", capacity)  # client_id, 0 for a computation outside a login
        self._network = multiprocessing.RawArray("q", capacity)  # client_id of the client's /24 or /48
        self._last = multiprocessing.RawArray("b", capacity)  # 1: behind the first class
        self._state = multiprocessing.RawArray("b", capacity)
        self._since = multiprocessing.RawArray("q", capacity)  # order of arrival among the waiting
        self._top = multiprocessing.RawValue("i", 0)  # tickets beyond this index were never used
        self._arrivals = multiprocessing.RawValue("q", 0)
        self._cpu_seconds = multiprocessing.RawValue("d", 0.0)

    # --- reading (under _turns) ---

    def _tickets(self) -> list[tuple[int, int, int, int, int]]:
        """(index, pid, client, last, state) of each ticket in use."""
        top = self._top.value
        pids, clients, lasts, states = self._pid[:top], self._client[:top], self._last[:top], self._state[:top]
        return [(i, pids[i], clients[i], lasts[i], states[i]) for i in range(top) if states[i] != FREE]

    def _ahead(self, last: bool) -> int:
        """Computations to come before a newcomer's: the whole line for the last class; for the
        first, its own class and the last-class computations already holding a slot."""
        return sum(
            1
            for _, _, _, other_last, state in self._tickets()
            if state in (ADMITTED, WAITING, HASHING) and (last or not other_last or state == HASHING)
        )

    def _my_turn(self, ticket: int) -> bool:
        """A free slot, and no waiting computation before this one (first class, then arrival)."""
        tickets = self._tickets()
        if sum(1 for *_, state in tickets if state == HASHING) >= self.concurrency:
            return False
        mine = (self._last[ticket], self._since[ticket])
        return not any(state == WAITING and (self._last[i], self._since[i]) < mine for i, _, _, _, state in tickets)

    @property
    def cpu_seconds(self) -> float:
        """Running estimate of one computation's CPU time, 0 until one has run."""
        return self._cpu_seconds.value

    def queue_seconds(self, last: bool = False) -> float:
        """Seconds of work ahead of a login of this class that would join the line now."""
        with self._turns:
            return self._ahead(last) * self._cpu_seconds.value / self.concurrency

    def count(self, *states: int) -> int:
        """Tickets in these states (all in use when none is named), for tests and the bench."""
        with self._turns:
            return sum(1 for *_, state in self._tickets() if not states or state in states)

    # --- tickets ---

    def _take_ticket(self, client: int, last: bool, state: int) -> int:
        """Write a ticket in a free place (under _turns)."""
        top = self._top.value
        states = self._state[:top]
        index = states.index(FREE) if FREE in states else top
        if index >= len(self._state):
            raise LoginQueueFull(retry_after=RETRY_AFTER_SECONDS)
        self._pid[index], self._client[index], self._last[index] = os.getpid(), client, int(last)
        self._network[index] = 0
        self._state[index] = state
        self._top.value = max(top, index + 1)
        return index

    def admit(self, client: str, *, last: bool, per_client: int, budget_seconds: float, network: str = "") -> int:
        """A login's ticket, or ClientShareTaken / LoginQueueFull at once.

        Networks take turns in the first class too: a login whose network (`network`, its
        /24 or /48) already has `per_client` first-class logins in the line joins the last
        class, so that many fresh addresses of one network cannot fill the front of the line
        before any of them has failed.
        """
        me, mine = client_id(client), client_id(network or client)
        with self._turns:
            tickets = self._tickets()
            if sum(1 for _, _, other, *_ in tickets if other == me) >= per_client:
                raise ClientShareTaken()
            neighbours = self._network[: self._top.value]
            in_front = sum(
                1
                for i, _, _, other_last, state in tickets
                if not other_last and state != HASHED and neighbours[i] == mine
            )
            last = last or in_front >= per_client
            waiting = self._ahead(last) * self._cpu_seconds.value / self.concurrency
            if waiting <= budget_seconds:
                ticket = self._take_ticket(me, last, ADMITTED)
                self._network[ticket] = mine
                return ticket
        refused_logins.note(waiting, last)
        raise LoginQueueFull(retry_after=RETRY_AFTER_SECONDS)

    def leave(self, ticket: int) -> None:
        """The login is answered: its ticket is free."""
        with self._turns:
            self._state[ticket] = FREE
            self._pid[ticket] = 0
            self._turns.notify_all()

    @contextmanager
    def held(self, ticket: int | None = None) -> Iterator[None]:
        """Wait for this ticket's turn, hold a slot while the block computes. Without a ticket
        (a computation outside a login), one is taken for the computation alone, in the first class."""
        with self._turns:
            if ticket is None:
                ticket, own = self._take_ticket(0, False, WAITING), True
            else:
                own = False
            self._arrivals.value += 1
            self._since[ticket] = self._arrivals.value
            self._state[ticket] = WAITING
            while not self._my_turn(ticket):
                self._turns.wait(RECHECK_SECONDS)
            self._state[ticket] = HASHING
        try:
            yield
        finally:
            with self._turns:
                if own:
                    self._state[ticket] = FREE
                    self._pid[ticket] = 0
                else:
                    self._state[ticket] = HASHED
                self._turns.notify_all()

    def record(self, cpu_seconds: float) -> None:
        """One computation took this much CPU time: update the running estimate."""
        with self._turns:
            before = self._cpu_seconds.value
            self._cpu_seconds.value = cpu_seconds if not before else SMOOTHING * cpu_seconds + (1 - SMOOTHING) * before

    def release_for(self, pid: int) -> int:
        """Free the tickets of a process that died (killed while hashing): called by gunicorn's
        master when a worker exits, so that a lost worker takes no slot with it. How many held a slot."""
        freed = 0
        with self._turns:
            for index, holder, _, _, state in self._tickets():
                if holder == pid:
                    freed += state == HASHING
                    self._state[index] = FREE
                    self._pid[index] = 0
            self._turns.notify_all()
        if freed:
            log.warning("%d bcrypt slot(s) freed after worker %d died", freed, pid)
        return freed


class RefusalLog:
    """One WARNING line a second at most for the line's refusals, with how many there were:
    a flood must not cost a log line per request it sends."""

    def __init__(self, every_seconds: float = 1.0):
        self.every_seconds = every_seconds
        self._lock = threading.Lock()
        self._since = 0
        self._logged_at = 0.0

    def note(self, waiting: float, last: bool) -> None:
        """Count one refusal; log the count once a second."""
        with self._lock:
            self._since += 1
            now = time.monotonic()
            if now - self._logged_at < self.every_seconds:
                return
            count, self._since, self._logged_at = self._since, 0, now
        log.warning(
            "%d login(s) refused: %.1f s of bcrypt work ahead (%s class)", count, waiting, "last" if last else "first"
        )


refused_logins = RefusalLog()


def concurrency(app: Flask) -> int:
    """`BCRYPT_CONCURRENCY`, or by default the host's cores."""
    return int(app.config.get("BCRYPT_CONCURRENCY") or os.cpu_count() or 1)


def init_app(app: Flask) -> None:
    """Make the application's line, before any worker is forked."""
    app.extensions["cgos_bcrypt_line"] = Line(concurrency(app))


def line(app: Flask) -> Line:
    """The bcrypt line of this application."""
    return app.extensions["cgos_bcrypt_line"]


@contextmanager
def computation() -> Iterator[None]:
    """Around one bcrypt computation: in the application's line (with the login's ticket, if the
    request holds one), or directly outside an application."""
    if not has_app_context():
        yield
        return
    ticket = g.get("bcrypt_ticket") if has_request_context() else None
    with line(current_app._get_current_object()).held(ticket):
        yield


def take_place(client: str, *, last: bool, network: str = "") -> int:
    """This request's ticket in the line, held until `leave_place` (see Line.admit): or a refusal."""
    app = current_app._get_current_object()
    ticket = line(app).admit(
        client,
        network=network,
        last=last,
        per_client=int(app.config["LOGIN_LINE_PER_CLIENT"]),
        budget_seconds=float(app.config["LOGIN_QUEUE_SECONDS"]),
    )
    g.bcrypt_ticket = ticket
    return ticket


def leave_place(ticket: int) -> None:
    """The request is answered: its place in the line is free."""
    g.pop("bcrypt_ticket", None)
    line(current_app._get_current_object()).leave(ticket)


LOWEST_PRIORITY = 19


def _lowest_priority() -> None:
    """Give this thread, and only it, the least CPU priority (Linux counts niceness per thread)."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)


def _start_hashing_threads() -> None:
    """This process's threads for the computations themselves, started when first needed.

    They run at the lowest priority: on a core where a page and a computation both wait, the
    page goes first, and bcrypt takes every cycle the pages leave. A thread cannot take back a
    priority it gave up, hence threads kept for hashing alone. A forked process (a gunicorn
    worker) starts its own: threads are not inherited by a fork. There are at most the cores
    plus four of them (the executor's default), which is more than the default slots.
    """
    global _hashing_threads
    _hashing_threads = ThreadPoolExecutor(thread_name_prefix="bcrypt", initializer=_lowest_priority)


_hashing_threads: ThreadPoolExecutor
_start_hashing_threads()
os.register_at_fork(after_in_child=_start_hashing_threads)


def _timed(function: Callable[..., bytes], *args) -> tuple[bytes, float]:
    """Run the function in this (hashing) thread: its result and the CPU time it took."""
    start = time.thread_time()
    result = function(*args)
    return result, time.thread_time() - start


def compute(function: Callable[..., bytes], *args) -> bytes:
    """Run one bcrypt computation in its turn (see computation), in a thread of lowest priority."""
    with computation():
        result, cpu_seconds = _hashing_threads.submit(_timed, function, *args).result()
    if has_app_context():
        line(current_app._get_current_object()).record(cpu_seconds)
    return result
