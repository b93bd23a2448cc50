"""Check 5: slowloris through nginx (review 2026-12, N10): slow clients never reach gunicorn."""

import asyncio
import statistics
import threading
import time

import pytest
from cluster import CLIENT, CLIENT_V4, CLIENT_V6_NETWORKS, HOST_NAME, PROXY, PROXY_FRONT_V4, PROXY_FRONT_V6, enter, run

pytestmark = pytest.mark.topology

SLOW_CONNECTIONS = 200
LINE_EVERY = 2.0  # seconds between two header lines of a slow client
ATTACK_SECONDS = 15  # past nginx's header timeout (10 s): the attacker reconnects at once
PROBE_EVERY = 0.25


class Slowloris:
    """200 connections, each sending one more header line every 2 s and never the end of the header;
    a connection the server closes is opened again at once."""

    def __init__(self, cluster, sources: list[str]):
        self.cluster, self.sources = cluster, sources
        self.opened = self.closed_by_server = 0
        self.open_now = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        """The attack's event loop, in the client namespace."""
        enter(CLIENT)
        asyncio.run(self._attack())

    async def _attack(self) -> None:
        """Every slow connection at once until stopped."""
        await asyncio.gather(
            *(self._slow_client(self.sources[i % len(self.sources)], i) for i in range(SLOW_CONNECTIONS))
        )

    async def _slow_client(self, source: str, number: int) -> None:
        """One slow client, reconnecting whenever it is closed."""
        address = PROXY_FRONT_V6 if ":" in source else PROXY_FRONT_V4
        while not self.stopping.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    address, 443, ssl=self.cluster.tls_context, server_hostname=HOST_NAME, local_addr=(source, 0)
                )
            except OSError:
                await asyncio.sleep(0.1)
                continue
            self.opened += 1
            self.open_now += 1
            try:
                writer.write(f"GET /?slow={number} HTTP/1.1\r\nHost: {HOST_NAME}\r\n".encode())
                while not self.stopping.is_set():
                    await writer.drain()
                    try:
                        if await asyncio.wait_for(reader.read(1024), LINE_EVERY) == b"":
                            self.closed_by_server += 1
                            break
                    except asyncio.TimeoutError:
                        writer.write(f"X-Slow-{number}: {time.time()}\r\n".encode())
            except (OSError, EOFError):
                self.closed_by_server += 1
            finally:
                self.open_now -= 1
                writer.close()


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
