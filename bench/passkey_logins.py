"""Passkey logins on the benchmark's gunicorn (issue 23): how many a second during the bcrypt
storm, whether the line refuses any, and what one costs the workers beside a PIN login.

The demo agents get passkeys before gunicorn starts, stored straight in the database as
`setup --demo` stores the agents, each the key of a software authenticator in this process
(tests/tests_support/authenticator.py: ES256 keys made with `cryptography`), for the RP ID the
benchmarked portal uses (the host of its PUBLIC_BASE_URL). A passkey login is what
static/passkeys.js sends: the options, then the signed answer; each client signs with a
credential of its own, so its counter only moves forward.

CPU per login, side by side: rounds of PIN logins and of passkey logins one after the other, one
at a time, nothing else running; each login's login page (its keypad, or its CSRF token) is
loaded before the round, so a round's CPU is the logins' own: the PIN login's POST (bcrypt and
the rest), the passkey login's two requests. CPU is the workers' (their user and system time,
bcrypt's threads included), and beside it PostgreSQL's and Redis's.

`bench/run.py` reports these as the « passkey » rows; `python bench/passkey_logins.py` runs them alone
on services of its own and writes only those rows in bench/RESULTS.md.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from run import (
    RESULTS,
    ROOT,
    STORM_CLIENTS,
    connect,
    cpu_seconds,
    environment,
    free_port,
    host_seconds,
    login_storm,
    prepared_login,
    quantiles_ms,
    request,
    setup_demo,
    start_gunicorn,
    start_services,
    stop_services,
    verdict,
    workers_of,
)

sys.path.insert(0, str(ROOT / "tests"))
from tests_support.authenticator import SoftAuthenticator, b64url  # noqa: E402

PASSKEY_CLIENTS = 2  # agents signing in with a passkey without pause, beside the storm's PIN logins
STORM_SECONDS = 30
WARM_UP = 3.0  # the PIN storm runs alone first: the bcrypt line fills
ROUNDS = 6  # side-by-side rounds for the CPU per login
PIN_PER_ROUND = 8
PASSKEY_PER_ROUND = 24
TARGET = 0.10  # a passkey login's CPU, at most this share of a PIN login's
ROW_PREFIX = "| Passkey"
DESCRIPTION_PREFIX = "Passkeys (`bench/passkey_logins.py`)"
DESCRIPTION = (
    f"{DESCRIPTION_PREFIX}: the demo agents get passkeys stored straight in the database (ES256 keys of a software "
    "authenticator in the load generator, for the RP ID of the portal's `PUBLIC_BASE_URL`); a passkey login is what "
    "static/passkeys.js sends, the options then the signed answer, each after its login page. CPU per login, side by "
    f"side: {ROUNDS} rounds of {PIN_PER_ROUND} PIN logins then {PASSKEY_PER_ROUND} passkey logins, one at a time, "
    "nothing else running, each login's page loaded before its round (a PIN login: its POST; a passkey login: its "
    "two requests); the workers' CPU time (bcrypt's threads included), PostgreSQL's and Redis's beside it. During the "
    f"storm: the {STORM_CLIENTS} PIN agents of the storm row, and after {WARM_UP:.0f} s {PASSKEY_CLIENTS} agents "
    f"signing in with a passkey without pause for {STORM_SECONDS} s."
)


def rp_of(env: dict) -> tuple[str, str]:
    """The RP ID and origin the benchmarked portal expects (its PUBLIC_BASE_URL)."""
    parts = urlsplit(env["FLASK_PUBLIC_BASE_URL"])
    return parts.hostname, f"{parts.scheme}://{parts.netloc}"


def enrol_passkeys(env: dict, count: int) -> list[SoftAuthenticator]:
    """`count` authenticators, each holding a passkey of a demo agent (by turns), stored in the database."""
    sys.path.insert(0, str(ROOT))
    from cgos import create_app
    from cgos.extensions import db
    from cgos.models import Agent, Passkey

    rp_id, _ = rp_of(env)
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["FLASK_SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x"})
    authenticators = []
    with app.app_context():
        agents = list(db.session.scalars(db.select(Agent).order_by(Agent.id)))
        for n in range(count):
            agent = agents[n % len(agents)]
            authenticator = SoftAuthenticator()
            handle = os.urandom(32)
            options = {
                "rp": {"id": rp_id},
                "user": {"id": b64url(handle), "name": agent.numero, "displayName": agent.numero},
                "challenge": b64url(os.urandom(32)),
            }
            authenticator.create(options, "")  # the key and its credential id, in the authenticator
            credential = authenticator.credentials[-1]
            db.session.add(
                Passkey(
                    agent_id=agent.id,
                    credential_id=credential.id,
                    public_key=credential.cose_public_key(),
                    sign_count=0,
                    transports=["internal"],
                    user_handle=handle,
                    name=f"Banc {n}",
                )
            )
            authenticators.append(authenticator)
        db.session.commit()
        db.engine.dispose()
    return authenticators


def login_page(port: int, connection) -> tuple[str, str]:
    """The login page's cookie and the CSRF token static/passkeys.js sends."""
    _, headers, html = request(port, "GET", "/", connection=connection)
    token = html.decode().split('data-csrf-token="', 1)[1].split('"', 1)[0]
    return headers["Set-Cookie"].split(";")[0], token


