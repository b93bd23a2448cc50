"""At most as many bcrypt computations at once on the host as it has cores, so pages never wait behind them.

gunicorn's threaded workers serve pages in some threads while others hash:
bcrypt releases the GIL, and runs in threads of the lowest CPU priority, so a
page that needs a core gets it before a computation does (`compute`). More
computations than cores would only slow each other down, so the host lets at most
`BCRYPT_CONCURRENCY` run at once (default: its cores) and the others wait
their turn. The line is one for all the workers: it is made with the
application, in gunicorn's master (`preload_app`), and the workers inherit it
when they are forked, so a free core is taken by whichever worker has a login
waiting. When a worker's logins already hold more than `LOGIN_QUEUE_SECONDS`
of work, a login is refused at once with a French 503 and `Retry-After` (see
`refuse_when_busy`), before any limit counts it.
"""

import functools
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context, request
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
# Weight of the newest computation in the running estimate of one computation's time.
SMOOTHING = 0.2


class LoginQueueFull(ServiceUnavailable):
    """A login refused because the bcrypt line already holds too many seconds of work."""


class Slots:
    """The host's bcrypt slots, and this process's line in front of them.

    The semaphore and the list of who holds each slot live in shared memory,
    inherited by the processes forked after this object is made; the counts of
    the line and the running time of one computation are this process's own.
    """

    def __init__(self, concurrency: int, workers: int = 1):
        """`concurrency` computations may run at once on the host, shared by `workers` processes."""
        self.share = max(1.0, concurrency / workers)  # slots this process has on average
        self._free = multiprocessing.BoundedSemaphore(concurrency)
        self._holders = multiprocessing.Array("i", concurrency)  # the pid holding each slot, 0 if free
        self._lock = threading.Lock()
        self.queued = 0  # this process's computations waiting for a slot or computing
        self.logins = 0  # login requests admitted by refuse_when_busy and not answered yet
        self.seconds = 0.0  # running estimate of one computation, 0 until one has run

    @contextmanager
    def held(self) -> Iterator[None]:
        """Wait for a free slot, keep it while the block computes, and time the computation."""
        with self._lock:
            self.queued += 1
        try:
            with self._free:
                slot = self._take()
                try:
                    start = time.perf_counter()
                    yield
                    elapsed = time.perf_counter() - start
                finally:
                    self._holders[slot] = 0
            with self._lock:
                self.seconds = elapsed if not self.seconds else (SMOOTHING * elapsed + (1 - SMOOTHING) * self.seconds)
        finally:
            with self._lock:
                self.queued -= 1

    def _take(self) -> int:
        """Write this process in a free slot of the list (the semaphore guarantees there is one)."""
        with self._holders.get_lock():
            slot = self._holders[:].index(0)
            self._holders[slot] = os.getpid()
        return slot

    def release_for(self, pid: int) -> int:
        """Free the slots a process held when it died (killed while hashing): called by
        gunicorn's master when a worker exits, so that a lost worker takes no core with it."""
        freed = 0
        with self._holders.get_lock():
            for slot, holder in enumerate(self._holders[:]):
                if holder == pid:
                    self._holders[slot] = 0
                    self._free.release()
                    freed += 1
        if freed:
            log.warning("%d bcrypt slot(s) freed after worker %d died", freed, pid)
        return freed

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Count a login request from its admission to its answer, its bcrypt still to come."""
        with self._lock:
            self.logins += 1
        try:
            yield
        finally:
            with self._lock:
                self.logins -= 1

    def queue_seconds(self) -> float:
        """Seconds of work ahead of a computation that would join the line now: the logins
        admitted count from the start, so that a burst cannot slip in before reaching bcrypt."""
        return max(self.queued, self.logins) * self.seconds / self.share


def concurrency(app: Flask) -> int:
    """`BCRYPT_CONCURRENCY`, or by default the host's cores."""
    return int(app.config.get("BCRYPT_CONCURRENCY") or os.cpu_count() or 1)


def init_app(app: Flask) -> None:
    """Make the application's bcrypt slots, before any worker is forked."""
    app.extensions["cgos_bcrypt_slots"] = Slots(concurrency(app), int(app.config.get("WORKERS") or 1))


def slots(app: Flask) -> Slots:
    """The bcrypt slots of this application."""
    return app.extensions["cgos_bcrypt_slots"]


@contextmanager
def computation() -> Iterator[None]:
    """Around one bcrypt computation: in a slot of the application, or directly outside one."""
    if not has_app_context():
        yield
        return
    with slots(current_app._get_current_object()).held():
        yield


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


def compute(function: Callable[..., bytes], *args) -> bytes:
    """Run one bcrypt computation in a slot (see computation), in a thread of lowest priority."""
    with computation():
        return _hashing_threads.submit(function, *args).result()


def refuse_when_busy(view):
    """Decorate a login view: its POST gets a French 503 at once when the bcrypt line is too long."""

    @functools.wraps(view)
    def gated(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        line = slots(current_app._get_current_object())
        waiting = line.queue_seconds()
        if waiting > current_app.config["LOGIN_QUEUE_SECONDS"]:
            log.warning("login refused: %.1f s of bcrypt work already queued", waiting)
            raise LoginQueueFull(retry_after=RETRY_AFTER_SECONDS)
        with line.admitted():
            return view(*args, **kwargs)

    return gated
