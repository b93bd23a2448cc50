"""The December audit's flood (N1) against a real gunicorn: can an agent still log in?

A gunicorn of its own, on the benchmark's PostgreSQL and Redis, with one bcrypt
slot and one second of work allowed ahead (`BCRYPT_CONCURRENCY=1`,
`LOGIN_QUEUE_SECONDS=1`) and the client address taken from X-Forwarded-For
(`PROXY_FIX_X_FOR=1`). Eight attacker threads keep eight wrong logins in flight
at all times, each sending the next as soon as the last is answered, whatever
the answer and its Retry-After; their addresses rotate over 32 IPv4 addresses
and 32 IPv6 /64s of one /48. Meanwhile Sophie logs in with her right PIN from
another network every 2 s, opening the login page first each time.

`bench/run.py` reports it as the « flood » row; `python bench/flood.py` runs it
alone, on services of its own, and prints the figures.
"""

import itertools
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy
from run import (
    connect,
    cpu_seconds,
    environment,
    free_port,
    host_seconds,
    prepared_login,
    quantiles_ms,
    request,
    setup_demo,
    start_gunicorn,
    start_services,
    stop_services,
    workers_of,
)

SETTINGS = {
    "FLASK_BCRYPT_CONCURRENCY": "1",
    "FLASK_LOGIN_QUEUE_SECONDS": "1",
    "FLASK_PROXY_FIX_X_FOR": "1",
    "FLASK_LOGIN_LINE_PER_CLIENT": "2",  # the default, which the rest of the bench raises
}
ATTACKERS = 8  # wrong logins in flight at all times
# Documentation ranges (RFC 5737, RFC 3849): 32 IPv4 addresses of one /24, 32 /64s of one /48.
FLOOD_ADDRESSES = [f"198.51.100.{n}" for n in range(1, 33)] + [f"2001:db8:4a7:{n:x}::1" for n in range(1, 33)]
AGENT_ADDRESS = "203.0.113.25"  # another /24
# Every demo numéro but Sophie's: valid numéros, none of them hers (her account is not the target).
FLOODED = ["35127846 S", "22904518 R", "35477120 M", "75236094 N"]
AGENT_LOGINS = 15
AGENT_EVERY = 2.0  # seconds between the starts of her logins
WARM_UP = 3.0  # the flood runs alone first: its clients fail, and the line fills
AGENT_TIMEOUT = 10.0  # seconds she waits for a page or a login before giving up
LAST_START = 45.0  # no login of hers starts later than this after the first: the run stays bounded
TARGET = 0.9
DESCRIPTION = (
    "Flood (the December audit's N1, `bench/flood.py`): a gunicorn of its own on the same PostgreSQL and Redis, "
    "with `BCRYPT_CONCURRENCY=1`, `LOGIN_QUEUE_SECONDS=1` and `PROXY_FIX_X_FOR=1`. "
    f"{ATTACKERS} Python threads each send wrong logins on the four other demo numéros, keyboard mode and keypad "
    "by turns, the next as soon as the last is answered (Retry-After ignored), each from the next X-Forwarded-For "
    "address of a rotation over 198.51.100.1–32 and 32 /64s of 2001:db8:4a7::/48. After "
    f"{WARM_UP:.0f} s, Sophie logs in with her right PIN from {AGENT_ADDRESS} every {AGENT_EVERY:.0f} s "
    f"({AGENT_LOGINS} times; at once after a login slower than that), each time the login page with a fresh cookie, "
    f"then « Valider », giving up after {AGENT_TIMEOUT:.0f} s. A login checked by bcrypt is a `login_failure` event; "
    "the per-address and lockout limits are raised as for the whole bench, so every flood login the line admits "
    "reaches bcrypt (the daily cap still blocks the flooded accounts, which are still checked)."
)