def passkey_login(port: int, connection, authenticator: SoftAuthenticator, origin: str, page) -> int:
    """The two requests of « Se connecter avec une clé d'accès », the login page already loaded: the last status."""
    cookie, token = page
    headers = {"Content-Type": "application/json", "X-CSRFToken": token, "Cookie": cookie}
    status, answer, body = request(port, "POST", "/connexion-cle-d-acces/options", "{}", headers, connection)
    if status != 200:
        return status
    headers["Cookie"] = (answer.get("Set-Cookie") or cookie).split(";")[0]  # the challenge's handle
    signed = authenticator.get(json.loads(body), origin)
    status, _, _ = request(port, "POST", "/connexion-cle-d-acces", json.dumps(signed), headers, connection)
    return status


def pin_login(port: int, connection, form) -> int:
    """« Valider » of a login page already loaded: the status."""
    cookie, body = form
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = request(port, "POST", "/", body, headers, connection)
    return status


def service_pids(folder: Path) -> list[int]:
    """PostgreSQL's postmaster and Redis, as scripts/test-services.sh started them."""
    services = folder / "services"
    postmaster = int((services / "pg" / "postmaster.pid").read_text().split()[0])
    return [postmaster, int((services / "redis.pid").read_text().strip())]


def tree_seconds(pid: int) -> float:
    """CPU time of a process, of its children that ended, and of its living descendants."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:  # it ended meanwhile: its time is in its parent's
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_seconds(int(child)) for child in children)


def cpu_per_login(port: int, workers: list[int], services: list[int], authenticators, origin: str) -> dict:
    """Rounds of PIN logins and passkey logins, one at a time: the CPU seconds of each kind of login."""
    connection = connect(port)
    spent = {"pin": [0.0, 0.0, 0], "passkey": [0.0, 0.0, 0]}  # workers, services, logins
    for _ in range(ROUNDS):
        forms = [prepared_login(port, connection) for _ in range(PIN_PER_ROUND)]
        pages = [login_page(port, connection) for _ in range(PASSKEY_PER_ROUND)]
        for kind, logins, expected in (
            ("pin", [lambda form=form: pin_login(port, connection, form) for form in forms], 303),
            (
                "passkey",
                [lambda page=page: passkey_login(port, connection, authenticators[0], origin, page) for page in pages],
                200,
            ),
        ):
            workers_start, services_start = cpu_seconds(workers), sum(tree_seconds(pid) for pid in services)
            for log_in in logins:
                status = log_in()
                assert status == expected, (kind, status)
            spent[kind][0] += cpu_seconds(workers) - workers_start
            spent[kind][1] += sum(tree_seconds(pid) for pid in services) - services_start
            spent[kind][2] += len(logins)
    connection.close()
    return {
        kind: {"workers": workers_cpu / logins, "services": services_cpu / logins, "logins": logins}
        for kind, (workers_cpu, services_cpu, logins) in spent.items()
    }


def passkey_client(port, stop, authenticator, origin, results: list) -> None:
    """An agent signing in with a passkey again and again, the login page first each time: (status, seconds)."""
    connection = connect(port)
    while not stop.is_set():
        page = login_page(port, connection)
        began = time.perf_counter()
        status = passkey_login(port, connection, authenticator, origin, page)
        results.append((status, time.perf_counter() - began, time.perf_counter()))
    connection.close()


def during_storm(port: int, workers: list[int], services: list[int], authenticators, origin: str) -> dict:
    """The storm's PIN agents, then passkey agents beside them: passkey logins a second, their statuses."""
    stop, storm_stop, successes, refusals, results = threading.Event(), threading.Event(), [], [], []
    storm = [
        threading.Thread(target=login_storm, args=(port, storm_stop, successes, refusals)) for _ in range(STORM_CLIENTS)
    ]
    for thread in storm:
        thread.start()
    time.sleep(WARM_UP)
    clients = [
        threading.Thread(target=passkey_client, args=(port, stop, authenticators[1 + n], origin, results))
        for n in range(PASSKEY_CLIENTS)
    ]
    started, host_start, workers_start = time.perf_counter(), host_seconds(), cpu_seconds(workers)
    generator_start, services_start = time.process_time(), sum(tree_seconds(pid) for pid in services)
    for thread in clients:
        thread.start()
    time.sleep(STORM_SECONDS)
    stop.set()
    for thread in clients:
        thread.join()
    ended, host_end, workers_end = time.perf_counter(), host_seconds(), cpu_seconds(workers)
    generator_end, services_end = time.process_time(), sum(tree_seconds(pid) for pid in services)
    storm_stop.set()
    for thread in storm:
        thread.join()
    window = ended - started
    statuses = Counter(status for status, _, _ in results)
    return {
        "passkey_logins": statuses[200] / window,
        "statuses": statuses,
        "latency": quantiles_ms([seconds for status, seconds, _ in results if status == 200]),
        "pin_logins": sum(started <= t <= ended for t in successes) / window,
        "pin_refused": sum(started <= t <= ended for t in refusals),
        "bcrypt_cores": (host_end["niced"] - host_start["niced"]) / window,
        "workers_cores": (workers_end - workers_start) / window,
        "generator_cores": (generator_end - generator_start) / window,
        "services_cores": (services_end - services_start) / window,
        "idle_cores": (host_end["idle"] - host_start["idle"]) / window,
    }


