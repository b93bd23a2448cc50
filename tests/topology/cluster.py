"""The production topology on one machine, in Linux network namespaces (root only).

    client ──(front: 10.21.64.0/18, fd21:f::/48)── proxy (nginx) ──(back: 10.21.0.0/24)── app1, app2 (gunicorn,
    mail worker) and services (PostgreSQL, Redis, the SMTP sink)

Each namespace is named `cgos21-…`; the two bridges live in a namespace of their own, so
nothing is added to the host's network. nginx runs deploy/nginx/ and each app host runs the
ExecStart of deploy/systemd/ with deploy/*.env.example, the paths and addresses changed to the
namespaces' (every change is asserted to apply, so the shipped files cannot drift from what is
tested). Run `python tests/topology/cluster.py` to remove what a killed run left behind.
"""

import asyncio
import atexit
import ctypes
import http.client
import http.cookies
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PREFIX = "cgos21-"
HOST_NAME = "espace-agent.cgos.info"
SWITCH, CLIENT, PROXY, SERVICES = (f"{PREFIX}{name}" for name in ("switch", "client", "proxy", "services"))
APP_HOSTS = {1: f"{PREFIX}app1", 2: f"{PREFIX}app2"}
# The back network: nginx, the app hosts and the services.
PROXY_BACK, SERVICES_ADDRESS = "10.21.0.1", "10.21.0.2"
APP_ADDRESSES = {1: "10.21.0.11", 2: "10.21.0.12"}
APP_PORT = 8000
# The front network: nginx and the clients.
PROXY_FRONT_V4, PROXY_FRONT_V6 = "10.21.64.1", "fd21:f::1"
CLIENT_V4 = [f"10.21.65.{i}" for i in range(1, 101)]
# Two addresses in each of 32 /64s; the first /64 (fd21:f:0:0::/64, nginx's own) holds addresses that
# nginx writes with `::` before and after the fourth group, so its per-/64 key is tested both ways.
CLIENT_V6_NETWORKS = [[f"fd21:f:0:{n:x}::a", f"fd21:f:0:{n:x}::b"] for n in range(1, 33)]
SAME_64_SPELT_TWO_WAYS = ["fd21:f::5", "fd21:f:0:0:1::"]
PG_PORT, REDIS_PORT, SMTP_PORT = 5432, 6379, 25
SECRETS = {
    "FLASK_SECRET_KEY": "topology-secret-key-" + "s" * 40,
    "FLASK_PASSWORD_PEPPER": "topology-pepper-" + "p" * 40,
    "FLASK_MAIL_SECRET_KEY": "topology-mail-key-" + "m" * 40,
}
# slowloris (review 2026-12, N10): this many connections, one header line every LINE_EVERY seconds.
SLOW_CONNECTIONS = 200
LINE_EVERY = 2.0
# Logins hash at this cost here (12 in production: cgos/config.py); production allows any cost,
# and no check of this suite is about bcrypt's time, only about what is counted and where it runs.
BCRYPT_COST = 10

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def run(*command: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, its output captured (and shown when it fails)."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def _setns(path: str) -> None:
    """Move the calling thread into the network namespace at `path`."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def enter(namespace: str) -> None:
    """Move the calling thread into a namespace for good (a thread of a client pool)."""
    _setns(f"/run/netns/{namespace}")


@contextmanager
def inside(namespace: str):
    """The calling thread in a namespace for the block: sockets made there stay there afterwards."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(f"/run/netns/{namespace}")
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)