def attacker(port: int, stop: threading.Event, addresses, answers: list) -> None:
    """Wrong logins one after the other, in keyboard mode and on the keypad by turns, each from the
    next address of the rotation, as fast as the server answers and ignoring Retry-After."""
    connection = connect(port)
    form, rounds = None, itertools.count()
    while not stop.is_set():
        n = next(rounds)
        headers = {"X-Forwarded-For": next(addresses)}
        numero, pin = FLOODED[n % len(FLOODED)], f"{random.randrange(10**6):06d}"
        try:
            if n % 2 or form is None:  # the keypad is single use: a new page for each
                cookie, body = prepared_login(port, connection, numero, pin, headers)
                if form is None:
                    form = cookie, dict(urllib.parse.parse_qsl(body))
            else:  # keyboard mode: the first page's cookie and CSRF token, again and again
                cookie, fields = form
                body = urllib.parse.urlencode({**fields, "numero": numero, "mode": "clavier", "password": pin})
            status, _, _ = request(
                port,
                "POST",
                "/",
                body,
                {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", **headers},
                connection,
            )
        except OSError as error:  # no answer in time
            status = type(error).__name__
            connection.close()
        answers.append(status)
    connection.close()


def agent(port: int, logins: list, flood_start: float) -> None:
    """Sophie's right-PIN logins, one every AGENT_EVERY seconds (or at once after a slow one): the
    login page with a fresh cookie, then « Valider »; each timed, page and POST apart."""
    connection = connect(port, AGENT_TIMEOUT)
    headers = {"X-Forwarded-For": AGENT_ADDRESS}
    start = time.perf_counter()
    for n in range(AGENT_LOGINS):
        due = start + n * AGENT_EVERY
        if due - start > LAST_START:
            logins.append({"status": "not started"})
            continue
        time.sleep(max(0.0, due - time.perf_counter()))
        began = time.perf_counter()
        page = location = None
        try:
            cookie, body = prepared_login(port, connection, headers=headers)
            page = time.perf_counter()
            status, answer, _ = request(
                port,
                "POST",
                "/",
                body,
                {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", **headers},
                connection,
            )
            location = answer.get("Location")
        except OSError as error:
            status = type(error).__name__
            connection.close()
        ended = time.perf_counter()
        logins.append(
            {
                "status": status,
                "in": status == 303 and "mot-de-passe-oublie" not in (location or ""),
                "at": began - flood_start,
                "total": ended - began,
                "post": ended - page if page else None,
            }
        )
    connection.close()


def security_events(database_url: str) -> Counter:
    """The security events recorded so far, by kind."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT kind, count(*) FROM security_event GROUP BY kind"))
            return Counter(dict(rows.all()))
    finally:
        engine.dispose()


def first_failures(database_url: str, since: datetime) -> dict:
    """When each of the flood's two networks had its first confirmed failure after `since` (UTC):
    from then on its logins go last in the line. None for a network that had none."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                network: connection.execute(
                    sqlalchemy.text(
                        "SELECT min(created_at) FROM security_event "
                        "WHERE kind = 'login_failure' AND ip_address LIKE :prefix AND created_at >= :since"
                    ),
                    {"prefix": prefix, "since": since},
                ).scalar()
                for network, prefix in (("/24", "198.51.100.%"), ("/48", "2001:db8:4a7:%"))
            }
    finally:
        engine.dispose()


def flood_figure(folder: Path, services: dict) -> dict:
    """The flood against a gunicorn of its own (the demo data already set up): Sophie's logins and
    what the flood got, with where the cores went meanwhile."""
    port = free_port()
    log = folder / "gunicorn.log"
    log_start = log.stat().st_size if log.exists() else 0
    events_before = security_events(services["CGOS_TEST_DATABASE_URL"])
    gunicorn = start_gunicorn(folder, {**environment(folder, services), **SETTINGS}, port)
    try:
        workers = workers_of(gunicorn.pid)
        addresses = itertools.cycle(FLOOD_ADDRESSES)  # next() on it is atomic under the GIL
        stop, answers, logins = threading.Event(), [], []
        attackers = [threading.Thread(target=attacker, args=(port, stop, addresses, answers)) for _ in range(ATTACKERS)]
        started, host_start, workers_start = time.perf_counter(), host_seconds(), cpu_seconds(workers)
        began = datetime.now(timezone.utc).replace(tzinfo=None)  # as the events' created_at
        generator_start = time.process_time()
        for thread in attackers:
            thread.start()
        time.sleep(WARM_UP)
        agent(port, logins, started)
        stop.set()
        for thread in attackers:
            thread.join()
        seconds = time.perf_counter() - started
        host_end, workers_end, generator_end = host_seconds(), cpu_seconds(workers), time.process_time()
    finally:
        gunicorn.terminate()
        gunicorn.wait()
    events = security_events(services["CGOS_TEST_DATABASE_URL"]) - events_before
    demoted = {
        network: (at - began).total_seconds() if at else None
        for network, at in first_failures(services["CGOS_TEST_DATABASE_URL"], began).items()
    }
    with log.open() as file:
        file.seek(log_start)
        # One line a second at most: « N login(s) refused: … (first|last class) », the class of its last refusal.
        refusals = Counter()
        for match in re.finditer(r"(\d+) login\(s\) refused: .*\((first|last) class\)", file.read()):
            refusals[match.group(2)] += int(match.group(1))
    done = [login for login in logins if "total" in login]
    return {
        "seconds": seconds,
        "logins": logins,
        "in": sum(login.get("in", False) for login in logins),
        "total": quantiles_ms([login["total"] for login in done]) if len(done) > 1 else None,
        "post": quantiles_ms([login["post"] for login in done if login["post"]]) if len(done) > 1 else None,
        "statuses": Counter(login["status"] for login in logins),
        "answers": Counter(answers),
        # Every wrong login bcrypt checked is a `login_failure` event (Sophie has none).
        "checked": events["login_failure"],
        "blocked": events["pin_blocked"],
        "refusals": refusals,
        "demoted": demoted,
        "bcrypt_cores": (host_end["niced"] - host_start["niced"]) / seconds,
        "workers_cores": (workers_end - workers_start) / seconds,
        "generator_cores": (generator_end - generator_start) / seconds,
        "idle_cores": (host_end["idle"] - host_start["idle"]) / seconds,
        "load": os.getloadavg()[0],  # the machine's other work: one-minute load average
    }


