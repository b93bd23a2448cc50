"""Real servers the fault tests start and stop: SMTP (aiosmtpd), Redis, gunicorn."""

import email
import os
import shutil
import socket
import subprocess
import sys
import time
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd 1.4 cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 15) -> None:
    """Until something accepts connections on the port; no longer than `process`, which should listen, runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process is not None and process.poll() is not None:
            raise TimeoutError(f"the process exited with {process.returncode} before listening on port {port}")
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Inbox:
    """Collects what the SMTP server receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        """Keep the message, parsed."""
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        """The messages sent to an address."""
        return [m for m in self.messages if address in str(m["To"])]


class SmtpServer:
    """A real SMTP server on one loopback port, which a test can stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        """Listen (a new controller each time: aiosmtpd's cannot restart)."""
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        """Stop listening: connections are refused."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class RedisServer:
    """Debian's redis-server on a loopback port of its own, no persistence."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.process = None

    @property
    def url(self) -> str:
        """Flask-Limiter's storage URI for it."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        """Start and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: `make test` installs it")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def stop(self):
        """Kill it: the data goes with it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py app:app` as production runs it, on a free port."""

    def __init__(self, workers: int, env: dict, folder: Path):
        self.port = free_port()
        self.workers = workers
        self.env = env
        self.log = folder / "gunicorn.log"
        self.process = None

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        """Start it and wait for its workers to listen."""
        env = {
            **os.environ,
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(self.workers),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, self.process, timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(self.log.read_text()[-3000:]) from None

    def stop(self):
        """Stop it gracefully."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
