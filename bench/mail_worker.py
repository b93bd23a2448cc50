"""The mail worker against a bare smtplib loop: 10 000 queued mails to a local SMTP sink.
Part of `make bench-scale`; writes the « The mail worker » section of
bench/RESULTS.md (run alone: `.venv/bin/python bench/mail_worker.py`).

The mails are queued the way the portal queues them (`send_mail`, the
provisional-password mail, text and HTML, its PIN sealed), then `flask mail worker` sends them to an
aiosmtpd sink in this process, timed from its first mail to its last. The
bound is a plain loop composing the same mails with the standard library
(`email.message`) and sending them with `smtplib` over one connection to the
same sink: what composing, SMTP and the sink cost with no queue and no database.
"""

import email
import email.message
import email.policy
import email.utils
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, environment, free_port, machine, start_services, stop_services, verdict, write_section  # noqa: E402

MAILS = int(os.environ.get("CGOS_BENCH_MAILS", 10_000))


class Sink:
    """An SMTP server that keeps every message and the time it arrived."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        """aiosmtpd hook: keep the message."""
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            self.times.append(time.perf_counter())
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.times)


def queue_mails(env: dict, count: int) -> None:
    """Queue `count` provisional-password mails (a sealed PIN each) through the portal's own
    send_mail, in a child process."""
    script = (
        "from datetime import datetime, timedelta\n"
        "from cgos import create_app\n"
        "from cgos.extensions import db\n"
        "from cgos.mail import send_mail\n"
        "app = create_app()\n"
        "with app.test_request_context():\n"
        f"    for i in range({count}):\n"
        "        send_mail(f'agent{i}@example.org', 'Votre mot de passe provisoire', 'provisional_password',\n"
        "                  secrets={'pin': f'{i:06d}'}, expires_at=datetime(2026, 12, 30), login_url='https://x/')\n"
        "        if i % 1000 == 999:\n"
        "            db.session.commit()\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def worker_rate(env: dict, sink: Sink, port: int, count: int) -> float:
    """Mails a second sent by `flask mail worker`, from its first mail to its last."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "mail", "worker"],
        cwd=ROOT,
        env={**env, "FLASK_MAIL_SERVER": "127.0.0.1", "FLASK_MAIL_PORT": str(port), "FLASK_MAIL_DELIVERY": "worker"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while sink.count() < count and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)
    if sink.count() < count:
        raise RuntimeError(f"the worker sent {sink.count()} of {count} mails")
    return (count - 1) / (sink.times[count - 1] - sink.times[0])


def bare_rate(sink: Sink, port: int, count: int) -> float:
    """Mails a second for a plain loop composing the same mails (`email.message`) and sending them
    with `smtplib` over one connection: no queue, no database."""
    first = email.message_from_bytes(sink.messages[0][2], policy=email.policy.default)
    sender, subject = first["From"], first["Subject"]
    text, html = first.get_body(("plain",)).get_content(), first.get_body(("html",)).get_content()
    start_count = sink.count()
    with smtplib.SMTP("127.0.0.1", port) as connection:
        for i in range(count):
            message = email.message.EmailMessage()
            message["Subject"], message["From"], message["To"] = subject, sender, f"agent{i}@example.org"
            message["Date"], message["Message-ID"] = email.utils.formatdate(localtime=True), email.utils.make_msgid()
            message.set_content(text)
            message.add_alternative(html, subtype="html")
            connection.send_message(message)
    first_time, last_time = sink.times[start_count], sink.times[-1]
    return (count - 1) / (last_time - first_time)


def measure(env: dict, count: int = MAILS) -> dict:
    """Queue `count` mails, send them with the worker, then with a bare loop: both rates."""
    queue_mails(env, count)
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        worker = worker_rate(env, sink, port, count)
        bare = bare_rate(sink, port, count)
    finally:
        controller.stop()
    return {"mails": count, "worker_per_s": worker, "bare_per_s": bare}


SECTION = "## The mail worker"


def section(figures: dict) -> str:
    """The figure, as a section of bench/RESULTS.md."""
    ratio = figures["worker_per_s"] / figures["bare_per_s"]
    return "\n".join(
        [
            SECTION,
            "",
            f"Measured by `make bench-scale` (`bench/mail_worker.py`) on {time.strftime('%Y-%m-%d')}, {machine()}, "
            f"PostgreSQL {figures['postgres']} (scripts/test-services.sh: fsync off) on the same machine, the SMTP "
            "sink (aiosmtpd) in the benchmark's process; load average "
            f"{figures['load']:.1f} on the {os.cpu_count()} cores at the end of the run.",
            "",
            "| figure | measured | target | |",
            "| --- | --- | --- | --- |",
            f"| `flask mail worker` sending {figures['mails']:,} queued mails ÷ a bare loop composing and sending the "
            f"same mails with `smtplib` | {figures['worker_per_s']:.0f} ÷ {figures['bare_per_s']:.0f} mails/s = "
            f"**{ratio:.0%}** | ≥ 50 % | {verdict(ratio >= 0.5)} |".replace(",", "\u202f"),
            "",
            "The mails are provisional-password mails queued by the portal's `send_mail` (a sealed PIN each), timed "
            "from the worker's first mail to its last at the sink; the bare loop composes the same mails with "
            "`email.message` and sends them over one `smtplib` connection, with no queue and no database. What the "
            "worker adds: reading and claiming a hundred mails at a time, opening each PIN, Flask-Mail's message, "
            "and one commit per mail sent, so that a sender stopped mid-batch never sends a mail twice. Composing "
            "the MIME message (≈ 3 ms in Python's `email` package) is most of both.",
            "",
        ]
    )


def main() -> None:
    """Start PostgreSQL, queue the mails, measure, write the section."""
    folder = Path(tempfile.mkdtemp(prefix="cgos-mail-"))
    services = start_services(folder)
    try:
        env = {**environment(folder, services), "FLASK_RATELIMIT_STORAGE_URI": "memory://"}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "setup"], cwd=ROOT, env=env, check=True)
        postgres = subprocess.run(
            [
                sys.executable,
                "-c",
                "import psycopg, sys; print(psycopg.connect(sys.argv[1]).execute('SHOW server_version').fetchone()[0])",
                env["FLASK_SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg", "postgresql"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        figures = {**measure(env), "postgres": postgres, "load": os.getloadavg()[0]}
    finally:
        stop_services(folder, services)
        shutil.rmtree(folder, ignore_errors=True)
    text = section(figures)
    write_section(text)
    print(text)


if __name__ == "__main__":
    main()