def flood_row(flood: dict) -> tuple[str, str, str, bool]:
    """The « flood » row of RESULTS.md: figure, measured, target, met."""
    answers, tried, total, post = flood["answers"], len(flood["logins"]), flood["total"], flood["post"]
    unusual = [f"{count} × {status}" for status, count in answers.items() if status not in (422, 429, 503, 303)]
    missed = [
        f"{login['status']} at {login['at']:.0f} s" if "at" in login else str(login["status"])
        for login in flood["logins"]
        if not login.get("in")
    ]
    demoted = [
        f"its {network} after {seconds:.1f} s" if seconds is not None else f"its {network} never"
        for network, seconds in flood["demoted"].items()
    ]
    measured = [
        f"**{flood['in']} of {tried}** logged in",
        f" (the others: {', '.join(missed)} from the flood's start)" if missed else "",
        f"; her login p95 **{total['p95_ms'] / 1000:.2f} s** page + POST (p50 {total['p50_ms'] / 1000:.2f}), "
        f"the POST alone p95 {post['p95_ms'] / 1000:.2f} s (p50 {post['p50_ms'] / 1000:.2f})"
        if total
        else "; too few answers for a p95",
        f". The flood: {sum(answers.values())} answers in {flood['seconds']:.0f} s, {answers[422]} × 422, "
        f"{answers[429]} × 429, {answers[503]} × 503, {answers[303]} × 303",
        f", {', '.join(unusual)}" if unusual else "",
        f"; **{flood['checked']} checked by bcrypt** ({flood['blocked']} accounts blocked for the day); "
        f"the line's 503s: {flood['refusals']['first']} to the first class, {flood['refusals']['last']} to the "
        f"last; the flood went last in the line (its first confirmed failure) from {', '.join(demoted)}",
        f". Cores: bcrypt {flood['bcrypt_cores']:.2f}, the rest of the workers "
        f"{flood['workers_cores'] - flood['bcrypt_cores']:.2f}, the load generator {flood['generator_cores']:.2f}, "
        f"idle {flood['idle_cores']:.2f}; load average {flood['load']:.1f} at its end",
    ]
    return (
        f"Flood: right-PIN logins (Sophie, every {AGENT_EVERY:.0f} s from another /24) while {ATTACKERS} wrong "
        f"logins are in flight at all times from {len(FLOOD_ADDRESSES)} client keys (32 IPv4 addresses of one /24, "
        "32 /64s of one /48), one bcrypt slot, `LOGIN_QUEUE_SECONDS=1`",
        "".join(measured),
        f"≥ {TARGET * 100:.0f} % of her logins ({round(TARGET * 10)} of 10)",
        flood["in"] >= TARGET * tried,
    )


def main() -> None:
    """The flood alone, on services of its own: print its row."""
    folder = Path(tempfile.mkdtemp(prefix="cgos-flood-"))
    services = start_services(folder)
    try:
        env = environment(folder, services)
        setup_demo(env)
        flood = flood_figure(folder, services)
    finally:
        stop_services(folder, services)
        shutil.rmtree(folder, ignore_errors=True)
    for field in flood_row(flood):
        print(field)
    print(flood["logins"], file=sys.stderr)


if __name__ == "__main__":
    main()
