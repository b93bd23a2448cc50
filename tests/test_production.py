"""Production start-up checks, health endpoints and the request log."""

import json
import logging

import pytest

from cgos import create_app
from cgos.production import UnsafeConfiguration, production_problems
from tests_support.personas import SOPHIE

SAFE = {
    "PRODUCTION": True,
    "WORKERS": 3,
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": "s" * 64,
    "PASSWORD_PEPPER": "p" * 64,
    "DEV_MAILBOX": False,
    "SESSION_COOKIE_SECURE": True,
    "MAIL_SERVER": "smtp.example.org",
    # As the README advises with gunicorn: a separate `mail worker`, no sender thread in these apps.
    "MAIL_DELIVERY": "worker",
    "PUBLIC_BASE_URL": "https://espace-agent.cgos.info",
}


def test_a_safe_production_configuration_starts(tmp_path):
    assert production_problems(SAFE) == []
    create_app({**SAFE, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "memory:// with 3 workers"),
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"PASSWORD_PEPPER": ""}, "PASSWORD_PEPPER is not set"),
        ({"DEV_MAILBOX": True}, "DEV_MAILBOX is on"),
        ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE is off"),
    ],
)
def test_each_dangerous_setting_stops_the_start_up(tmp_path, change, words):
    with pytest.raises(UnsafeConfiguration, match=words):
        create_app({**SAFE, **change, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_production_answers_only_the_public_host(tmp_path):
    app = create_app({**SAFE, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert app.config["TRUSTED_HOSTS"] == ["espace-agent.cgos.info"]
    assert app.test_client().get("/healthz", base_url="https://espace-agent.cgos.info").status_code == 200
    assert app.test_client().get("/healthz", base_url="http://127.0.0.1:8000").status_code == 400


def test_memory_storage_is_fine_with_one_worker():
    assert production_problems({**SAFE, "WORKERS": 1, "RATELIMIT_STORAGE_URI": "memory://"}) == []


def test_production_never_invents_secrets(tmp_path):
    with pytest.raises(UnsafeConfiguration):
        create_app(
            {
                **SAFE,
                "SECRET_KEY": None,
                "PASSWORD_PEPPER": None,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3",
            }
        )
    assert not (tmp_path / "secret_key").exists()


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "database": "ok", "ratelimit_storage": "ok"}


def test_one_log_line_per_request_with_the_route_template_only(agent, caplog):
    caplog.set_level(logging.INFO, logger="cgos.request")
    agent.get("/espace-agent/adresse-mail/un-jeton-secret")
    agent.log_in(SOPHIE.numero, SOPHIE.pin)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cgos.request"]
    assert lines[0]["route"] == "/espace-agent/adresse-mail/<token>"
    assert {"request_id", "method", "route", "status", "duration_ms"} <= set(lines[0])
    assert "un-jeton-secret" not in caplog.text
    assert "482915" not in caplog.text and "29088361" not in caplog.text


def test_responses_carry_a_request_id(client):
    assert len(client.get("/").headers["X-Request-ID"]) == 16
    assert client.get("/", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert client.get("/", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"] != "<script>"


def test_pages_are_gzipped(client):
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"] and "HX-Request" in response.headers["Vary"]