def passkey_figure(port: int, master_pid: int, folder: Path, authenticators, origin: str) -> dict:
    """Both measures on a running gunicorn whose agents have the authenticators' passkeys."""
    workers, services = workers_of(master_pid), service_pids(folder)
    cpu = cpu_per_login(port, workers, services, authenticators, origin)
    return {
        "cpu": cpu,
        "storm": during_storm(port, workers, services, authenticators, origin),
        "load": os.getloadavg()[0],
    }


def passkey_rows(figure: dict) -> list[tuple[str, str, str, str]]:
    """The « passkey » rows of RESULTS.md: figure, measured, target, verdict."""
    cpu, storm = figure["cpu"], figure["storm"]
    share = cpu["passkey"]["workers"] / cpu["pin"]["workers"]
    both = (cpu["passkey"]["workers"] + cpu["passkey"]["services"]) / (cpu["pin"]["workers"] + cpu["pin"]["services"])
    refused = sum(count for status, count in storm["statuses"].items() if status != 200)
    others = ", ".join(f"{count} × {status}" for status, count in sorted(storm["statuses"].items()) if status != 200)
    latency = storm["latency"]
    rest = (
        os.cpu_count()
        - storm["workers_cores"]
        - storm["generator_cores"]
        - storm["services_cores"]
        - storm["idle_cores"]
    )
    return [
        (
            "Passkey login CPU ÷ PIN login CPU, side by side (the workers' CPU time; a passkey login's two requests, "
            "a PIN login's POST)",
            f"{cpu['passkey']['workers'] * 1000:.1f} ÷ {cpu['pin']['workers'] * 1000:.0f} ms = **{share:.1%}** "
            f"({cpu['passkey']['logins']} and {cpu['pin']['logins']} logins); with PostgreSQL's and Redis's "
            f"({cpu['passkey']['services'] * 1000:.1f} and {cpu['pin']['services'] * 1000:.1f} ms): "
            f"{(cpu['passkey']['workers'] + cpu['passkey']['services']) * 1000:.1f} ÷ "
            f"{(cpu['pin']['workers'] + cpu['pin']['services']) * 1000:.0f} ms = {both:.1%}",
            "≤ 10 %",
            verdict(share <= TARGET),
        ),
        (
            f"Passkey logins during the login storm ({PASSKEY_CLIENTS} agents signing in with a passkey without "
            f"pause beside the storm's {STORM_CLIENTS} PIN agents)",
            f"**{storm['passkey_logins']:.1f}/s**, **{refused} refused**{f' ({others})' if others else ''}; "
            f"a passkey login (options + answer) p95 {latency['p95_ms']:.0f} ms (p50 {latency['p50_ms']:.0f}, "
            f"p99 {latency['p99_ms']:.0f}); meanwhile {storm['pin_logins']:.2f} PIN logins/s "
            f"({storm['pin_refused']} refused with a 503): the cores went to the passkey logins and pages first, "
            f"bcrypt (lowest priority) had what was left: bcrypt {storm['bcrypt_cores']:.2f}, the rest of the "
            f"workers {storm['workers_cores'] - storm['bcrypt_cores']:.2f}, the load generator "
            f"{storm['generator_cores']:.2f} (signing, the storm's and the passkey agents' requests), PostgreSQL "
            f"and Redis {storm['services_cores']:.2f}, the system and other work of the machine {rest:.2f}, idle "
            f"{storm['idle_cores']:.2f}; load average {figure['load']:.1f} at its end",
            "0 refused by the bcrypt line",
            verdict(refused == 0),
        ),
    ]


