"""Faults with real servers stopped and started: Redis, the database, SMTP, and a crash mid-request.

Nothing is mocked away: Redis is Debian's redis-server, the database outage is a
PostgreSQL address where nothing answers, SMTP is aiosmtpd, gunicorn runs the
production configuration file.
"""

import os
import re
import signal
import threading
import time
import urllib.parse
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

import pytest

from cgos.extensions import db
from cgos.identifiers import numero as numero_rules
from cgos.models import Agent, MailChangeRequest, OutboundMail, Registration
from tests_support.flows import link_in, register, request_provisional_password, send_questionnaire
from tests_support.pages import Page
from tests_support.personas import JEAN, MARIE, SOPHIE
from tests_support.servers import Gunicorn, RedisServer, SmtpServer, free_port
from tests_support.staff import log_in_staff

pytestmark = pytest.mark.faults
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def redis_server(tmp_path):
    """A Redis server of the test's own."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_down_refuses_logins_in_french_and_recovers(make_app, new_agent, redis_server):
    app = make_app(RATELIMIT_STORAGE_URI=redis_server.url)
    with app.app_context():
        agent = new_agent(app)
        assert "Bienvenue" in agent.log_in(SOPHIE.numero, SOPHIE.pin).text

        redis_server.stop()
        other = new_agent(app)
        page = other.log_in(SOPHIE.numero, SOPHIE.pin)
        assert page.status == 503
        assert page.soup.h1.get_text(strip=True) == "Service momentanément indisponible"
        assert "Bienvenue" not in page.text, "fail closed: no login without the lockout count"
        for url in ["/", "/premiere-connexion", "/demande-numero", "/conditions-generales"]:
            assert other.get(url).status == 200
        assert agent.get("/espace-agent/").status == 200, "a logged-in agent keeps working"
        assert app.test_client().get("/readyz").status_code == 503

        redis_server.start()
        assert "Bienvenue" in new_agent(app).log_in(SOPHIE.numero, SOPHIE.pin).text
        assert app.test_client().get("/readyz").status_code == 200


@pytest.fixture
def app_without_database(make_app):
    """The app pointed at a PostgreSQL address where nothing answers (a database down)."""
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://cgos@127.0.0.1:{free_port()}/cgos",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    with app.app_context():
        yield app


def test_database_down_gives_french_503_pages(app_without_database, new_agent):
    """Blank forms need no database; a login does, and says in French that the service is down."""
    agent = new_agent(app_without_database)
    assert agent.get("/premiere-connexion").status == 200, "a blank form needs no database"
    assert agent.get("/").status == 200, "nor does the login page: its keypad is an id in the session"
    page = agent.log_in(SOPHIE.numero, SOPHIE.pin)
    assert page.status == 503
    assert page.soup.h1.get_text(strip=True) == "Service momentanément indisponible"
    assert app_without_database.test_client().get("/readyz").get_json()["database"] == "unavailable"


def test_database_down_during_a_questionnaire_says_so_and_keeps_no_file(app_without_database, new_agent):
    agent = new_agent(app_without_database)
    assert agent.get("/questionnaire-adresse-mail").status == 200, "its blank first page needs no database"
    identity = {"numero": JEAN.numero, "birth_date": JEAN.birth_date_typed, "last_name": "Martin", "first_name": "Jean"}
    page = agent.submit("/questionnaire-adresse-mail", identity)
    assert page.status == 503
    assert page.soup.h1.get_text(strip=True) == "Service momentanément indisponible"
    uploads = Path(app_without_database.config["UPLOAD_FOLDER"])
    assert not uploads.exists() or not list(uploads.rglob("*.*"))


@pytest.mark.parametrize(
    ("mailer", "send", "model"),
    [
        ("cgos.number_request.services.send_mail", register, Registration),
        ("cgos.questionnaire.routes.send_mail", send_questionnaire, MailChangeRequest),
    ],
    ids=["registration", "questionnaire"],
)
def test_a_crash_at_envoyer_leaves_no_half_row(app, agent, monkeypatch, mailer, send, model):
    def crash(*args, **kwargs):
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(mailer, crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = send(agent)
    assert page.status == 500 and "Erreur technique" in page.text
    assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0
    # Only the copy kept with the form's flow state remains (purged with it): no payslip was stored.
    assert [path.parent.name for path in Path(app.config["UPLOAD_FOLDER"]).rglob("*.*")] == ["kept"]


def test_a_crash_while_confirming_creates_no_agent_and_the_link_still_works(app, agent, new_agent, monkeypatch):
    register(agent)
    path = link_in(db.session.scalar(db.select(OutboundMail)))
    real = __import__("cgos.number_request.services", fromlist=["send_mail"]).send_mail

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died here")

    monkeypatch.setattr("cgos.number_request.services.send_mail", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert new_agent(app).get(path).status == 500
    assert db.session.scalar(db.select(db.func.count(Agent.id))) == 5
    monkeypatch.setattr("cgos.number_request.services.send_mail", real)
    assert "Numéro C.G.O.S :" in new_agent(app).get(path).text


def test_smtp_down_loses_no_mail_and_sends_none_twice(make_app, new_agent):
    """First connection, registration and a back-office decision while SMTP is down."""
    smtp = SmtpServer()
    # "worker" with no worker running: `mail send-pending` alone sends, so the counts below are exact.
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SMTP_TIMEOUT=2, MAIL_DELIVERY="worker")
    with app.app_context():
        page = request_provisional_password(new_agent(app), MARIE, "first_connection")
        assert page.soup.h1.get_text(strip=True) == "Confirmation envoi du mot de passe provisoire"

        page = register(new_agent(app))
        assert "sous 48 heures" in page.text

        assert send_questionnaire(new_agent(app)).status == 200
        request_id = db.session.scalar(db.select(MailChangeRequest.id))
        staff = new_agent(app)
        log_in_staff(staff)
        staff.get(f"/delegation/demandes/{request_id}")
        page = staff.submit(f"/delegation/demandes/{request_id}", {"decision": "accept"})
        assert "La décision est enregistrée" in page.text

        pending = db.session.scalars(db.select(OutboundMail).where(OutboundMail.sent_at.is_(None))).all()
        assert {m.recipient for m in pending} == {
            "marie.dupont@example.org",
            "anne.legoff@example.org",
            "delegation.bretagne@example.org",
            "jean.martin@example.org",
        }
        smtp.start()
        try:
            runner = app.test_cli_runner()
            assert "4 mail(s) envoyé(s), 0 en attente" in runner.invoke(args=["mail", "send-pending"]).output
            assert "0 mail(s) envoyé(s), 0 en attente" in runner.invoke(args=["mail", "send-pending"]).output
            assert len(smtp.inbox.messages) == 4
            assert (
                smtp.inbox.to("delegation.bretagne@example.org")[0].get_payload()[-1].get_filename() == "bulletin.pdf"
            )
            assert "Numéro C.G.O.S :" not in page.text
            # The link is erased from the queue once sent: read it from the mail received.
            received = smtp.inbox.to("anne.legoff@example.org")[0].get_body(("plain",)).get_content()
            path = re.search(r"^https?://localhost(/\S+)$", received.replace("\r\n", "\n"), re.M).group(1)
            assert new_agent(app).get(path).status == 200
        finally:
            smtp.stop()


def gunicorn_of_test(workers: int, prepared_database, tmp_path, **env) -> Gunicorn:
    """gunicorn with the production configuration file and a test application's settings."""
    return Gunicorn(
        workers=workers,
        folder=tmp_path,
        env={
            "FLASK_PRODUCTION": "false",
            "FLASK_SQLALCHEMY_DATABASE_URI": prepared_database.fresh_url(tmp_path),
            "FLASK_SECRET_KEY": "test-secret-key",
            "FLASK_PASSWORD_PEPPER": "test-pepper",
            "FLASK_SESSION_COOKIE_SECURE": "false",
            **env,
        },
    )


