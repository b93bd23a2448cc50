"""A steady load of pages and logins through nginx, every request recorded (checks 3 and 4)."""

import http.client
import threading
import time
from dataclasses import dataclass

from cluster import CLIENT_V4, Browser, Cluster, Response, keypad_form

SOPHIE, SOPHIE_PIN = "29088361 J", "482915"
PAGES = ["/", "/premiere-connexion", "/demande-numero", "/mot-de-passe-oublie", "/aide-et-contact"]


@dataclass
class Record:
    """One request of the load: what, when, and how it ended."""

    kind: str  # "page" or "login"
    started: float
    ended: float
    status: int | None  # None: no answer at all
    ok: bool
    request_id: str | None = None
    error: str | None = None


class SteadyLoad:
    """Page readers and agents logging in, each on a client address of its own, at a steady pace."""

    def __init__(
        self,
        cluster: Cluster,
        readers: int = 4,
        reader_interval: float = 0.1,
        agents: int = 3,
        agent_interval: float = 0.6,
    ):
        self.cluster = cluster
        self.records: list[Record] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._read, args=(CLIENT_V4[60 + i], reader_interval, i), daemon=True)
            for i in range(readers)
        ] + [
            threading.Thread(target=self._log_in, args=(CLIENT_V4[80 + i], agent_interval), daemon=True)
            for i in range(agents)
        ]

    def __enter__(self) -> "SteadyLoad":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _keep(self, record: Record) -> None:
        """Add a record."""
        with self.lock:
            self.records.append(record)

    def _timed(self, kind: str, send, expected) -> Response | None:
        """Send one request and record it; its response if it got the answer expected."""
        started = time.perf_counter()
        try:
            response = send()
        except (OSError, http.client.HTTPException) as error:
            self._keep(Record(kind, started, time.perf_counter(), None, False, error=type(error).__name__))
            return None
        ok = expected(response)
        self._keep(
            Record(kind, response.started, response.ended, response.status, ok, response.headers["X-Request-ID"])
        )
        return response if ok else None

    def _pace(self, due: float, interval: float) -> float:
        """Wait for the next due time; the one after it."""
        due += interval
        self.stopping.wait(max(0.0, due - time.perf_counter()))
        return due

    def _read(self, source: str, interval: float, offset: int) -> None:
        """A reader: a public page every `interval`, each on a new connection."""
        browser, due, turn = Browser(self.cluster, source, timeout=20), time.perf_counter(), offset
        while not self.stopping.is_set():
            path = PAGES[turn % len(PAGES)]
            self._timed("page", lambda path=path: browser.request("GET", path), lambda r: r.status == 200)
            turn += 1
            due = self._pace(due, interval)

    def _log_in(self, source: str, interval: float) -> None:
        """An agent: the keypad page, then the right PIN and « Valider », again and again."""
        browser, due = Browser(self.cluster, source, timeout=20), time.perf_counter()
        while not self.stopping.is_set():
            browser.cookies.clear()  # each login by a new visitor: a logged-in one would not get the keypad
            page = self._timed("page", lambda: browser.get("/"), lambda r: r.status == 200)
            if page is not None:
                form = keypad_form(page, SOPHIE, SOPHIE_PIN)
                self._timed(
                    "login",
                    lambda form=form: browser.post_login(form),
                    lambda r: r.status == 303 and r.headers["Location"] == "/espace-agent/",
                )
            due = self._pace(due, interval)

    def failures(self) -> list[Record]:
        """The requests that did not get the answer expected."""
        return [record for record in self.records if not record.ok]

    def counts(self) -> dict:
        """Requests by kind, and how many failed."""
        return {
            "requests": len(self.records),
            "logins": sum(r.kind == "login" for r in self.records),
            "failed": len(self.failures()),
        }
