"""At most as many bcrypt computations at once as the process has cores, so pages never wait behind them.

gunicorn's threaded workers serve pages in some threads while others hash:
bcrypt releases the GIL. More computations than cores would only slow each
other down and take the CPU from the pages, so each process lets at most
`BCRYPT_CONCURRENCY` run at once (default: its share of the cores) and the
others wait their turn. When the line already holds more than
`LOGIN_QUEUE_SECONDS` of work, a login is refused at once with a French 503
and `Retry-After` (see `refuse_when_busy`), before any limit counts it.
"""

import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
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
    """The bcrypt computations of one process: a bounded semaphore, and how long the line is."""

    def __init__(self, concurrency: int):
        """`concurrency` computations may run at once; the others wait."""
        self.concurrency = concurrency
        self._semaphore = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.queued = 0  # computations waiting for a slot or computing
        self.logins = 0  # login requests admitted by refuse_when_busy and not answered yet
        self.seconds = 0.0  # running estimate of one computation, 0 until one has run

    @contextmanager
    def held(self) -> Iterator[None]:
        """Wait for a free slot, keep it while the block computes, and time the computation."""
        with self._lock:
            self.queued += 1
        try:
            with self._semaphore:
                start = time.perf_counter()
                yield
                elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds = elapsed if not self.seconds else (SMOOTHING * elapsed + (1 - SMOOTHING) * self.seconds)
        finally:
            with self._lock:
                self.queued -= 1

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
        return max(self.queued, self.logins) * self.seconds / self.concurrency


_creation = threading.Lock()


def concurrency(app: Flask) -> int:
    """`BCRYPT_CONCURRENCY`, or by default this process's share of the cores (at least one)."""
    configured = app.config.get("BCRYPT_CONCURRENCY")
    if configured:
        return int(configured)
    return max(1, (os.cpu_count() or 1) // int(app.config.get("WORKERS") or 1))


def slots(app: Flask) -> Slots:
    """The bcrypt slots of this application in this process (created at first use, after the fork)."""
    with _creation:
        if "cgos_bcrypt_slots" not in app.extensions:
            app.extensions["cgos_bcrypt_slots"] = Slots(concurrency(app))
        return app.extensions["cgos_bcrypt_slots"]


@contextmanager
def computation() -> Iterator[None]:
    """Around one bcrypt computation: in a slot of the application, or directly outside one."""
    if not has_app_context():
        yield
        return
    with slots(current_app._get_current_object()).held():
        yield


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