def write_rows(rows: list[tuple[str, str, str, str]], measured: str) -> None:
    """Put the passkey rows (after the storm's) and their description (after the flood's) in
    bench/RESULTS.md, in place of earlier ones, leaving every other line as it is."""
    lines = [
        line
        for line in RESULTS.read_text().splitlines()
        if not line.startswith(ROW_PREFIX) and not line.startswith(DESCRIPTION_PREFIX)
    ]
    storm_row = next(i for i, line in enumerate(lines) if line.startswith("| Logins during that storm"))
    lines[storm_row + 1 : storm_row + 1] = [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    flood = next(i for i, line in enumerate(lines) if line.startswith("Flood ("))
    lines.insert(flood + 1, f"{DESCRIPTION} {measured}")
    RESULTS.write_text("\n".join(lines) + "\n")


def main() -> None:
    """The passkey rows alone, on services and a gunicorn of their own: written in bench/RESULTS.md."""
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="cgos-bench-passkeys-"))
    services = start_services(folder)
    port = free_port()
    try:
        env = environment(folder, services)
        setup_demo(env)
        authenticators = enrol_passkeys(env, 1 + PASSKEY_CLIENTS)
        gunicorn = start_gunicorn(folder, env, port)
        try:
            figure = passkey_figure(port, gunicorn.pid, folder, authenticators, rp_of(env)[1])
        finally:
            gunicorn.terminate()
            gunicorn.wait()
    finally:
        stop_services(folder, services)
        shutil.rmtree(folder, ignore_errors=True)
    rows = passkey_rows(figure)
    write_rows(
        rows,
        f"These rows were measured alone by `python bench/passkey_logins.py` on {time.strftime('%Y-%m-%d')} "
        f"(a gunicorn of their own, as above; load average {load_before:.1f} before the run).",
    )
    for row in rows:
        print(" | ".join(row))
    print(json.dumps(figure["cpu"]), file=sys.stderr)


if __name__ == "__main__":
    main()
