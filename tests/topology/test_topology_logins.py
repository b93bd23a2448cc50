"""Check 1: the attempts rule holds across two app hosts behind nginx, on the shared Redis and PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from cluster import APP_ADDRESSES, CLIENT_V4, CLIENT_V6_NETWORKS

from tests_support.personas import SOPHIE

pytestmark = pytest.mark.topology

WRONG_PIN = "482916"
SPOOFED = "203.0.113.7"


def events_since(portal, agent_id: int, since: datetime) -> list[tuple[str, str]]:
    """(kind, client address) of the account's security events since a moment."""
    return portal.sql(
        "SELECT kind, ip_address FROM security_event WHERE agent_id = %s AND created_at >= %s ORDER BY id",
        agent_id,
        since.replace(tzinfo=None),
    )


def test_twenty_simultaneous_wrong_pins_from_twenty_addresses_through_nginx_are_checked_five_times(portal, figures):
    (sophie,) = portal.sql("SELECT id FROM agent WHERE numero = %s", SOPHIE.compact_numero)[0]
    sources = CLIENT_V4[10:20] + [network[0] for network in CLIENT_V6_NETWORKS[:10]]
    browsers = [portal.browser(source) for source in sources]
    forms = [browser.login_form(SOPHIE.numero, WRONG_PIN) for browser in browsers]
    since = datetime.now(timezone.utc)
    start = threading.Barrier(len(browsers))

    def attempt(index):
        """Open the connection, wait for the others, then « Valider » (a spoofed X-Forwarded-For too)."""
        connection = browsers[index].connected()
        start.wait()
        return browsers[index].post_login(forms[index], connection, {"X-Forwarded-For": SPOOFED})

    with ThreadPoolExecutor(len(browsers)) as pool:
        answers = list(pool.map(attempt, range(len(browsers))))
    posts = list(portal.access_lines(answer.headers["X-Request-ID"] for answer in answers).values())
    hosts = {address for address in APP_ADDRESSES.values() if sum(f"upstream={address}:" in line for line in posts)}
    events = events_since(portal, sophie, since)
    checked = [address for kind, address in events if kind == "login_failure"]
    statuses = sorted(answer.status for answer in answers)
    figures(
        statuses=statuses,
        login_failure_events=len(checked),
        lockout_events=sum(kind == "lockout" for kind, _ in events),
        app_hosts_reached=sorted(hosts),
        spread=[sum(f"upstream={address}:" in line for line in posts) for address in APP_ADDRESSES.values()],
        answered_429_by_the_app=sum("upstream_status=429" in line for line in posts),
    )
    assert len(hosts) == 2  # spread over both hosts
    assert len(checked) == 5
    assert [kind for kind, _ in events].count("lockout") == 1
    # The app saw each client's own address through nginx, never the X-Forwarded-For it sent.
    assert set(checked) <= set(sources) and SPOOFED not in {address for _, address in events}

    right = portal.browser(CLIENT_V4[40])
    answer = right.log_in(SOPHIE.numero, SOPHIE.pin)
    after = events_since(portal, sophie, since)
    figures(right_pin_after=f"{answer.status} {answer.headers['Location']}")
    assert answer.status == 303 and answer.headers["Location"].startswith("/mot-de-passe-oublie")
    assert "login_success" not in [kind for kind, _ in after]
    assert [kind for kind, _ in after][-1] == "login_refused"
