"""Headers, cookies, CSRF, French error pages, and no inline script anywhere."""

import re
from pathlib import Path

import pytest

from tests_support.personas import SOPHIE

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_lax_and_secure_by_default(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_the_default_configuration_is_safe():
    from cgos.config import default_config

    config = default_config("/tmp/instance")
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["DEV_MAILBOX"] is False
    assert config["BCRYPT_COST"] == 12
    assert config["LOGIN_LOCKOUT_LIMIT"] == "5 per 15 minutes"


def test_secrets_are_generated_once_per_instance(tmp_path):
    from cgos.config import instance_secret

    first = instance_secret(str(tmp_path), "pepper")
    assert len(first) == 64 and instance_secret(str(tmp_path), "pepper") == first
    assert (tmp_path / "pepper").stat().st_mode & 0o077 == 0


def test_a_form_without_csrf_token_gets_the_french_400_page(client):
    response = client.post("/", data={"numero": SOPHIE.numero, "action": "validate"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Le formulaire a expiré" in body and 'href="/"' in body


def test_unknown_page_gets_the_french_404_page(either):
    page = either.get("/nulle-part")
    assert page.status == 404
    assert page.soup.h1.get_text(strip=True) == "Page introuvable"
    assert page.main.find("a", string=re.compile("Retour"))


def test_too_large_a_request_gets_the_french_413_page(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post("/", data={"numero": "x" * 5000})
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.get_data(as_text=True)


def test_only_the_payslip_pages_take_a_request_a_little_over_the_size_limit(app):
    """The upload margin: every endpoint whose requests may pass MAX_CONTENT_LENGTH, and by how much."""
    from flask import request

    from cgos.uploads import OVERSIZE_MARGIN

    adapter, limit = app.url_map.bind("localhost"), app.config["MAX_CONTENT_LENGTH"]
    allowed = {}
    for rule in app.url_map.iter_rules():
        path = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, "1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            with app.test_request_context(path, method=method):
                if request.max_content_length != limit:
                    allowed[request.endpoint] = request.max_content_length
    assert allowed == {
        "number_request.payslip": limit + OVERSIZE_MARGIN,
        "questionnaire.payslip": limit + OVERSIZE_MARGIN,
    }


def test_a_bug_gets_the_french_500_page_without_trace(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur technique" in body and "secret internals" not in body and "Traceback" not in body


def test_error_pages_come_as_fragments_to_htmx(client):
    response = client.get("/nulle-part", headers={"HX-Request": "true"})
    assert response.status_code == 404 and "<html" not in response.get_data(as_text=True)


WEB_TEMPLATES = sorted(p for p in TEMPLATES.rglob("*.html") if p.parent.name != "mail")  # mails have no CSP


@pytest.mark.parametrize("path", WEB_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_or_style(path):
    source = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source)
    assert not re.search(r"\son[a-z]+=", source)
    assert not re.search(r"\sstyle=", source)
    assert "<style" not in source


def test_htmx_is_served_from_static_in_one_fingerprinted_bundle(client):
    html = client.get("/").get_data(as_text=True)
    [script] = re.findall(r'<script src="([^"]+)"', html)
    assert re.fullmatch(r"/static/portal\.js\?v=[0-9a-f]{12}", script)
    response = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)[0].startswith("/static/app.css?v=")


def test_the_committed_bundle_is_up_to_date():
    from cgos.assets import build_bundle

    static = TEMPLATES.parent / "static"
    assert (static / "portal.js").read_bytes() == build_bundle(static), "run scripts/build_assets.py"
    assert b"htmx" in (static / "portal.js").read_bytes()[:200]
