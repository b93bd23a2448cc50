"""Checks 3 and 4: an app host dies, then each is restarted in turn, under a steady load through nginx."""

import http.client
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cluster import APP_ADDRESSES, CLIENT_V4
from load import Record, SteadyLoad

pytestmark = pytest.mark.topology


def nobody(number: int) -> str:
    """A numéro C.G.O.S of the right form that no agent has, one per login: logins of one account
    beyond its tries left would be refused unchecked (429), which is not what this check is about."""
    digits = str(40000000 + number)
    return f"{digits} {'ABCDEFGHJKLMNPRSTUVWXYZ'[int(digits) % 23]}"


def test_a_host_killed_under_load_fails_only_the_requests_it_had_in_hand(portal, figures):
    host = portal.hosts[1]
    # Logins in hand at the kill: wrong PINs for a numéro nobody has (checked all the same, against a
    # dummy hash), sent at once from addresses of their own, so that some wait for bcrypt on app1.
    burst = [portal.browser(CLIENT_V4[90 + i]) for i in range(8)]
    forms = [browser.login_form(nobody(i), "482916") for i, browser in enumerate(burst)]
    with SteadyLoad(portal) as load, ThreadPoolExecutor(len(burst)) as pool:
        time.sleep(4)
        connections = [browser.connected() for browser in burst]
        answers = [
            pool.submit(attempt, browser, form, connection)
            for browser, form, connection in zip(burst, forms, connections)
        ]
        time.sleep(0.04)
        killed_at = time.perf_counter()
        killed = host.kill()
        time.sleep(8)
        answers = [answer.result() for answer in answers]
    after = [r for r in load.records if r.started > killed_at]
    in_hand = [r for r in load.records + answers if not r.ok and r.started <= killed_at <= r.ended]
    failed_lines = portal.access_lines({r.request_id for r in load.failures() + answers if not r.ok and r.request_id})
    retried = [line for line in portal.access_log() if f"upstream={APP_ADDRESSES[1]}:8000, " in line]
    figures(
        **load.counts(),
        processes_killed=len(killed),
        burst_of_logins_at_the_kill=sorted(f"{r.status or r.error}" for r in answers),
        failed_in_hand_at_the_kill=sorted(f"{r.kind} {r.status or r.error}" for r in in_hand),
        failed_after_the_kill=sum(not r.ok for r in after),
        requests_after_the_kill=len(after),
        passed_to_app2_after_app1_refused_or_dropped_them=len(retried),
    )
    try:
        # Every failure was in flight at the kill, on the killed host (a 502 names it in nginx's log; a
        # page whose answer app1 was sending ends short, without one); the load went on through app2.
        assert [r for r in load.failures() + answers if not r.ok] == in_hand
        assert all(f"upstream={APP_ADDRESSES[1]}:8000 " in line for line in failed_lines.values())
        assert in_hand, "no login was in hand on app1 at the kill: the check proved nothing"
        assert len(after) > 100 and all(r.ok for r in after)
    finally:
        host.start()


def attempt(browser, form, connection) -> Record:
    """One login over an open connection, recorded: a wrong PIN is answered 422 when it is checked."""
    started = time.perf_counter()
    try:
        response = browser.post_login(form, connection)
    except (OSError, http.client.HTTPException) as error:
        return Record("login", started, time.perf_counter(), None, False, error=type(error).__name__)
    ok = response.status == 422
    return Record("login", response.started, response.ended, response.status, ok, response.headers["X-Request-ID"])


def test_a_rolling_restart_under_load_fails_no_request(portal, figures):
    timings = {}
    served_before = {n: len(h.request_lines()) for n, h in portal.hosts.items()}
    with SteadyLoad(portal) as load:
        time.sleep(3)
        for number, host in portal.hosts.items():
            started = time.perf_counter()
            portal.reload_nginx(drained={number})  # `down` in cgos-upstream.conf, reload: no new request for it
            drained = time.perf_counter()
            host.restart()  # systemctl restart cgos-gunicorn: the requests in hand finish, the new code starts
            restarted = time.perf_counter()
            portal.reload_nginx()  # back in the upstream
            timings[f"app{number}"] = (
                f"drained in {drained - started:.1f} s, restarted in {restarted - drained:.1f} s, "
                f"back after {time.perf_counter() - started:.1f} s"
            )
            time.sleep(2)
    figures(
        **load.counts(),
        **timings,
        served_during={f"app{n}": len(h.request_lines()) - served_before[n] for n, h in portal.hosts.items()},
        failures=[f"{r.kind} {r.status} {r.error}" for r in load.failures()],
    )
    assert load.failures() == []
    assert load.counts()["logins"] > 20