def stale_namespaces() -> list[str]:
    """The namespaces of this suite that exist now."""
    listing = run("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(PREFIX)]


def remove_namespaces() -> None:
    """Kill every process left in this suite's namespaces, then delete them."""
    for namespace in stale_namespaces():
        for pid in run("ip", "netns", "pids", namespace, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    for namespace in stale_namespaces():
        for _ in range(50):
            if run("ip", "netns", "pids", namespace, check=False).stdout.strip() == "":
                break
            time.sleep(0.1)
        run("ip", "netns", "delete", namespace, check=False)


def render(text: str, replacements: list[tuple[str, str, int]]) -> str:
    """`text` with each (old, new, expected count) replacement: a count that differs is an error,
    so a change to a shipped file that the topology would silently miss fails here."""
    for old, new, count in replacements:
        found = text.count(old)
        assert found == count, f"{old!r} found {found} times, expected {count}"
        text = text.replace(old, new)
    return text


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile reads them (comments and blank lines left out)."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def unit_command(unit: str) -> tuple[list[str], Path]:
    """The ExecStart and WorkingDirectory of a shipped unit, the code's path made this checkout's."""
    text = (DEPLOY / "systemd" / unit).read_text().replace("/srv/cgos/app", str(ROOT))
    command = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)
    directory = re.search(r"^WorkingDirectory=(.+)$", text, re.M).group(1)
    return shlex.split(command), Path(directory)


def children(pid: int) -> list[int]:
    """The child processes of a process."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def command_line(pid: int) -> str:
    """A process's command line (its title, for nginx's workers)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except FileNotFoundError:
        return ""


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition` until it returns something true; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(interval)


@dataclass
class Response:
    """What a request got back: status, headers, body; `soup` parses the body as HTML."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes
    started: float = 0.0
    ended: float = 0.0

    @property
    def soup(self):
        """The body as parsed HTML."""
        from bs4 import BeautifulSoup

        return BeautifulSoup(self.body, "html.parser")

    @property
    def seconds(self) -> float:
        """How long the request took."""
        return self.ended - self.started


class _PortalConnection(http.client.HTTPSConnection):
    """HTTPS to nginx's address from a client address of the client namespace, the portal's name in SNI."""

    def __init__(self, address: str, source: str, context: ssl.SSLContext, timeout: float):
        super().__init__(HOST_NAME, 443, context=context, timeout=timeout)
        self.address, self.source = address, source

    def connect(self):
        """Open the TCP connection in the client namespace, then TLS."""
        with inside(CLIENT):
            sock = socket.create_connection((self.address, 443), self.timeout, (self.source, 0))
        self.sock = self._context.wrap_socket(sock, server_hostname=HOST_NAME)


class _HostConnection(http.client.HTTPConnection):
    """Plain HTTP straight to one app host, from the proxy namespace, as nginx reaches it."""

    def __init__(self, address: str, timeout: float):
        super().__init__(address, APP_PORT, timeout=timeout)

    def connect(self):
        """Open the TCP connection in the proxy namespace."""
        with inside(PROXY):
            self.sock = socket.create_connection((self.host, self.port), self.timeout)


class Browser:
    """A browser without JavaScript: its own cookies and client address; through nginx, or (host=1, 2)
    straight to one app host with the headers nginx adds. One connection per request."""

    def __init__(self, cluster: "Cluster", source: str | None = None, host: int | None = None, timeout: float = 30):
        self.cluster, self.host, self.timeout = cluster, host, timeout
        self.source = source or CLIENT_V4[0]
        self.cookies: dict[str, str] = {}
        self.page: Response | None = None
        self.page_path = "/"

    def connection(self) -> http.client.HTTPConnection:
        """A new connection to the portal, as this browser reaches it."""
        if self.host is not None:
            return _HostConnection(APP_ADDRESSES[self.host], self.timeout)
        address = PROXY_FRONT_V6 if ":" in self.source else PROXY_FRONT_V4
        return _PortalConnection(address, self.source, self.cluster.tls_context, self.timeout)

    def connected(self) -> http.client.HTTPConnection:
        """A connection already open (TLS handshake done), for a request that must leave at a given moment."""
        connection = self.connection()
        connection.connect()
        return connection

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> Response:
        """One request and its whole answer (over `connection` if given, else a new one); the cookies it
        sets are kept."""
        headers = {"Host": HOST_NAME, "Connection": "close", **(headers or {})}
        if method == "POST":
            # As a browser does (Referrer-Policy: same-origin); Flask-WTF checks it over https.
            headers.setdefault("Referer", f"https://{HOST_NAME}{self.page_path}")
        if self.host is not None:
            headers.update({"X-Forwarded-For": self.source, "X-Forwarded-Proto": "https"})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        started = time.perf_counter()
        connection = connection or self.connection()
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            response = Response(answer.status, answer.headers, answer.read(), started, time.perf_counter())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str, follow: bool = True) -> Response:
        """GET a page (following redirects); it becomes the page whose forms `submit` fills."""
        response = self.request("GET", path)
        while follow and response.status in (301, 302, 303) and response.headers["Location"]:
            path = self._local(response.headers["Location"])
            response = self.request("GET", path)
        if response.headers.get_content_type() == "text/html":
            self.page, self.page_path = response, path
        return response

    def submit(self, path: str, fields: dict | None = None, files: dict | None = None, follow: bool = True):
        """POST the form of the current page whose action is `path` (its hidden fields kept), with `fields`;
        `files` maps a field to (content, file name)."""
        form = self._form(path)
        values = {item["name"]: item.get("value", "") for item in form.select("input[type=hidden][name]")}
        values.update(fields or {})
        if files:
            body, content_type = multipart(values, files)
        else:
            body, content_type = (
                urllib.parse.urlencode(values, doseq=True).encode(),
                "application/x-www-form-urlencoded",
            )
        response = self.request("POST", path, body, {"Content-Type": content_type})
        if follow and response.status in (302, 303):
            return self.get(self._local(response.headers["Location"]))
        if response.headers.get_content_type() == "text/html":
            self.page = response
        return response

    def _form(self, path: str):
        """The form of the current page posting to `path`."""
        assert self.page is not None, "no page yet"
        for form in self.page.soup.select("form"):
            if (form.get("action") or "") in (path, "") and (form.get("method") or "get").lower() == "post":
                return form
        raise AssertionError(f"no form posting to {path} on the page")

    @staticmethod
    def _local(location: str) -> str:
        """The path of a redirect's Location."""
        parts = urllib.parse.urlsplit(location)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def login_form(self, numero: str, pin: str) -> bytes:
        """« Se connecter »: the keypad page, and the body of its form with the PIN typed on it and « Valider »."""
        return keypad_form(self.get("/"), numero, pin)

    def post_login(
        self, body: bytes, connection: http.client.HTTPConnection | None = None, headers: dict | None = None
    ) -> Response:
        """« Valider » with a form body of `login_form` (no redirect followed)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", "/", body, headers, connection)

    def log_in(self, numero: str, pin: str) -> Response:
        """« Se connecter » as an agent does: the keypad page, the PIN, « Valider » (no redirect followed)."""
        return self.post_login(self.login_form(numero, pin))


def keypad_form(page: Response, numero: str, pin: str) -> bytes:
    """The body of a login page's form: the numéro, the PIN typed on its keypad, « Valider »."""
    keys = {button.get_text(strip=True): button["value"] for button in page.soup.select("button[name=key]")}
    form = page.soup.select_one("form[method=post]")
    values = {item["name"]: item.get("value", "") for item in form.select("input[type=hidden][name]")}
    values.update(numero=numero, action="validate", pressed=" ".join(keys[digit] for digit in pin))
    return urllib.parse.urlencode(values).encode()


def multipart(values: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in values.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (content, filename) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class SmtpSink:
    """aiosmtpd in the services namespace: keeps every message with the address of the host that sent it.

    `hold_from(address)` makes a message from that host wait, unanswered, until `release()`; it is
    then refused (451), as a server does whose client went away: it was never accepted."""

    def __init__(self):
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.hold_address: str | None = None
        self.hold_after = 0
        self.delay = 0.0  # seconds each message waits before it is accepted
        self.holding = threading.Event()
        self.released = threading.Event()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        """Keep the message (or hold it)."""
        import asyncio
        import email
        from email import policy

        peer = session.peer[0]
        if peer == self.hold_address and self.hold_after > 0:
            self.hold_after -= 1
        elif peer == self.hold_address:
            self.hold_address = None
            self.holding.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 Try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(
                {"peer": peer, "to": str(message["To"]), "subject": str(message["Subject"]), "message": message}
            )
        return "250 Message accepted for delivery"

    def hold_from(self, address: str, after: int = 0) -> None:
        """Hold a message a host sends, once it has sent `after` others."""
        self.holding.clear()
        self.released.clear()
        self.hold_after = after
        self.hold_address = address

    def release(self) -> None:
        """Answer the held message (refused)."""
        self.released.set()

    def start(self) -> None:
        """Listen on the services address."""
        from aiosmtpd.controller import Controller

        with inside(SERVICES):
            self.controller = Controller(self, hostname=SERVICES_ADDRESS, port=SMTP_PORT)
            self.controller.start()

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.released.set()
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[dict]:
        """The messages sent to an address."""
        with self.lock:
            return [m for m in self.messages if address in m["to"]]


class Slowloris:
    """SLOW_CONNECTIONS connections through nginx, each sending one more header line every 2 s and
    never the end of the header; a connection the server closes is opened again at once."""

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


@dataclass
class AppHost:
    """One app host: gunicorn and a mail worker in its namespace, as its units start them."""

    number: int
    cluster: "Cluster"
    gunicorn: subprocess.Popen | None = None
    mail_worker: subprocess.Popen | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)
    cpu: int | None = None  # the one core its gunicorn may use (taskset), for the benchmark

    @property
    def namespace(self) -> str:
        """Its network namespace."""
        return APP_HOSTS[self.number]

    @property
    def address(self) -> str:
        """The private address gunicorn binds."""
        return APP_ADDRESSES[self.number]

    def environment(self) -> dict:
        """What systemd gives its units: /etc/cgos/cgos.env and /etc/cgos/host.env, nothing of ours."""
        return {**self.cluster.base_environment, **self.cluster.host_environment(self.number)}

    def _spawn(self, unit: str, log: Path) -> subprocess.Popen:
        """Start a unit's ExecStart in the host's namespace, in a process group of its own."""
        command, directory = unit_command(unit)
        if self.cpu is not None and unit == "cgos-gunicorn.service":
            command = ["taskset", "-c", str(self.cpu), *command]
        return subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, *command],
            cwd=directory,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        """Start gunicorn (and wait until it answers /readyz)."""
        self.starts += 1
        log = self.cluster.folder / f"app{self.number}-gunicorn-{self.starts}.log"
        self.logs.append(log)
        self.gunicorn = self._spawn("cgos-gunicorn.service", log)
        self.wait_ready()

    def start_mail_worker(self) -> None:
        """Start `flask mail worker` as cgos-mail-worker.service does."""
        self.mail_worker = self._spawn("cgos-mail-worker.service", self.cluster.folder / f"app{self.number}-mail.log")

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /readyz answers 200 on this host."""

        def ready():
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn of app{self.number} exited: {self.logs[-1].read_text()[-3000:]}")
            try:
                return Browser(self.cluster, host=self.number, timeout=2).request("GET", "/readyz").status == 200
            except OSError:
                return False

        wait_until(ready, timeout, f"app{self.number} ready", interval=0.1)

    def processes(self) -> list[int]:
        """gunicorn's master and workers."""
        if self.gunicorn is None or self.gunicorn.poll() is not None:
            return []
        return [self.gunicorn.pid, *children(self.gunicorn.pid)]

    def kill(self) -> list[int]:
        """SIGKILL gunicorn's master and workers at once (the host dies); the pids killed."""
        pids = self.processes()
        os.killpg(self.gunicorn.pid, signal.SIGKILL)
        self.gunicorn.wait()
        return pids

    def stop(self, timeout: float = 30) -> None:
        """`systemctl stop`: SIGTERM to the master (KillMode=mixed), which lets the workers finish."""
        if self.gunicorn is None or self.gunicorn.poll() is not None:
            return
        self.gunicorn.send_signal(signal.SIGTERM)
        try:
            self.gunicorn.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.gunicorn.pid, signal.SIGKILL)
            self.gunicorn.wait()

    def restart(self) -> None:
        """`systemctl restart cgos-gunicorn`: stop, then start and wait until ready."""
        self.stop()
        self.start()

    def kill_mail_worker(self) -> None:
        """SIGKILL the mail worker."""
        if self.mail_worker is not None and self.mail_worker.poll() is None:
            os.killpg(self.mail_worker.pid, signal.SIGKILL)
            self.mail_worker.wait()

    def request_lines(self) -> list[dict]:
        """The portal's request log lines (one JSON object per request) of every start of this host."""
        lines = []
        for log in self.logs:
            for line in log.read_text(errors="replace").splitlines():
                start = line.find('{"request_id"')
                if start >= 0:
                    lines.append(json.loads(line[start:]))
        return lines

    def connections(self) -> int:
        """TCP connections gunicorn holds open now (established on its port)."""
        listing = run(
            "ip", "netns", "exec", self.namespace, "ss", "-Htn", "state", "established", f"( sport = :{APP_PORT} )"
        )
        return len(listing.stdout.splitlines())


class Cluster:
    """The whole topology: namespaces, services, nginx, two app hosts."""

    def __init__(self, folder: Path, workers: int | None = None, extra_environment: dict | None = None):
        self.folder = folder
        self.workers = workers
        self.extra_environment = extra_environment or {}
        self.hosts = {number: AppHost(number, self) for number in APP_HOSTS}
        self.sink = SmtpSink()
        self.nginx: subprocess.Popen | None = None
        self.tls_context: ssl.SSLContext | None = None
        self.uploads = folder / "uploads"
        self.base_environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "LANG": "C.UTF-8",
            "HOME": str(folder),
        }
        self._torn_down = False

    # -- building -------------------------------------------------------------------------------

    def build(self) -> "Cluster":
        """Everything up, in order; torn down if a step fails."""
        try:
            remove_namespaces()
            atexit.register(self.tear_down)
            self.make_network()
            self.start_services()
            self.set_up_database()
            self.make_certificate()
            for host in self.hosts.values():
                host.start()
                host.start_mail_worker()
            self.start_nginx()
        except BaseException:
            self.tear_down(keep_folder=True)
            raise
        return self

    def make_network(self) -> None:
        """The namespaces, two bridges, a veth pair per link, and every address."""
        for namespace in (SWITCH, CLIENT, PROXY, SERVICES, *APP_HOSTS.values()):
            run("ip", "netns", "add", namespace)
            run("ip", "-n", namespace, "link", "set", "lo", "up")
        for bridge in ("front", "back"):
            run("ip", "-n", SWITCH, "link", "add", bridge, "type", "bridge")
            run("ip", "-n", SWITCH, "link", "set", bridge, "up")
        links = [(CLIENT, "front", "cl"), (PROXY, "front", "pf"), (PROXY, "back", "pb"), (SERVICES, "back", "sv")]
        links += [(namespace, "back", f"a{number}") for number, namespace in APP_HOSTS.items()]
        for namespace, bridge, port in links:
            run("ip", "-n", SWITCH, "link", "add", port, "type", "veth", "peer", "name", bridge, "netns", namespace)
            run("ip", "-n", SWITCH, "link", "set", port, "master", bridge, "up")
            run("ip", "-n", namespace, "link", "set", bridge, "up")
        addresses = {
            PROXY: [("back", f"{PROXY_BACK}/24"), ("front", f"{PROXY_FRONT_V4}/18"), ("front", f"{PROXY_FRONT_V6}/48")],
            SERVICES: [("back", f"{SERVICES_ADDRESS}/24")],
            CLIENT: [("front", f"{a}/18") for a in CLIENT_V4]
            + [("front", f"{a}/48") for network in CLIENT_V6_NETWORKS for a in network]
            + [("front", f"{a}/48") for a in SAME_64_SPELT_TWO_WAYS],
            **{APP_HOSTS[n]: [("back", f"{APP_ADDRESSES[n]}/24")] for n in APP_HOSTS},
        }
        for namespace, pairs in addresses.items():
            batch = "".join(
                f"address add {address} dev {device}{' nodad' if ':' in address else ''}\n" for device, address in pairs
            )
            subprocess.run(["ip", "-n", namespace, "-batch", "-"], input=batch, text=True, check=True)

    def start_services(self) -> None:
        """PostgreSQL and Redis on the services address (as scripts/test-services.sh starts them on
        loopback), and the SMTP sink."""
        self.folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
        data, log = self.folder / "pg", self.folder / "pg.log"
        data.mkdir()
        log.touch()
        for path in (data, log):
            os.chown(path, *_postgres_ids())
        pg_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
        as_postgres = ["runuser", "-u", "postgres", "--"]
        run(
            *as_postgres,
            f"{pg_bin}/initdb",
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "cgos",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 10.21.0.0/24 trust\n")
        options = (
            f"-p {PG_PORT} -k {data} -c listen_addresses={SERVICES_ADDRESS} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300"
        )
        run(
            "ip",
            "netns",
            "exec",
            SERVICES,
            *as_postgres,
            f"{pg_bin}/pg_ctl",
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-o",
            options,
            "start",
        )
        run(
            "ip",
            "netns",
            "exec",
            SERVICES,
            *as_postgres,
            f"{pg_bin}/createdb",
            "-h",
            str(data),
            "-p",
            str(PG_PORT),
            "-U",
            "cgos",
            "cgos",
        )
        self.pg_bin, self.pg_data = pg_bin, data
        run(
            "ip", "netns", "exec", SERVICES, "redis-server", "--bind", SERVICES_ADDRESS, "--port", str(REDIS_PORT),
            "--protected-mode", "no", "--save", "", "--appendonly", "no", "--daemonize", "yes",
            "--pidfile", str(self.folder / "redis.pid"), "--logfile", str(self.folder / "redis.log"), "--dir", str(self.folder),
        )  # fmt: skip
        wait_until(lambda: self.redis("PING") == "PONG", 10, "redis up")
        self.sink.start()

    def host_environment(self, number: int) -> dict:
        """The shipped environment examples, with this topology's values."""
        shared = read_environment_file(DEPLOY / "cgos.env.example")
        host = read_environment_file(DEPLOY / "host.env.example")
        ours = {
            **SECRETS,
            "FLASK_SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://cgos@{SERVICES_ADDRESS}:{PG_PORT}/cgos",
            "FLASK_RATELIMIT_STORAGE_URI": f"redis://{SERVICES_ADDRESS}:{REDIS_PORT}/0",
            "FLASK_MAIL_SERVER": SERVICES_ADDRESS,
            "FLASK_MAIL_PORT": str(SMTP_PORT),
            "FLASK_UPLOAD_FOLDER": str(self.uploads),
            "GUNICORN_FORWARDED_ALLOW_IPS": PROXY_BACK,
            "GUNICORN_BIND": f"{APP_ADDRESSES[number]}:{APP_PORT}",
        }
        missing = set(ours) - set(shared) - set(host)
        assert not missing, f"the environment examples lack {missing}"
        environment = {**shared, **host, **ours, "FLASK_BCRYPT_COST": str(BCRYPT_COST), **self.extra_environment}
        if self.workers is not None:
            environment["GUNICORN_WORKERS"] = str(self.workers)
        return environment

    def set_up_database(self) -> None:
        """`flask setup --demo` on the shared database, once, without FLASK_PRODUCTION (production
        refuses demo data: its staff password is public), with the hosts' secrets."""
        self.uploads.mkdir()
        environment = {**self.base_environment, **self.host_environment(1)}
        environment.pop("FLASK_PRODUCTION")
        run(
            "ip",
            "netns",
            "exec",
            APP_HOSTS[1],
            str(ROOT / ".venv" / "bin" / "flask"),
            "--app",
            "app",
            "setup",
            "--demo",
            cwd=ROOT,
            env=environment,
        )

    def make_certificate(self) -> None:
        """A certificate for the portal's name, made now, trusted by the test's clients only."""
        tls = self.folder / "tls"
        tls.mkdir()
        run(
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", f"/CN={HOST_NAME}", "-addext", f"subjectAltName=DNS:{HOST_NAME}",
            "-keyout", str(tls / f"{HOST_NAME}.key"), "-out", str(tls / f"{HOST_NAME}.crt"),
        )  # fmt: skip
        self.tls_context = ssl.create_default_context(cafile=str(tls / f"{HOST_NAME}.crt"))

    def render_nginx(self, drained: set[int] = frozenset()) -> None:
        """deploy/nginx/ into the work folder, with this topology's paths and addresses."""
        conf = self.folder / "nginx"
        (conf / "conf.d").mkdir(parents=True, exist_ok=True)
        (conf / "logs").mkdir(exist_ok=True)
        main = render(
            (DEPLOY / "nginx" / "nginx.conf").read_text(),
            [
                # The test runs nginx as root: www-data may not read this checkout.
                ("user www-data;", "user root;", 1),
                ("/run/nginx.pid", str(conf / "nginx.pid"), 1),
                ("/var/log/nginx/error.log", str(conf / "logs" / "error.log"), 1),
                ("/etc/nginx/conf.d/", f"{conf}/conf.d/", 1),
            ],
        )
        site = render(
            (DEPLOY / "nginx" / "cgos.conf").read_text(),
            [
                ("/var/log/nginx/", f"{conf}/logs/", 5),
                ("/etc/nginx/cgos-upstream.conf", str(conf / "cgos-upstream.conf"), 1),
                ("/etc/ssl/cgos/", f"{self.folder}/tls/", 2),
                ("/srv/cgos/static/", f"{ROOT}/static/", 1),
                ("/usr/share/cgos/nginx-errors/", f"{DEPLOY}/nginx/errors/", 1),
            ],
        )
        upstream = (DEPLOY / "nginx" / "cgos-upstream.conf").read_text()
        for number, shipped in ((1, "10.0.1.11"), (2, "10.0.1.12")):
            down = " down" if number in drained else ""
            upstream = render(
                upstream,
                [
                    (
                        f"server {shipped}:8000 max_fails=3 fail_timeout=10s;",
                        f"server {APP_ADDRESSES[number]}:{APP_PORT} max_fails=3 fail_timeout=10s{down};",
                        1,
                    )
                ],
            )
        (conf / "nginx.conf").write_text(main)
        (conf / "conf.d" / "cgos.conf").write_text(site)
        (conf / "cgos-upstream.conf").write_text(upstream)

    @property
    def nginx_conf(self) -> Path:
        """nginx's main configuration file."""
        return self.folder / "nginx" / "nginx.conf"

    def start_nginx(self) -> None:
        """nginx in the proxy namespace, in the foreground (its master is our child)."""
        self.render_nginx()
        run(
            "ip",
            "netns",
            "exec",
            PROXY,
            "nginx",
            "-t",
            "-q",
            "-e",
            str(self.folder / "nginx" / "logs" / "error.log"),
            "-c",
            str(self.nginx_conf),
        )
        self.nginx = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                PROXY,
                "nginx",
                "-e",
                str(self.folder / "nginx" / "logs" / "error.log"),
                "-c",
                str(self.nginx_conf),
                "-g",
                "daemon off;",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "nginx-stderr.log").open("ab"),
            start_new_session=True,
        )
        wait_until(lambda: self._answers_through_nginx(), 15, "nginx up")

    def _answers_through_nginx(self) -> bool:
        """True once /healthz answers through nginx."""
        if self.nginx.poll() is not None:
            raise RuntimeError((self.folder / "nginx-stderr.log").read_text())
        try:
            return Browser(self, timeout=2).request("GET", "/healthz").status == 200
        except OSError:
            return False

    def nginx_workers(self) -> list[int]:
        """The pids of nginx's worker processes, old ones shutting down included."""
        return children(self.nginx.pid)

    def reload_nginx(self, drained: set[int] = frozenset()) -> None:
        """Rewrite the upstream (hosts in `drained` marked `down`), `systemctl reload nginx` (SIGHUP),
        and wait until the workers of the old configuration have finished their requests and left."""
        old = set(self.nginx_workers())
        self.render_nginx(drained)
        os.kill(self.nginx.pid, signal.SIGHUP)
        wait_until(lambda: not (old & set(self.nginx_workers())) and self.nginx_workers(), 40, "old nginx workers gone")

    def access_log(self) -> list[str]:
        """nginx's access log lines for the portal."""
        path = self.folder / "nginx" / "logs" / "cgos-access.log"
        return path.read_text().splitlines() if path.exists() else []

    def access_lines(self, request_ids, timeout: float = 5) -> dict[str, str]:
        """nginx's access log line of each request id (nginx writes it once the answer is sent: wait for it)."""
        wanted = set(request_ids)

        def found():
            lines = {}
            for line in self.access_log():
                match = re.search(r"request_id=(\w+)$", line)
                if match and match.group(1) in wanted:
                    lines[match.group(1)] = line
            return lines if len(lines) == len(wanted) else None

        return wait_until(found, timeout, "the access log lines")

    # -- using ----------------------------------------------------------------------------------

    def browser(self, source: str | None = None, host: int | None = None, timeout: float = 30) -> Browser:
        """A new browser: through nginx from `source`, or straight to app host `host`."""
        return Browser(self, source, host, timeout)

    def redis(self, *command: str) -> str:
        """A Redis command's answer (redis-cli in the services namespace)."""
        return run(
            "ip",
            "netns",
            "exec",
            SERVICES,
            "redis-cli",
            "-h",
            SERVICES_ADDRESS,
            "-p",
            str(REDIS_PORT),
            *command,
            check=False,
        ).stdout.strip()

    def wait_for_mail(self, address: str, timeout: float = 20) -> dict:
        """The first message the sink got for an address (the mail workers send within a second)."""
        return wait_until(lambda: (self.sink.to(address) or [None])[0], timeout, f"a mail to {address}")

    def sql(self, query: str, *params) -> list[tuple]:
        """Rows of a query on the shared database (a statement commits)."""
        import psycopg

        with inside(SERVICES):
            connection = psycopg.connect(
                host=SERVICES_ADDRESS, port=PG_PORT, user="cgos", dbname="cgos", autocommit=True
            )
        with connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # -- tearing down ---------------------------------------------------------------------------

    def tear_down(self, keep_folder: bool = False) -> None:
        """Stop every process, remove every namespace and the work folder (kept, with its logs, when
        asked: after a failure); safe to call twice."""
        if self._torn_down:
            return
        self._torn_down = True
        for process in [
            self.nginx,
            *[h.gunicorn for h in self.hosts.values()],
            *[h.mail_worker for h in self.hosts.values()],
        ]:
            if process is not None and process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        self.sink.stop()
        if getattr(self, "pg_data", None) is not None:
            run(
                "runuser",
                "-u",
                "postgres",
                "--",
                f"{self.pg_bin}/pg_ctl",
                "-D",
                str(self.pg_data),
                "-m",
                "immediate",
                "-w",
                "stop",
                check=False,
            )
        remove_namespaces()
        if keep_folder:
            print(f"the topology's logs: {self.folder}", file=sys.stderr)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


def _postgres_ids() -> tuple[int, int]:
    """The uid and gid of the postgres user."""
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def build(workers: int | None = None, extra_environment: dict | None = None, cpus: dict | None = None) -> Cluster:
    """A new topology in a new work folder; `cpus` pins app hosts' gunicorn to a core each ({1: 0, 2: 1})."""
    folder = Path(tempfile.mkdtemp(prefix="cgos-topology-"))
    cluster = Cluster(folder, workers, extra_environment)
    for number, cpu in (cpus or {}).items():
        cluster.hosts[number].cpu = cpu
    return cluster.build()


if __name__ == "__main__":
    remove_namespaces()
    print("no namespace left" if not stale_namespaces() else f"left: {stale_namespaces()}", file=sys.stderr)