def _form(html: str) -> tuple[dict, dict]:
    """The login form's fields and the keypad's digit -> token."""
    soup = Page(html=html).soup
    form = soup.select_one("main form")
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]") if i.get("type") != "submit"}
    keys = {b.get_text(strip=True): b["value"] for b in soup.select("button[name=key]")}
    return data, keys


def test_three_gunicorn_workers_count_every_failed_attempt_once(prepared_database, tmp_path, redis_server):
    """20 simultaneous wrong PINs on one account from 20 addresses across 3 workers: exactly 5 checked,
    the 15 others refused unchecked and uncounted, the account locked, the right PIN refused after."""
    server = gunicorn_of_test(
        3,
        prepared_database,
        tmp_path,
        FLASK_RATELIMIT_STORAGE_URI=redis_server.url,
        FLASK_BCRYPT_COST="4",
        FLASK_PROXY_FIX_X_FOR="1",
    )
    server.start()
    try:
        prepared = []
        for number in range(1, 21):
            connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request("GET", "/")
            response = connection.getresponse()
            cookie = response.getheader("Set-Cookie").split(";")[0]
            data, keys = _form(response.read().decode())
            data.update(numero=SOPHIE.numero, action="validate", pressed=" ".join(keys[d] for d in "111111"))
            prepared.append((connection, cookie, urllib.parse.urlencode(data), f"192.0.2.{number}"))
        barrier = threading.Barrier(20)
        statuses = []

        def attempt(connection, cookie, body, address):
            barrier.wait()
            headers = {
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": address,
            }
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)

        threads = [threading.Thread(target=attempt, args=item) for item in prepared]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses.count(422) == 4, "five wrong PINs checked: four answered « incorrect », the fifth locks (303)"
        assert set(statuses) <= {422, 429, 303}, "the others refused unchecked: busy (429) or locked (303)"
        import redis

        keys = redis.Redis(port=redis_server.port).keys(f"*LIMITER/login/{SOPHIE.compact_numero}*")
        assert [int(redis.Redis(port=redis_server.port).get(k)) for k in keys] == [5], "only confirmed failures count"
    finally:
        server.stop()


