"""Fixtures: an app per test on a copy of a database prepared once (schema, reference and demo data)."""

import contextvars
from datetime import datetime, timezone

import pytest
import time_machine
from flask import has_app_context
from flask.testing import FlaskClient

from cgos import create_app, mail
from cgos.extensions import db
from tests_support import backends
from tests_support.backends import BASE_CONFIG
from tests_support.pages import Agent
from tests_support.servers import SmtpServer


class IsolatedClient(FlaskClient):
    """A test client whose requests run outside the test's app context, as real ones do.

    Without this, every request would share the test's `g` and database
    session, which hides bugs (a CSRF token cached in `g`, stale rows).
    """

    def open(self, *args, **kwargs):
        """Send the request in an empty context, then let the test see fresh rows."""
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def prepared_database(tmp_path_factory):
    """The schema, the reference data and the demo data, built once (SQLite or PostgreSQL)."""
    backend = backends.database_backend(tmp_path_factory.mktemp("db"))
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": backend.prepared_url()})
    result = app.test_cli_runner().invoke(args=["setup", "--demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    yield backend
    backend.close()


@pytest.fixture
def make_app(prepared_database, tmp_path):
    """Build an app on a fresh copy of the prepared database, with extra config."""
    urls, apps = [], []

    def build(**config):
        """The app, its database copied for this test only, its attempt counters empty."""
        url = prepared_database.fresh_url(tmp_path)
        urls.append(url)
        app = create_app(
            {
                **BASE_CONFIG,
                "SQLALCHEMY_DATABASE_URI": url,
                "RATELIMIT_STORAGE_URI": backends.ratelimit_storage(),
                "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                **config,
            }
        )
        app.test_client_class = IsolatedClient
        apps.append(app)
        return app

    yield build
    for app in apps:
        # An app with a MAIL_SERVER starts a sender thread at its first request: never past its test.
        mail.stop_sender(app)
    for url in urls:
        prepared_database.drop(url)


@pytest.fixture
def app(make_app):
    """The application under test."""
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) for the test."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp):
    """The app, sending through the test SMTP server when the test sends the queue (`send_pending()`).

    "worker" with no worker running: no sender of its own, so counts stay exact.
    """
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_SMTP_TIMEOUT=2, MAIL_DELIVERY="worker")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client that keeps cookies."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `flask` commands."""
    return app.test_cli_runner()


@pytest.fixture
def clock():
    """One frozen clock for the whole test, at the current second: `clock.move_to(instant)`, `clock.shift(delta)`.

    time-machine stops the process's wall clock itself (datetime.now, date.today, time.time), so
    every module sees it, however it reads the time. It does not move time.monotonic (timeouts),
    Redis key expiry, PostgreSQL's clock or another process (gunicorn, a browser test's server).
    """
    with time_machine.travel(datetime.now(timezone.utc).replace(microsecond=0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def agent(client):
    """An agent using the portal without JavaScript."""
    return Agent(client)


@pytest.fixture(params=[False, True], ids=["page", "fragment"])
def either(client, request):
    """The same agent, once with full pages and once with htmx fragments."""
    return Agent(client, htmx=request.param)


@pytest.fixture
def new_agent():
    """Another agent (another browser): `new_agent(app)` or `new_agent(client, htmx=True)`."""

    def build(app_or_client, htmx: bool = False) -> Agent:
        """An agent with its own cookies."""
        client = app_or_client.test_client() if hasattr(app_or_client, "test_client") else app_or_client
        return Agent(client, htmx=htmx)

    return build
