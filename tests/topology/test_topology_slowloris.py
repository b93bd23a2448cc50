"""Check 5: slowloris through nginx (review 2026-12, N10): slow clients never reach gunicorn."""

import statistics
import threading
import time

import pytest
from cluster import CLIENT_V4, CLIENT_V6_NETWORKS, PROXY, SLOW_CONNECTIONS, Slowloris, run

pytestmark = pytest.mark.topology

ATTACK_SECONDS = 15  # past nginx's header timeout (10 s): the attacker reconnects at once
PROBE_EVERY = 0.25


def probe(cluster, source: str, path: str) -> float:
    """Seconds for one GET on a new connection (TLS handshake included), asserting it succeeded."""
    started = time.perf_counter()
    response = cluster.browser(source, timeout=5).request("GET", path)
    assert response.status == 200, (path, response.status)
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def test_two_hundred_slow_connections_through_nginx_never_reach_gunicorn(portal, figures):
    logged_before = sum(len(host.request_lines()) for host in portal.hosts.values())
    quiet = [probe(portal, CLIENT_V4[2], path) for path in ["/healthz", "/"] * 10]
    sources = CLIENT_V4[3:8] + [network[1] for network in CLIENT_V6_NETWORKS[20:25]]
    latencies = {"/healthz": [], "/": []}
    with Slowloris(portal, sources) as attack, Sampler(portal, attack) as sampler:
        started = time.perf_counter()
        turn = 0
        while time.perf_counter() - started < ATTACK_SECONDS:
            path = ["/healthz", "/"][turn % 2]
            latencies[path].append(probe(portal, CLIENT_V4[1], path))
            turn += 1
            time.sleep(PROBE_EVERY)
    samples = sampler.samples
    logged = sum(len(host.request_lines()) for host in portal.hosts.values()) - logged_before
    probes = sum(len(values) for values in latencies.values())
    under_attack = latencies["/healthz"] + latencies["/"]
    figures(
        slow_connections_opened=attack.opened,
        closed_by_nginx=attack.closed_by_server,
        most_slow_connections_open_at_once=max(s[0] for s in samples),
        most_client_connections_at_nginx=max(s[2] for s in samples),
        probes=probes,
        probe_p95_ms=f"healthz {p95(latencies['/healthz']) * 1000:.0f}, login page {p95(latencies['/']) * 1000:.0f}, quiet {p95(quiet) * 1000:.0f}",
        probe_max_ms=round(max(under_attack) * 1000),
        most_connections_at_gunicorn=max(max(s[1]) for s in samples),
        requests_the_app_hosts_logged=f"{logged} (probes: {probes} and {len(quiet)} before)",
    )
    assert max(s[0] for s in samples) >= SLOW_CONNECTIONS * 0.95
    assert attack.closed_by_server >= SLOW_CONNECTIONS  # nginx's header timeout ended each of them
    assert max(under_attack) < 1.0
    # gunicorn saw the probes (and a connection each, at most two at once), never a slow client.
    assert logged == probes + len(quiet)
    assert max(max(s[1]) for s in samples) <= 2


class Sampler:
    """Every 0.1 s: slow connections open, connections at each gunicorn, client connections at nginx."""

    def __init__(self, cluster, attack: Slowloris):
        self.cluster, self.attack = cluster, attack
        self.samples: list[tuple[int, list[int], int]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def _sample(self) -> None:
        """Take samples until stopped."""
        while not self.stopping.wait(0.1):
            gunicorn = [host.connections() for host in self.cluster.hosts.values()]
            self.samples.append((self.attack.open_now, gunicorn, nginx_connections()))


def nginx_connections() -> int:
    """Client connections established to nginx's port 443 now."""
    listing = run("ip", "netns", "exec", PROXY, "ss", "-Htn", "state", "established", "( sport = :443 )")
    return len(listing.stdout.splitlines())