def test_gunicorn_refuses_an_unsafe_production_configuration(prepared_database, tmp_path):
    server = Gunicorn(
        workers=2,
        folder=tmp_path,
        env={
            "FLASK_SQLALCHEMY_DATABASE_URI": prepared_database.fresh_url(tmp_path),
            "FLASK_RATELIMIT_STORAGE_URI": "memory://",
            "FLASK_SECRET_KEY": "x" * 32,
            "FLASK_PASSWORD_PEPPER": "y" * 32,
            "FLASK_MAIL_SERVER": "smtp.example.org",
        },
    )
    try:
        server.start()
    except RuntimeError:
        pass  # it may stop before even listening
    assert server.process is None or server.process.wait(timeout=60) != 0, "gunicorn gave up"
    log = server.log.read_text()
    assert "Refusing to start in production" in log and "memory:// with 2 workers" in log


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def test_a_gunicorn_worker_killed_while_hashing_does_not_take_a_core_with_it(prepared_database, tmp_path):
    """One bcrypt slot for the host: its worker is killed mid-hash, the next login still gets its turn."""
    server = gunicorn_of_test(
        2,
        prepared_database,
        tmp_path,
        FLASK_BCRYPT_COST="14",  # about a second a hash: long enough to be killed during one
        FLASK_BCRYPT_CONCURRENCY="1",
    )
    unknown = "12345678" + numero_rules.calc_check_letter("12345678")  # hashed at the configured cost

    def login(timeout: float) -> int:
        """Open the login page and send the form on the same connection: the answer's status."""
        connection = HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        connection.request("GET", "/")
        response = connection.getresponse()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        data, keys = _form(response.read().decode())
        data.update(numero=unknown, action="validate", pressed=" ".join(keys[d] for d in "111111"))
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", "/", body=urllib.parse.urlencode(data), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status

    def killed_login() -> None:
        """A login whose worker is killed before it answers."""
        with pytest.raises(OSError):
            login(timeout=30)

    server.start()
    try:
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
        deadline = time.monotonic() + 30
        while len(children.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the master listens before it has forked both workers
        workers = [int(pid) for pid in children.read_text().split()]
        before = -1.0
        while before != _cpu_seconds(workers) and time.monotonic() < deadline:
            before = _cpu_seconds(workers)
            time.sleep(0.3)  # until both workers have finished starting
        killed = threading.Thread(target=killed_login)
        killed.start()
        deadline = time.monotonic() + 30
        while _cpu_seconds(workers) < before + 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)  # until a worker has hashed for a while: the login holds the slot
        for worker in workers:
            os.kill(worker, signal.SIGKILL)
        killed.join()
        deadline = time.monotonic() + 30
        while "bcrypt slot(s) freed" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert login(timeout=30) == 422, "the next login got the slot back"
        assert "1 bcrypt slot(s) freed after worker" in server.log.read_text()
    finally:
        server.stop()
